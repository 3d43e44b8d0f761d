import { formatDuration } from '../../shared/duration.js';
import type { OutputValue } from '../../shared/outputs.js';
import { code, codeSpanAddresses, keyValueTable, markdownTable } from '../../shared/summary.js';
import { commonTag, type PreparedRedeploy, type RedeployReport } from './plan.js';

/** Outputs and job summary of a redeploy, from its plan and report (or just the plan, when refused). */
export interface Totals {
  durationMs: number;
  deploymentId?: number;
  /** The deployment was left in_progress (complete-deployment: false) for a later step to finish. */
  deploymentPending?: boolean;
  tag: string;
  /** Without a report: "refused" (checks failed, nothing changed), "verified" (verify-only: checks passed) or "error" (stopped half-way). */
  outcome?: 'refused' | 'verified' | 'error';
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export function redeployOutputs(
  plan: PreparedRedeploy | undefined,
  report: RedeployReport | undefined,
  totals: Totals,
): Record<string, OutputValue> {
  const previous = plan?.previous ?? [];
  const current = report?.current ?? previous;
  const first = <T>(values: (T | undefined)[]) => values.find((value) => value !== undefined);
  return {
    'previous-tag': commonTag(previous),
    'previous-image-id': first(previous.map((snapshot) => snapshot.imageId)),
    'previous-image-digest': first(previous.map((snapshot) => snapshot.digest)),
    'previous-container-ids': previous.flatMap((snapshot) => snapshot.containerIds),
    'new-tag': commonTag(current),
    'image-id': first(current.map((snapshot) => snapshot.imageId)),
    // A registry digest: the one a swarm service is pinned to, else the deployed image's RepoDigest.
    'image-digest': first(
      current.map(
        (snapshot) =>
          snapshot.digest ??
          plan?.targets.find((target) => target.imageId !== undefined && target.imageId === snapshot.imageId)?.digest,
      ),
    ),
    'container-ids': current.flatMap((snapshot) => snapshot.containerIds),
    'deployment-id': totals.deploymentId,
    'duration-ms': Math.round(totals.durationMs),
    outcome: report?.outcome ?? totals.outcome ?? 'refused',
    'services-json': (plan?.previous ?? []).map((snapshot) => {
      const now = current.find((candidate) => candidate.service === snapshot.service);
      const result = report?.services.find((candidate) => candidate.service === snapshot.service);
      return {
        service: snapshot.service,
        previous: {
          image: snapshot.image ?? null,
          tag: snapshot.tag ?? null,
          imageId: snapshot.imageId ?? null,
          digest: snapshot.digest ?? null,
          containerIds: snapshot.containerIds,
        },
        current: {
          image: now?.image ?? null,
          tag: now?.tag ?? null,
          imageId: now?.imageId ?? null,
          digest: now?.digest ?? null,
          containerIds: now?.containerIds ?? [],
        },
        ready: result?.ready ?? false,
        health: result?.health ?? null,
        readyAfterMs: result?.readyAfterMs ?? null,
        ...(result?.replicas ? { replicas: result.replicas, failedTasks: result.failedTasks ?? [] } : {}),
      };
    }),
  };
}

const HEADLINE: Record<string, string> = {
  deployed: 'redeployed and healthy',
  unchanged: 'already on this tag; verified healthy',
  restored: 'FAILED; previous version restored and healthy',
  failed: 'FAILED',
  refused: 'refused before anything was changed',
  verified: 'image available where it would run; nothing changed (verify-only)',
  error: 'FAILED half-way; check the services',
};

export function redeploySummary(
  plan: PreparedRedeploy | undefined,
  report: RedeployReport | undefined,
  totals: Totals,
  refusal?: string,
): string {
  const outcome = report?.outcome ?? totals.outcome ?? 'refused';
  const parts = [`## redeploy-tag: \`${totals.tag}\`: ${HEADLINE[outcome]}\n`];
  // What went wrong right under the verdict; the tables after it.
  const failure = report?.failure ?? refusal;
  if (failure) parts.push(`\n**Why:** ${codeSpanAddresses(failure)}\n`);
  if (report?.restore) parts.push(`\n**Restore:** ${codeSpanAddresses(report.restore.detail)}\n`);
  if (failure || report?.restore) parts.push('\n');
  if (plan) {
    const rows = (
      report?.services ??
      plan.previous.map((snapshot) => ({
        service: snapshot.service,
        from: snapshot.tag ?? snapshot.image,
        to: totals.tag,
        containerIds: snapshot.containerIds,
        health: outcome === 'error' ? 'unknown' : outcome === 'verified' ? 'image available' : 'not changed',
        readyAfterMs: undefined,
      }))
    ).map((result) => [
      result.service,
      result.from ?? '(not running)',
      result.to,
      result.containerIds.map(shortId).join(', ') || '(none)',
      result.health,
      result.readyAfterMs === undefined ? '' : formatDuration(result.readyAfterMs),
    ]);
    const restored = (report?.restore?.services ?? []).map((result) => [
      `${result.service} (restored)`,
      result.from ?? '',
      result.to,
      result.containerIds.map(shortId).join(', ') || '(none)',
      result.health,
      result.readyAfterMs === undefined ? '' : formatDuration(result.readyAfterMs),
    ]);
    parts.push(markdownTable(['Service', 'From', 'To', 'Container', 'Health', 'Duration'], [...rows, ...restored]));
  }
  const swarm = (report?.services ?? []).filter((result) => result.replicas);
  if (swarm.length > 0) {
    const before = new Map(plan?.previous.map((snapshot) => [snapshot.service, snapshot.image]));
    const after = new Map(report?.current.map((snapshot) => [snapshot.service, snapshot.image]));
    parts.push(
      '\n',
      markdownTable(
        ['Service', 'Replicas running/desired', 'Image before', 'Image after', 'Failed tasks'],
        swarm.map((result) => [
          result.service,
          `${result.replicas!.running}/${result.replicas!.desired}`,
          before.get(result.service) ?? '(none)',
          after.get(result.service) ?? '(none)',
          (result.failedTasks ?? [])
            .map((task) => `${shortId(task.id)}${task.node ? ` on ${task.node}` : ''}: ${task.error}`)
            .join('; ') || 'none',
        ]),
      ),
    );
  }
  parts.push(
    '\n',
    keyValueTable([
      ['Host', plan?.host === undefined ? undefined : code(plan.host)],
      ['Tool', plan?.tool === undefined ? undefined : code(plan.tool)],
      ['Total time', formatDuration(totals.durationMs)],
      [
        'GitHub deployment',
        totals.deploymentId === undefined
          ? undefined
          : totals.deploymentPending
            ? `${totals.deploymentId} (left in_progress for a later step)`
            : totals.deploymentId,
      ],
    ]),
  );
  // Container logs stay in the step log, where the runner masks secrets; a summary is not masked.
  if ((report?.logs ?? []).length > 0)
    parts.push(
      `\nThe last log lines of the failed containers are in the step log (${report!.logs.map((log) => `${log.service} ${shortId(log.containerId)}`).join(', ')}).\n`,
    );
  return parts.join('');
}
