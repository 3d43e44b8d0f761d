import type pg from 'pg';
import { ActionError } from '../../errors.js';
import type { HostExecutor } from '../../engine/executor.js';
import { lastLines } from '../../process.js';
import { historyTableExists } from '../history.js';
import { qualifiedName, type HistoryTable } from '../history-table.js';
import { acquireMigrationLock, type LockKey } from '../lock.js';
import type { PlanIdentity } from '../plan-digest.js';
import { ancestry, downgradePlan, type AlembicRevision } from './alembic-revisions.js';
import { suiteLockKey } from './common.js';

/**
 * Alembic: the revert runs the team's own `alembic downgrade <revision>` with the newer code (only it
 * has the downgrade() functions), inside our migration lock; alembic_version is read before and after
 * as Alembic reads it (alembic/runtime/migration.py: SELECT version_num FROM alembic_version, one row
 * per head).
 */

export function alembicLockKeys(database: string, table: HistoryTable): LockKey[] {
  return [suiteLockKey(database, table)];
}

/** The revisions in alembic_version (Alembic's current heads), sorted; undefined when the table is missing. */
export async function readAlembicVersion(client: pg.Client, table: HistoryTable): Promise<string[] | undefined> {
  if (!(await historyTableExists(client, table))) return undefined;
  const { rows } = await client.query<{ version_num: string }>(`SELECT version_num FROM ${qualifiedName(table)}`);
  return rows.map((row) => row.version_num).sort();
}

/**
 * Refuses an alembic_version that Alembic itself would not leave: a revision the newer code does not
 * have, or two rows where one follows the other (a downgrade or merge stopped half-way, or a hand edit).
 */
export function checkAlembicVersion(
  current: readonly string[],
  revisions: readonly AlembicRevision[],
  where: string,
): void {
  const known = new Set(revisions.map((revision) => revision.revision));
  const unknown = current.filter((revision) => !known.has(revision));
  if (unknown.length) {
    throw new ActionError(
      `alembic_version in ${where} lists ${unknown.join(', ')}, which the migrations directory does not have. Nothing was changed.`,
      {
        hint: 'Point migrations-dir at the Alembic versions of the release that applied it, or fix alembic_version with `alembic stamp`.',
      },
    );
  }
  const nested = current.filter((revision) =>
    current.some((other) => other !== revision && ancestry(revisions, [other]).has(revision)),
  );
  if (nested.length) {
    throw new ActionError(
      `alembic_version in ${where} is inconsistent: ${nested.join(', ')} ${nested.length === 1 ? 'is' : 'are'} listed alongside a revision that follows ${nested.length === 1 ? 'it' : 'them'} (a run stopped half-way, or a hand edit). Nothing was changed.`,
      {
        hint: 'Check the schema, then set alembic_version right with `alembic stamp <revision>` and re-run.',
      },
    );
  }
}

export interface AlembicRevertOptions {
  client: pg.Client;
  database: string;
  table: HistoryTable;
  revisions: readonly AlembicRevision[];
  /** The target's heads (one revision, or several on a branched graph). */
  target: readonly string[];
  /** The command that is `alembic` for this app: ['alembic'] or ['docker', 'compose', 'run', '--rm', 'api', 'alembic']. */
  command: readonly string[];
  executor: HostExecutor;
  cwd?: string;
  env?: Record<string, string | undefined>;
  lockTimeoutMs: number;
  timeoutMs?: number;
  onLine?: (line: string) => void;
}

export interface AlembicRevertResult {
  before: string[];
  after: string[];
  reverted: string[];
  /** The argument lists of the downgrade commands run (one per target head). */
  commands: string[][];
  durationMs: number;
}

/** The downgrade argument list; several heads go one by one, each to its own revision. */
export function downgradeArguments(command: readonly string[], target: string): string[] {
  return [...command, 'downgrade', target];
}

