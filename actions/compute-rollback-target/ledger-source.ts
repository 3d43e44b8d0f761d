import { InputError } from '../../shared/errors.js';
import type { HostOnDemand } from '../../shared/engine/host-on-demand.js';
import { codeSpanAddresses } from '../../shared/summary.js';
import {
  currentFromLedger,
  deployHistory,
  latestBackup,
  readLedger,
  restorePointEntry,
  type BackupEntry,
  type LedgerEntry,
} from '../../shared/ledger/ledger.js';
import { isOlder, unsuitableReason, type IgnoredTag, type TagCatalog } from '../../shared/releases/release-tags.js';
import type { CurrentVersion } from './current.js';
import type { ComputeInputs } from './inputs.js';
import type { TargetChoice } from './target.js';

/**
 * The deployment ledger as a source of what GitHub's Deployments API would say: what runs now, the
 * last release that deployed and passed its smoke test, and the latest backup. Used when no
 * github-token is given (GitHub down, or a deploy host that records its own history).
 */
export interface LedgerHistory {
  /** The file, and the host over SSH when it is read there. */
  path: string;
  entries: LedgerEntry[];
  environment?: string;
}

/** The ledger on the host (the deploy host over SSH, where redeploy-tag and backup-db append to it, or this runner). */
export async function openLedgerHistory(inputs: ComputeInputs, host: HostOnDemand): Promise<LedgerHistory | undefined> {
  if (!inputs.ledger) return undefined;
  const executor = await host.open();
  return {
    path: inputs.ssh ? `${inputs.ledger} on ${executor.description}` : inputs.ledger,
    entries: await readLedger({ path: inputs.ledger, executor }),
    environment: inputs.environment,
  };
}

export function ledgerCurrent(history: LedgerHistory, catalog: TagCatalog): CurrentVersion | undefined {
  const found = currentFromLedger(history.entries, history.environment);
  if (!found) return undefined;
  const release = catalog.byTag.get(found.tag);
  if (!release)
    throw new InputError(
      'ledger',
      `says ${found.tag} runs now (${found.entry.time}), which is no release tag ${catalog.scheme.description}.`,
      { hint: 'Set "current" to the release tag running now.' },
    );
  return {
    release,
    source: 'ledger',
    detail: `deployment ledger ${codeSpanAddresses(history.path)} (${found.entry.outcome} at ${found.entry.time})`,
  };
}

/** The newest release older than current that deployed successfully and whose smoke test, if one ran, passed. */
export function ledgerLastGood(
  inputs: ComputeInputs,
  history: LedgerHistory,
  catalog: TagCatalog,
  current: CurrentVersion,
): TargetChoice {
  const passedOver: IgnoredTag[] = [];
  for (const { tag, deploy, smoke } of deployHistory(history.entries, history.environment)) {
    if (tag === current.release.tag) continue;
    const label = `${tag} (ledger, ${deploy.time})`;
    const release = catalog.byTag.get(tag);
    if (!release) {
      passedOver.push({ tag: label, reason: `no release tag ${catalog.scheme.description}` });
      continue;
    }
    if (smoke?.result === 'fail') {
      passedOver.push({
        tag: label,
        reason: `its smoke test failed (${smoke.failed} of ${smoke.checks} checks, ${smoke.time})`,
      });
      continue;
    }
    if (!isOlder(catalog, release, current.release)) {
      passedOver.push({ tag: label, reason: `newer than the current version ${current.release.tag}` });
      continue;
    }
    const reason = unsuitableReason(release, inputs);
    if (reason) {
      passedOver.push({ tag: label, reason });
      continue;
    }
    const proof = smoke ? `smoke test passed ${smoke.time}` : 'no smoke test recorded';
    return {
      release,
      source: 'last-successful-deployment',
      detail: `deployment ledger ${codeSpanAddresses(history.path)}: deployed ${deploy.time}, ${proof}`,
      passedOver,
    };
  }
  const considered =
    passedOver.length > 0 ? ` Passed over: ${passedOver.map((item) => `${item.tag}: ${item.reason}`).join('; ')}.` : '';
  throw new InputError(
    'target',
    `is "last-successful-deployment", but the deployment ledger ${history.path} has no successful deployment of a release older than ${current.release.tag}.${considered}`,
  );
}

/**
 * The environment's newest backup, except one a rollback took of the broken release (rollback.yml's
 * label <env>-pre-rollback): that one must not shadow the deploy's. Any other label (backup-db's
 * default, a team's own) counts, as it did before labels were recorded.
 */
export function ledgerBackup(history: LedgerHistory | undefined): BackupEntry | undefined {
  if (!history) return undefined;
  const { environment } = history;
  return latestBackup(
    history.entries.filter(
      (entry) => entry.type !== 'backup' || environment === undefined || entry.label !== `${environment}-pre-rollback`,
    ),
    environment,
  );
}

/**
 * The restore point rollback.yml recovers to with pgBackRest, <environment>-pre-deploy-<current tag>
 * (the name the deploy's backup-db gives it), as the ledger records it: its LSN lets restore-db
 * search only the WAL around it, and the record shows it was taken, without asking GitHub.
 */
export function ledgerPreDeployPoint(history: LedgerHistory | undefined, currentTag: string): BackupEntry | undefined {
  if (!history?.environment) return undefined;
  return restorePointEntry(history.entries, `${history.environment}-pre-deploy-${currentTag}`);
}
