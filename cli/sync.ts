import { getOctokit } from '@actions/github';
import path from 'node:path';
import { localExecutor } from '../shared/engine/executor.js';
import { completeDeployment, createDeployment } from '../shared/github/deployments.js';
import {
  appendLedger,
  readLedger,
  type DeployEntry,
  type LedgerEntry,
  type SmokeEntry,
} from '../shared/ledger/ledger.js';
import { EXIT, UsageError } from './args.js';
import { probeGitHub } from './github.js';

/**
 * `rollback-actions sync`: deploys and rollbacks the ledger holds without a GitHub deployment id
 * (done while GitHub was unreachable) become GitHub deployments, oldest first, each with its final
 * status (success only when the deploy succeeded and its smoke test, if one ran, passed), so the
 * environment's history and "last successful deployment" are true again. Each one is written back
 * as a `sync` ledger line naming the deploy and its new id: a second sync creates none.
 */
export interface SyncCommand {
  ledger: string;
  environment?: string;
  repository: string;
  token?: string;
  apiUrl: string;
  print: (line: string) => void;
}

export interface Unsynced {
  deploy: DeployEntry;
  smoke?: SmokeEntry;
}

/** Deploys without a GitHub deployment that no sync line names yet, each with the smoke verdict that followed it. */
export function unsyncedDeploys(entries: readonly LedgerEntry[], environment?: string): Unsynced[] {
  const synced = new Set(
    entries.flatMap((entry) => (entry.type === 'sync' ? [`${entry.deployTime} ${entry.tag}`] : [])),
  );
  const found: Unsynced[] = [];
  entries.forEach((entry, index) => {
    if (entry.type !== 'deploy' || entry.githubDeploymentId !== undefined || entry.outcome === 'refused') return;
    if (synced.has(`${entry.time} ${entry.tag}`) || (environment !== undefined && entry.environment !== environment))
      return;
    const later = entries.slice(index + 1);
    const next = later.findIndex(
      (candidate) => candidate.type === 'deploy' && candidate.environment === entry.environment,
    );
    const smoke = (next === -1 ? later : later.slice(0, next)).find(
      (candidate): candidate is SmokeEntry =>
        candidate.type === 'smoke' && (candidate.tag === undefined || candidate.tag === entry.tag),
    );
    found.push({ deploy: entry, smoke });
  });
  return found;
}

/**
 * Smoke verdicts GitHub did not take (it was lost between the redeploy, which made the deployment,
 * and the smoke test): the deployment stays in_progress there until sync writes them. A verdict is
 * written once: a sync line naming the deployment with a status settles it.
 */
export function pendingStatuses(entries: readonly LedgerEntry[], environment?: string): SmokeEntry[] {
  const settled = new Set(
    entries.flatMap((entry) => (entry.type === 'sync' && entry.status ? [entry.githubDeploymentId] : [])),
  );
  return entries.filter(
    (entry): entry is SmokeEntry =>
      entry.type === 'smoke' &&
      entry.githubStatusPending === true &&
      entry.githubDeploymentId !== undefined &&
      !settled.has(entry.githubDeploymentId) &&
      (environment === undefined || entry.environment === environment),
  );
}

/** A deploy's final status on GitHub: success only when it succeeded and its smoke test, if one ran, passed. */
export function succeeded({ deploy, smoke }: Unsynced): boolean {
  return deploy.success && smoke?.result !== 'fail';
}

export async function runSync(command: SyncCommand): Promise<number> {
  const { print } = command;
  const ledger = { path: path.resolve(command.ledger), executor: localExecutor };
  const entries = await readLedger(ledger);
  const pending = unsyncedDeploys(entries, command.environment);
  const verdicts = pendingStatuses(entries, command.environment);
  if (pending.length === 0 && verdicts.length === 0) {
    print(`sync: every deploy in ${ledger.path} is already a GitHub deployment with its verdict; nothing to record.`);
    return EXIT.ok;
  }
  const reach = await probeGitHub(command.apiUrl, command.repository, command.token);
  if (!reach.reachable) {
    print(
      `sync: ${pending.length} deploy(s) and ${verdicts.length} smoke verdict(s) wait to be recorded, but GitHub cannot be used: ${reach.reason}. Nothing was changed; run sync again when it answers.`,
    );
    return EXIT.workflowFailed;
  }
  const client = getOctokit(command.token!, { baseUrl: command.apiUrl });
  const [owner, repo] = command.repository.split('/');
  for (const item of pending) {
    const { deploy, smoke } = item;
    if (!deploy.environment)
      throw new UsageError(
        `the ledger's deploy of ${deploy.tag} at ${deploy.time} names no environment, so it cannot become a GitHub deployment`,
      );
    const success = succeeded(item);
    const verdict = `${deploy.outcome}${smoke ? `, smoke test ${smoke.result === 'pass' ? 'passed' : 'failed'}` : ''}`;
    const id = await createDeployment(
      client,
      { owner, repo },
      {
        ref: deploy.tag,
        environment: deploy.environment,
        description: `${deploy.from ?? '(none)'} -> ${deploy.tag} at ${deploy.time} (${verdict}), recorded from the deployment ledger`,
        payload: {
          ledger: {
            time: deploy.time,
            from: deploy.from ?? null,
            outcome: deploy.outcome,
            image: deploy.image ?? null,
            imageId: deploy.imageId ?? null,
            digest: deploy.digest ?? null,
            smoke: smoke?.result ?? null,
          },
        },
      },
    );
    await completeDeployment(client, { owner, repo }, id, deploy.environment, success, {
      description: `${verdict} (${deploy.time}, while GitHub was unreachable)`,
    });
    await appendLedger(ledger, {
      type: 'sync',
      environment: deploy.environment,
      deployTime: deploy.time,
      tag: deploy.tag,
      githubDeploymentId: id,
    });
    print(
      `sync: ${deploy.environment} ${deploy.tag} (${deploy.time}, ${verdict}) -> GitHub deployment ${id}, ${success ? 'success' : 'failure'}`,
    );
  }
  for (const smoke of verdicts) {
    const id = smoke.githubDeploymentId!;
    const deploy = entries.find(
      (entry): entry is DeployEntry => entry.type === 'deploy' && entry.githubDeploymentId === id,
    );
    const environment = smoke.environment ?? deploy?.environment;
    if (!environment)
      throw new UsageError(
        `the ledger's smoke verdict of ${smoke.time} for GitHub deployment ${id} names no environment, so its status cannot be written`,
      );
    const success = smoke.result === 'pass';
    await completeDeployment(client, { owner, repo }, id, environment, success, {
      description: `smoke test ${success ? 'passed' : 'failed'} (${smoke.failed} of ${smoke.checks} checks failed, ${smoke.time}, while GitHub was unreachable)`,
    });
    await appendLedger(ledger, {
      type: 'sync',
      environment,
      deployTime: deploy?.time ?? smoke.time,
      tag: deploy?.tag ?? smoke.tag ?? '',
      githubDeploymentId: id,
      status: success ? 'success' : 'failure',
    });
    print(
      `sync: GitHub deployment ${id} (${environment} ${deploy?.tag ?? smoke.tag ?? ''}) -> ${success ? 'success' : 'failure'}, the smoke verdict of ${smoke.time}`,
    );
  }
  print(
    `sync: ${pending.length} deployment(s) recorded and ${verdicts.length} verdict(s) written on GitHub for ${command.repository}.`,
  );
  return EXIT.ok;
}
