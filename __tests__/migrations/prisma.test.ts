import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl, withClient, type TestDatabase } from '../../testkit/database.js';
import { applyDown, freshDatabases, parseJsonOutput } from './helpers.js';

/**
 * migrations-format: prisma with the bundled action and real PostgreSQL. The Prisma 7 CLI does not
 * run here (`prisma migrate status` first downloads its schema-engine binary from
 * binaries.prisma.sh), so the database is migrated the way Prisma's schema engine does it
 * (apply_migrations: a row with started_at, the script, then finished_at and applied_steps_count),
 * and `_prisma_migrations` is checked against what Prisma reads: a migration is applied when a row
 * with its name has finished_at and no rolled_back_at; `migrate deploy` applies every directory
 * without one, `migrate status` reports rows whose directory is missing.
 */
const FIXTURE = path.join(REPO_ROOT, '__tests__', 'fixtures', 'prisma-app', 'prisma', 'migrations');
const NAMES = readdirSync(FIXTURE)
  .filter((entry) => /^\d+_/.test(entry))
  .sort();

/** Prisma's CREATE TABLE for _prisma_migrations (sql-schema-connector, postgres flavour). */
const PRISMA_TABLE = `CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface PrismaRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished: boolean;
  rolled_back: boolean;
}

async function prismaRows(db: TestDatabase): Promise<PrismaRow[]> {
  const { rows } = await db.query<PrismaRow>(
    'SELECT id, checksum, migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM "_prisma_migrations" ORDER BY migration_name, started_at',
  );
  return rows;
}

/** What `migrate deploy` would apply: directories without a finished, not rolled-back row. */
async function unappliedByPrisma(db: TestDatabase, names: readonly string[]): Promise<string[]> {
  const applied = new Set(
    (await prismaRows(db)).filter((row) => row.finished && !row.rolled_back).map((row) => row.migration_name),
  );
  return names.filter((name) => !applied.has(name));
}

/** Rows `migrate status` reports as "applied to the database but not found locally". */
async function notFoundLocally(db: TestDatabase, names: readonly string[]): Promise<string[]> {
  return (await prismaRows(db))
    .filter((row) => !row.rolled_back && !names.includes(row.migration_name))
    .map((row) => row.migration_name);
}

/** Prisma's deploy of `names` in order, as its schema engine records it. */
async function deployLikePrisma(db: TestDatabase, names: readonly string[], dir = FIXTURE): Promise<void> {
  await withClient(db.url, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${PRISMA_TABLE.slice('CREATE TABLE '.length)}`);
    for (const name of await unappliedByPrisma(db, names)) {
      const script = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(script).digest('hex');
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (gen_random_uuid()::text, $1, $2, now(), 0) RETURNING id',
        [checksum, name],
      );
      await client.query(script);
      await client.query(
        'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1',
        [rows[0].id],
      );
    }
  });
}

