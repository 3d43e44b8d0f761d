import path from 'node:path';
import { ActionError } from '../errors.js';
import type { HostExecutor } from '../engine/executor.js';

/**
 * The deployment ledger: one JSON object per line in a file on the deploy host (the runbook's
 * `ops/backups.log`, for deploys too). redeploy-tag and smoke-test append what they did, backup-db
 * every backup, so the last known good release and the latest backup can be read when GitHub
 * cannot be asked. Appends go through `tee -a` (O_APPEND: a line under PIPE_BUF bytes is written
 * whole even when two jobs append at once); reads through `cat`. Both run on the executor, so the
 * same code writes on the runner or, over SSH, on the deploy host.
 */
export const LEDGER_ENV = 'ROLLBACK_LEDGER';

interface Common {
  /** ISO 8601, UTC. */
  time: string;
  environment?: string;
  /** The workflow run that wrote it, when on GitHub Actions: owner/repo#run_id. */
  run?: string;
}

export interface DeployEntry extends Common {
  type: 'deploy';
  tag: string;
  /** The tag that ran before. */
  from?: string;
  /** redeploy-tag's outcome: deployed, unchanged, restored, failed, refused, error. */
  outcome: string;
  success: boolean;
  services: string[];
  image?: string;
  imageId?: string;
  digest?: string;
  githubDeploymentId?: number;
}

export interface SmokeEntry extends Common {
  type: 'smoke';
  tag?: string;
  result: 'pass' | 'fail';
  checks: number;
  failed: number;
  githubDeploymentId?: number;
  /** The verdict could not be written to that GitHub deployment (GitHub lost mid-run): `sync` writes it. */
  githubStatusPending?: true;
}

export interface BackupEntry extends Common {
  type: 'backup';
  /** backup-db's label (what the backup protects: the environment, or e.g. <env>-pre-rollback). */
  label?: string;
  /** The release running when the backup was taken, when known. */
  appVersion?: string;
  schemaVersion?: string;
  checksum?: string;
  location: string;
  database: string;
  method: string;
  /** Method pgbackrest: the restore point the backup is (recovered to by name, searched near its LSN). */
  restorePoint?: { name: string; lsn: string; time: string; timeline: number };
  /** Method pgbackrest: the stanza, and the label of the backup set a recovery to the point starts from. */
  stanza?: string;
  backupLabel?: string;
}

/**
 * Written by `rollback-actions sync`: the deploy entry of `deployTime` (recorded while GitHub was
 * unreachable) is now GitHub deployment `githubDeploymentId`; with `status`, that deployment (made
 * before GitHub was lost) got the smoke verdict it was missing. Appended, never rewritten: the
 * ledger stays append-only, and a second sync skips the entries already named here.
 */
export interface SyncEntry extends Common {
  type: 'sync';
  deployTime: string;
  tag: string;
  githubDeploymentId: number;
  status?: 'success' | 'failure';
}

export type LedgerEntry = DeployEntry | SmokeEntry | BackupEntry | SyncEntry;
type NewEntry = {
  [K in LedgerEntry['type']]: Omit<Extract<LedgerEntry, { type: K }>, 'time'> & { time?: string };
}[LedgerEntry['type']];

export interface Ledger {
  /** The path as given (on the host the executor runs on). */
  path: string;
  executor: HostExecutor;
}

/** Where the run comes from, so a ledger line can be traced to its workflow run. */
function runReference(): string | undefined {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID } = process.env;
  return GITHUB_REPOSITORY && GITHUB_RUN_ID ? `${GITHUB_REPOSITORY}#${GITHUB_RUN_ID}` : undefined;
}

export async function appendLedger(ledger: Ledger, entry: NewEntry): Promise<LedgerEntry> {
  const full = { time: new Date().toISOString(), run: runReference(), ...entry } as LedgerEntry;
  const line = `${JSON.stringify(full)}\n`;
  const where = `${ledger.path} on ${ledger.executor.description}`;
  const dir = path.posix.dirname(ledger.path);
  try {
    if (dir !== '.' && dir !== '/') await ledger.executor.run('mkdir', ['-p', '--', dir]);
    await ledger.executor.run('tee', ['-a', '--', ledger.path], { input: line });
  } catch (error) {
    throw new ActionError(`Could not append to the deployment ledger ${where}: ${(error as Error).message}`, {
      hint: 'The ledger directory must be writable by the user the step runs as (on the deploy host over SSH).',
      cause: error,
    });
  }
  return full;
}

