import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MigrationFormat } from '../../shared/migrations/types.js';
import { schemaOfUrl } from '../../testkit/database.js';
import { FIXTURE_SET, FORMATS, rewriteMigration, writeFixture, type WrittenFixture } from './fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput, psqlFile } from './helpers.js';

/**
 * A dry run changes nothing, and its SQL, replayed by hand with psql, leaves the database exactly as
 * a real run does: same schema, same history. Each fixture includes a migration that runs outside a
 * transaction and, for golang-migrate, a file with its own BEGIN/COMMIT, so every path of the plan
 * is printed and replayed.
 */
const database = freshDatabases();

function fixtureWithEveryPath(format: MigrationFormat): WrittenFixture {
  const fixture = writeFixture(format);
  const offset = fixture.withDieselSetup ? 1 : 0;
  const backfill = FIXTURE_SET[3];
  if (format === 'golang-migrate') {
    // Detected: DROP INDEX CONCURRENTLY cannot run in a transaction block.
    rewriteMigration(fixture, 3, {
      ...backfill,
      down: 'DROP INDEX CONCURRENTLY projects_slug_idx;\nALTER TABLE projects DROP COLUMN slug;\n',
    });
    // Its own BEGIN/COMMIT, folded into the migration's transaction.
    rewriteMigration(fixture, 5, { ...FIXTURE_SET[5], down: `BEGIN;\n${FIXTURE_SET[5].down}COMMIT;\n` });
  } else {
    // Opted out: dbmate transaction:false, diesel run_in_transaction = false.
    rewriteMigration(fixture, 3 + offset, {
      ...backfill,
      down: 'DROP INDEX CONCURRENTLY projects_slug_idx;\nALTER TABLE projects DROP COLUMN slug;\n',
      noTransaction: true,
    });
  }
  return fixture;
}

describe.each(FORMATS)('dry-run on %s', (format) => {
  it('changes nothing, needs no backup proof, and its SQL run with psql gives what the real run gives', async () => {
    const fixture = fixtureWithEveryPath(format);
    const [dry, real] = [
      await database(`dry_${format.replace('-', '_')}`),
      await database(`real_${format.replace('-', '_')}`),
    ];
    await migrateUp(fixture, dry);
    await migrateUp(fixture, real);
    const target = fixture.versions.at(-5)!;
    const before = { schema: await schemaOfUrl(dry.url), history: await historyRows(dry, format) };

    const planned = await applyDown(fixture, dry, {
      'target-version': target,
      'dry-run': true,
      'backup-checksum': undefined,
    });
    expect(planned.errors).toEqual([]);
    expect(planned.exitCode).toBe(0);
    expect(await schemaOfUrl(dry.url)).toBe(before.schema);
    expect(await historyRows(dry, format)).toEqual(before.history);
    expect(parseJsonOutput(planned, 'reverted')).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(planned, 'planned').map((entry) => entry.version)).toEqual(
      fixture.versions.slice(-4).reverse(),
    );
    expect(planned.outputs['final-version']).toBe(target);
    expect(planned.summary).toContain('Down migrations (dry run): would go');
    expect(planned.summary).toContain('SQL that would run');
    expect(planned.events.filter((event) => String(event.event).startsWith('down_migrations_'))).toEqual([]);

    const sql = planned.outputs['dry-run-sql'];
    expect(readFileSync(planned.outputs['sql-file'], 'utf8')).toBe(sql);
    // In order: session settings and the lock, then each migration with its history statements.
    const order = [
      'SET lock_timeout = 30000;',
      'SELECT pg_advisory_lock(',
      'SET statement_timeout = 300000;',
      fixture.downFiles.at(-1)!,
      'COMMIT;',
      fixture.downFiles.at(-4)!,
      'SELECT pg_advisory_unlock(',
    ];
    let at = -1;
    for (const piece of order) {
      const next = sql.indexOf(piece, at + 1);
      expect({ piece, found: next > at }).toEqual({ piece, found: true });
      at = next;
    }
    if (format === 'golang-migrate') {
      expect(sql).toContain('INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (3, true);');
      expect(sql).toContain("-- BEGIN; (folded into this migration's transaction)");
    } else {
      const table = format === 'dbmate' ? '"public"."schema_migrations"' : '"public"."__diesel_schema_migrations"';
      expect(sql).toContain(`DELETE FROM ${table} WHERE version = '${fixture.versions.at(-1)}';`);
    }

    // By hand, with psql, on the dry-run database; and the real run on its twin.
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'dry-run-')), 'rollback.sql');
    writeFileSync(file, sql);
    await psqlFile(dry.url, file);
    const result = await applyDown(fixture, real, { 'target-version': target });
    expect(result.errors).toEqual([]);
    // The same plan for the twin: only the header and the lock ids (derived from the database name) differ.
    const comparable = (text: string) =>
      text
        .split('\n')
        .slice(1)
        .map((line) => line.replace(/pg_advisory_(un)?lock\(\d+\)/, 'pg_advisory_$1lock(id)'));
    expect(comparable(result.outputs['dry-run-sql'])).toEqual(comparable(sql));

    expect(await schemaOfUrl(dry.url)).toBe(await schemaOfUrl(real.url));
    const [byHand, byAction] = [await historyRows(dry, format), await historyRows(real, format)];
    // diesel's run_on is when each database applied its migrations: compare versions there.
    if (format === 'diesel') expect(byHand.map((row) => row.version)).toEqual(byAction.map((row) => row.version));
    else expect(byHand).toEqual(byAction);
    expect(byAction.map((row) => row.version).at(-1)).toBe(target);
  });
});
