import * as core from '@actions/core';
import type { PlanWarning } from './strategy.js';

/** GitHub shows at most 10 warning annotations of a step; more are dropped without a word. */
export const ANNOTATION_LIMIT = 10;
/** Findings quoted in a grouped annotation before "and N more". */
const QUOTED = 3;

/**
 * The annotations for a plan's warnings: one each while they fit, otherwise one per kind ("150
 * type-widening findings: ...") and, past ten kinds, one for the rest. Each grouped annotation
 * points at the job summary, which lists every warning.
 */
export function annotationsFor(warnings: readonly PlanWarning[]): { title: string; message: string }[] {
  if (warnings.length <= ANNOTATION_LIMIT)
    return warnings.map((warning) => ({ title: `compute-rollback-target: ${warning.kind}`, message: warning.message }));
  const byKind = new Map<string, PlanWarning[]>();
  for (const warning of warnings) byKind.set(warning.kind, [...(byKind.get(warning.kind) ?? []), warning]);
  const groups = [...byKind.entries()];
  const shown = groups.length > ANNOTATION_LIMIT ? groups.slice(0, ANNOTATION_LIMIT - 1) : groups;
  const annotations = shown.map(([kind, group]) => {
    if (group.length === 1) return { title: `compute-rollback-target: ${kind}`, message: group[0].message };
    const quoted = group
      .slice(0, QUOTED)
      .map((warning) => `${warning.migration ? `${warning.migration}: ` : ''}${warning.message}`);
    const more = group.length > QUOTED ? ` … and ${group.length - QUOTED} more` : '';
    return {
      title: `compute-rollback-target: ${group.length} ${kind} findings`,
      message: `${group.length} ${kind} findings (all of them in the job summary): ${quoted.join(' | ')}${more}`,
    };
  });
  const rest = groups.slice(shown.length);
  if (rest.length > 0) {
    const count = rest.reduce((total, [, group]) => total + group.length, 0);
    annotations.push({
      title: `compute-rollback-target: ${count} more findings`,
      message: `${count} more findings of ${rest.length} other kinds (${rest.map(([kind, group]) => `${group.length} ${kind}`).join(', ')}): see the job summary.`,
    });
  }
  return annotations;
}

export function annotate(warnings: readonly PlanWarning[]): void {
  for (const annotation of annotationsFor(warnings)) core.warning(annotation.message, { title: annotation.title });
}