/** Every entry, oldest first; an absent file is an empty ledger. A line that is not JSON stops the read: the ledger is evidence, and a damaged one must be looked at. */
export async function readLedger(ledger: Ledger): Promise<LedgerEntry[]> {
  const result = await ledger.executor.run('cat', ['--', ledger.path], { okExitCodes: [0, 1] });
  if (result.exitCode !== 0) {
    if (/No such file/i.test(result.stderr)) return [];
    throw new ActionError(
      `Could not read the deployment ledger ${ledger.path} on ${ledger.executor.description}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout
    .split('\n')
    .map((line, index) => [line, index + 1] as const)
    .filter(([line]) => line.trim() !== '')
    .map(([line, number]) => {
      try {
        return JSON.parse(line) as LedgerEntry;
      } catch {
        throw new ActionError(
          `The deployment ledger ${ledger.path} line ${number} is not JSON: ${JSON.stringify(line.slice(0, 120))}.`,
          { hint: 'Repair or remove that line; nothing else was read.' },
        );
      }
    });
}

export interface LedgerRelease {
  tag: string;
  deploy: DeployEntry;
  /** The smoke test that ran against it after that deploy, if any. */
  smoke?: SmokeEntry;
}

function forEnvironment(entries: readonly LedgerEntry[], environment: string | undefined): LedgerEntry[] {
  return entries.filter(
    (entry) => environment === undefined || entry.environment === undefined || entry.environment === environment,
  );
}

/**
 * Successful deploys, newest first, each with the smoke test that followed it (the first smoke
 * entry after it, before the next deploy, that names its tag or no tag).
 */
export function deployHistory(entries: readonly LedgerEntry[], environment?: string): LedgerRelease[] {
  const relevant = forEnvironment(entries, environment);
  const history: LedgerRelease[] = [];
  relevant.forEach((entry, index) => {
    if (entry.type !== 'deploy' || !entry.success) return;
    let smoke: SmokeEntry | undefined;
    for (const later of relevant.slice(index + 1)) {
      if (later.type === 'deploy' && later.outcome !== 'refused') break;
      if (later.type === 'smoke' && (later.tag === undefined || later.tag === entry.tag)) {
        smoke = later;
        break;
      }
    }
    history.push({ tag: entry.tag, deploy: entry, smoke });
  });
  return history.reverse();
}

/** What runs now: the tag of the newest deploy that left something running (a restore leaves `from`). */
export function currentFromLedger(
  entries: readonly LedgerEntry[],
  environment?: string,
): { tag: string; entry: DeployEntry } | undefined {
  const deploys = forEnvironment(entries, environment).filter(
    (entry): entry is DeployEntry => entry.type === 'deploy' && entry.outcome !== 'refused',
  );
  const last = deploys.at(-1);
  if (!last) return undefined;
  // A failed deploy that restored the previous release leaves that one running; any other failure leaves the new tag.
  return { tag: !last.success && last.outcome === 'restored' && last.from ? last.from : last.tag, entry: last };
}

/** The newest backup entry that `matches`. */
function newestBackup(
  entries: readonly LedgerEntry[],
  matches: (entry: BackupEntry) => boolean,
): BackupEntry | undefined {
  return entries.filter((entry): entry is BackupEntry => entry.type === 'backup' && matches(entry)).at(-1);
}

export function latestBackup(entries: readonly LedgerEntry[], environment?: string): BackupEntry | undefined {
  return newestBackup(forEnvironment(entries, environment), () => true);
}

/** The newest backup entry taken with exactly this label (what restore-db's "latest" means for a label), in any environment. */
export function latestBackupOfLabel(entries: readonly LedgerEntry[], label: string): BackupEntry | undefined {
  return newestBackup(entries, (entry) => entry.label === label);
}

/** The newest backup entry that recorded the pgBackRest restore point of this name. */
export function restorePointEntry(entries: readonly LedgerEntry[], name: string): BackupEntry | undefined {
  return newestBackup(entries, (entry) => entry.restorePoint?.name === name);
}