describe('apply-down-migrations with migrations-format: prisma', () => {
  const database = freshDatabases();
  const fixture = { dir: FIXTURE, format: 'prisma' as const };

  it("reverts two migrations with their down.sql; _prisma_migrations keeps only the target release's rows, so deploy applies the reverted ones again", async () => {
    const [db, expected] = [await database('prisma_down'), await database('prisma_expect')];
    await deployLikePrisma(db, NAMES);
    const before = await prismaRows(db);
    const target = NAMES[1];
    await deployLikePrisma(expected, NAMES.slice(0, 2));

    const result = await applyDown(fixture, db, { 'target-version': target });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(
      parseJsonOutput<{ version: string; name: string; file: string }[]>(result, 'reverted').map((entry) => [
        entry.version,
        entry.file,
      ]),
    ).toEqual([
      ['20250401000000_post_status', '20250401000000_post_status/down.sql'],
      ['20250301000000_add_user_name', '20250301000000_add_user_name/down.sql'],
    ]);
    expect(result.outputs['initial-version']).toBe(NAMES[3]);
    expect(result.outputs['final-version']).toBe(target);

    // The schema, _prisma_migrations' shape included, equals a database Prisma migrated to the target only.
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(expected.url));
    // The target release's rows are untouched (ids and checksums); the reverted ones are gone.
    expect(await prismaRows(db)).toEqual(before.slice(0, 2));
    // At the target release (its two directories) Prisma finds nothing pending and nothing unknown: in sync.
    expect(await unappliedByPrisma(db, NAMES.slice(0, 2))).toEqual([]);
    expect(await notFoundLocally(db, NAMES.slice(0, 2))).toEqual([]);
    // The newer release's deploy applies exactly the reverted migrations again, and succeeds.
    expect(await unappliedByPrisma(db, NAMES)).toEqual(NAMES.slice(2));
    await deployLikePrisma(db, NAMES);
    const full = await database('prisma_full');
    await deployLikePrisma(full, NAMES);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(full.url));
  });

  it('verify: true compares the result with a scratch database migrated up to the target by migration.sql files', async () => {
    const db = await database('prisma_verify');
    await deployLikePrisma(db, NAMES);
    const result = await applyDown(fixture, db, { 'target-version': NAMES[1], verify: true });
    expect(result.errors).toEqual([]);
    expect(result.outputs.verified).toBe('true');
  });

  it('verify: true fails a down.sql that does not undo its migration.sql, naming what differs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prisma-baddown-'));
    try {
      cpSync(FIXTURE, dir, { recursive: true });
      // This down.sql drops the column but forgets the enum type its migration.sql created.
      const down = path.join(dir, NAMES[3], 'down.sql');
      writeFileSync(down, readFileSync(down, 'utf8').replace(/^DROP TYPE[^;]*;\s*$/m, ''));
      const db = await database('prisma_verifybad');
      await deployLikePrisma(db, NAMES, dir);
      const result = await applyDown({ dir, format: 'prisma' }, db, { 'target-version': NAMES[2], verify: true });
      expect(result.exitCode).toBe(1);
      expect(result.outputs.verified).toBe('false');
      expect(result.errors[0]).toMatch(
        /the schema differs from a database migrated up to version 20250301000000_add_user_name/,
      );
      expect(result.summary).toContain('Only in the database');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes Prisma's own advisory lock: a held pg_advisory_lock(72707369) is reported", async () => {
    const db = await database('prisma_lock');
    await deployLikePrisma(db, NAMES);
    await withClient(db.url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock(72707369)');
      const result = await applyDown(fixture, db, { 'target-version': NAMES[2], 'lock-timeout': '2s' });
      expect(result.exitCode).not.toBe(0);
      expect(result.errors.join('\n')).toContain('72707369');
    });
    expect(await prismaRows(db)).toHaveLength(4);
  });

  it('a migration without down.sql is refused by name before anything changes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prisma-nodown-'));
    try {
      cpSync(FIXTURE, dir, { recursive: true });
      rmSync(path.join(dir, NAMES[3], 'down.sql'));
      const db = await database('prisma_nodown');
      await deployLikePrisma(db, NAMES, dir);
      const schema = await schemaOfUrl(db.url);
      const rows = await prismaRows(db);
      const result = await applyDown({ dir, format: 'prisma' }, db, { 'target-version': NAMES[1] });
      expect(result.exitCode).not.toBe(0);
      expect(result.errors.join('\n')).toContain(
        'Prisma migration 20250401000000_post_status (post_status) has no down migration (down.sql next to its migration.sql).',
      );
      expect(await schemaOfUrl(db.url)).toBe(schema);
      expect(await prismaRows(db)).toEqual(rows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failed migration row (started, never finished) is refused with Prisma's own resolve command", async () => {
    const db = await database('prisma_failed');
    await deployLikePrisma(db, NAMES);
    await db.query(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = $1`, [NAMES[3]]);
    const schema = await schemaOfUrl(db.url);
    const result = await applyDown(fixture, db, { 'target-version': NAMES[1] });
    expect(result.exitCode).not.toBe(0);
    expect(result.errors.join('\n')).toContain(`records ${NAMES[3]} as failed`);
    expect(result.log).toContain(`prisma migrate resolve --rolled-back ${NAMES[3]}`);
    expect(await schemaOfUrl(db.url)).toBe(schema);
  });
});
