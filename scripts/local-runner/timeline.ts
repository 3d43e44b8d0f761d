import type { WorkflowRun } from './types.js';

/** Every job and step of a run, nested calls included, relative to `origin`. */
export function timeline(run: WorkflowRun, origin: number, depth = 0): string[] {
  const lines: string[] = [];
  const at = (time: number) => `${((time - origin) / 1000).toFixed(1).padStart(6)}s`;
  const pad = '  '.repeat(depth);
  lines.push(`${at(run.startedAt)} ${pad}▶ ${run.name}: ${run.conclusion} (${(run.durationMs / 1000).toFixed(1)}s)`);
  for (const job of Object.values(run.jobs)) {
    if (job.result === 'skipped') {
      lines.push(`${' '.repeat(7)} ${pad}  ○ ${job.name}: skipped`);
      continue;
    }
    if (job.called) {
      lines.push(...timeline(job.called, origin, depth + 1));
      continue;
    }
    lines.push(`${at(job.startedAt)} ${pad}  ● ${job.name}: ${job.result} (${(job.durationMs / 1000).toFixed(1)}s)`);
    for (const ran of job.steps.filter((candidate) => candidate.outcome !== 'skipped')) {
      lines.push(
        `${at(ran.startedAt)} ${pad}      ${ran.outcome === 'success' ? '✓' : '✗'} ${ran.name} (${(ran.durationMs / 1000).toFixed(1)}s)`,
      );
    }
  }
  return lines;
}