export async function revertWithAlembic(options: AlembicRevertOptions): Promise<AlembicRevertResult> {
  const started = Date.now();
  const lock = await acquireMigrationLock(
    options.client,
    alembicLockKeys(options.database, options.table),
    options.lockTimeoutMs,
  );
  try {
    const before = await readAlembicVersion(options.client, options.table);
    if (before === undefined)
      throw new ActionError(
        `The database has no ${qualifiedName(options.table)}: Alembic has recorded nothing there. Nothing was changed.`,
        { hint: 'Check database-url and history-table.' },
      );
    checkAlembicVersion(before, options.revisions, 'the database');
    const plan = downgradePlan(options.revisions, before, options.target);
    const reverted = plan.revert;
    const commands: string[][] = [];
    if (reverted.length) {
      // alembic downgrade takes one revision: one run per target head that still has revisions above it.
      const targets = options.target.length ? options.target : ['base'];
      for (const target of targets) {
        const now = (await readAlembicVersion(options.client, options.table)) ?? [];
        if (target !== 'base' && downgradePlan(options.revisions, now, [target]).revert.length === 0) continue;
        const argv = downgradeArguments(options.command, target);
        commands.push(argv);
        const result = await options.executor.run(argv[0], argv.slice(1), {
          cwd: options.cwd,
          env: options.env,
          timeoutMs: options.timeoutMs,
          okExitCodes: [0, 1, 2, 255],
          onStdoutLine: options.onLine,
          onStderrLine: options.onLine,
        });
        if (result.exitCode !== 0) {
          const now = (await readAlembicVersion(options.client, options.table)) ?? [];
          throw new ActionError(
            `${argv.join(' ')} failed on ${options.executor.description} (exit ${result.exitCode}); alembic_version is now ${now.join(', ') || 'empty'}: ${lastLines(result.stderr, 15)}`,
          );
        }
      }
    }
    const after = (await readAlembicVersion(options.client, options.table)) ?? [];
    if (after.join(',') !== plan.after.join(',')) {
      throw new ActionError(
        `After the downgrade alembic_version is ${after.join(', ') || 'empty'}, not ${plan.after.join(', ') || 'empty (base)'}: the team's migrate-command did not do what was asked.`,
        {
          hint: "Check that migrate-command runs alembic against this database (DATABASE_URL) with the newer release's code.",
        },
      );
    }
    return { before, after, reverted, commands, durationMs: Date.now() - started };
  } finally {
    await lock.release();
  }
}

/**
 * What a downgrade undoes, as compute-rollback-target's plan-digest holds it: each reverted revision
 * (newest first) with the SHA-256 of its file (its downgrade() is what runs), and the heads it ends at.
 */
export function alembicPlanIdentity(
  revisions: readonly AlembicRevision[],
  revert: readonly string[],
  after: readonly string[],
): PlanIdentity {
  const byId = new Map(revisions.map((revision) => [revision.revision, revision]));
  return {
    strategy: 'down-migrations',
    targetVersion: after.length ? [...after].sort().join(',') : '0',
    reverts: revert.map((id) => ({
      version: id,
      name: byId.get(id)?.message,
      file: byId.get(id)?.file,
      downSha256: byId.get(id)?.sha256 ?? null,
      transactional: true,
    })),
  };
}

/** The heads alembic_version holds once `revert` is undone from `current`: the applied revisions left that nothing left follows. */
export function headsAfterReverting(
  revisions: readonly AlembicRevision[],
  current: readonly string[],
  revert: readonly string[],
): string[] {
  const gone = new Set(revert);
  const left = revisions.filter(
    (revision) => ancestry(revisions, current).has(revision.revision) && !gone.has(revision.revision),
  );
  const followed = new Set(left.flatMap((revision) => [...revision.downRevisions, ...revision.dependsOn]));
  return left
    .filter((revision) => !followed.has(revision.revision))
    .map((revision) => revision.revision)
    .sort();
}
