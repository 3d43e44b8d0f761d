import { historyWriter } from '../../shared/migrations/history.js';
import { golangMigrateLockId, migrationLockKeys } from '../../shared/migrations/lock.js';
import { positionInScript, splitStatements } from '../../shared/migrations/statements.js';
import { findNonTransactionalStatements, transactionControl } from '../../shared/migrations/transactions.js';

const texts = async (sql: string) => (await splitStatements(sql)).map((statement) => statement.text);

describe('splitting a migration into the statements psql would send', () => {
  it("drops leading line comments and whitespace, keeps inner comments, and knows each statement's line", async () => {
    const sql = '-- header\n\nCREATE TABLE a (id int); -- trailing\n/* block */ DROP TABLE b;\n';
    const statements = await splitStatements(sql);
    expect(statements.map((statement) => [statement.text, statement.line])).toEqual([
      ['CREATE TABLE a (id int);', 3],
      ['/* block */ DROP TABLE b;', 4],
    ]);
    expect(statements[0].words).toEqual(['CREATE', 'TABLE', 'A', 'ID', 'INT']);
  });

  it('keeps semicolons inside quotes, E-strings, quoted identifiers, dollar quotes and nested block comments', async () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
      "INSERT INTO t VALUES (E'back\\'slash; ok');",
      'CREATE TABLE "odd;name" (x int);',
      'CREATE FUNCTION f() RETURNS int AS $fn$ BEGIN RETURN 1; END; $fn$ LANGUAGE plpgsql;',
      'DO $$ BEGIN PERFORM 1; END $$;',
      '/* outer /* inner; */ still; */ SELECT 1;',
    ].join('\n');
    expect(await texts(sql)).toHaveLength(6);
    expect((await texts(sql))[3]).toBe(
      'CREATE FUNCTION f() RETURNS int AS $fn$ BEGIN RETURN 1; END; $fn$ LANGUAGE plpgsql;',
    );
  });

  it('keeps SQL-standard function bodies (BEGIN ATOMIC ... END) and parenthesised rule actions whole, as psql 14+ does', async () => {
    const sql = `CREATE FUNCTION two() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT CASE WHEN true THEN 2 END;
END;
CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));
BEGIN;
SELECT 1;
COMMIT;`;
    const statements = await texts(sql);
    expect(statements).toHaveLength(5);
    expect(statements[0]).toMatch(/^CREATE FUNCTION two\(\)[\s\S]*END;$/);
    expect(statements[1]).toMatch(/^CREATE RULE[\s\S]*\(2\)\);$/);
    expect(statements.slice(2)).toEqual(['BEGIN;', 'SELECT 1;', 'COMMIT;']);
  });

  it('ends a last statement without a semicolon at its last token, not at a trailing comment', async () => {
    const statements = await splitStatements('DROP TABLE a;\nDROP TABLE b -- no semicolon\n');
    expect(statements.map((statement) => statement.text)).toEqual(['DROP TABLE a;', 'DROP TABLE b']);
  });

  it('ignores statements made only of comments or semicolons', async () => {
    expect(await texts('-- nothing\n;;\n/* nothing */;\n')).toEqual([]);
  });

  it('sends a script the scanner rejects (an unterminated quote) as one statement, for the server to report where', async () => {
    const statements = await splitStatements("\n-- note\nSELECT 1;\nSELECT 'open;\n");
    expect(statements.map((statement) => [statement.text, statement.line])).toEqual([
      ["-- note\nSELECT 1;\nSELECT 'open;", 2],
    ]);
  });

  it('maps a PostgreSQL error position (characters, 1-based) to the line and column of the script', async () => {
    const script = '-- ünïcode comment\nALTER TABLE t RENAME COLUMN a TO b;\nUPDATE t SET b = upper(zz);\n';
    const [, update] = await splitStatements(script);
    expect(positionInScript(update, script, 'UPDATE t SET b = upper('.length + 1)).toEqual({ line: 3, column: 24 });
    expect(positionInScript(update, script, 999)).toBeUndefined();
  });
});

describe('statements that cannot run in a transaction block', () => {
  it('recognises CONCURRENTLY index work, VACUUM, database and tablespace commands', async () => {
    const sql = `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);
DROP INDEX CONCURRENTLY i;
REINDEX (VERBOSE) TABLE CONCURRENTLY t;
ALTER TABLE p DETACH PARTITION c CONCURRENTLY;
VACUUM ANALYZE t;
CREATE INDEX i2 ON t (x);
ANALYZE t;
-- CREATE INDEX CONCURRENTLY in a comment does not count
SELECT 'DROP INDEX CONCURRENTLY x';`;
    expect(
      findNonTransactionalStatements(await splitStatements(sql)).map((found) => [found.what, found.statement.line]),
    ).toEqual([
      ['CREATE INDEX CONCURRENTLY', 1],
      ['DROP INDEX CONCURRENTLY', 2],
      ['REINDEX CONCURRENTLY', 3],
      ['DETACH PARTITION CONCURRENTLY', 4],
      ['VACUUM', 5],
    ]);
  });

  it('counts ALTER TYPE ... ADD VALUE only on servers before PostgreSQL 12', async () => {
    const statements = await splitStatements("ALTER TYPE status ADD VALUE 'gone';");
    expect(findNonTransactionalStatements(statements, 110005)).toHaveLength(1);
    expect(findNonTransactionalStatements(statements, 150004)).toHaveLength(0);
  });

  it('tells a file wrapped in its own BEGIN/COMMIT from one that manages several transactions', async () => {
    expect(transactionControl(await splitStatements('SELECT 1;')).kind).toBe('none');
    expect(transactionControl(await splitStatements('BEGIN;\nSELECT 1;\nCOMMIT;')).kind).toBe('wrapped');
    expect(transactionControl(await splitStatements('START TRANSACTION;\nSELECT 1;\nEND;')).kind).toBe('wrapped');
    expect(
      transactionControl(await splitStatements('BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;')).kind,
    ).toBe('own');
    expect(
      transactionControl(await splitStatements('BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;')).kind,
    ).toBe('own');
    expect(transactionControl(await splitStatements('SELECT 1;\nSAVEPOINT s;\nSELECT 2;')).kind).toBe('own');
  });
});

describe('history statements, as each tool writes them', () => {
  const table = { schema: 'public', table: 'schema_migrations' };

  it('golang-migrate: TRUNCATE then one row; nothing after reverting the first migration; -1 dirty when that fails', async () => {
    const writer = historyWriter('golang-migrate', table);
    expect(writer.recordApplied('0004')).toEqual([
      'TRUNCATE "public"."schema_migrations";',
      'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (4, false);',
    ]);
    expect(writer.recordReverted('4', '3')).toEqual([
      'TRUNCATE "public"."schema_migrations";',
      'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (3, false);',
    ]);
    expect(writer.recordReverted('1', null)).toEqual(['TRUNCATE "public"."schema_migrations";']);
    expect(writer.markDirty(null)).toEqual([
      'TRUNCATE "public"."schema_migrations";',
      'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (-1, true);',
    ]);
    expect(writer.createTable()).toEqual([
      'CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null);',
    ]);
  });

  it('dbmate and diesel: one row per migration, deleted on revert; no dirty flag', async () => {
    const dbmate = historyWriter('dbmate', { schema: 'app', table: 'schema_migrations' });
    expect(dbmate.createTable()).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "app";',
      'CREATE TABLE IF NOT EXISTS "app"."schema_migrations" (version varchar primary key);',
    ]);
    expect(dbmate.recordReverted('20240101000006', '20240101000005')).toEqual([
      'DELETE FROM "app"."schema_migrations" WHERE version = \'20240101000006\';',
    ]);
    expect(dbmate.markDirty('x')).toEqual([]);
    const diesel = historyWriter('diesel', { schema: 'public', table: '__diesel_schema_migrations' });
    expect(diesel.createTable()[0]).toBe(
      'CREATE TABLE IF NOT EXISTS "public"."__diesel_schema_migrations" (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);',
    );
    expect(diesel.recordApplied('20240101000001')).toEqual([
      'INSERT INTO "public"."__diesel_schema_migrations" (version) VALUES (\'20240101000001\');',
    ]);
  });
});

describe('the migration lock id', () => {
  it("is golang-migrate's GenerateAdvisoryLockId (reference values from Python's zlib.crc32)", async () => {
    // python3 -c 'import zlib; print((zlib.crc32(b"app\0public\0schema_migrations") * 1486364155) & 0xffffffff)'
    expect(golangMigrateLockId('app', 'public', 'schema_migrations')).toBe('346699726');
    expect(golangMigrateLockId('/app', 'public', 'schema_migrations')).toBe('257547563');
    expect(
      migrationLockKeys('app', { schema: 'public', table: 'schema_migrations' }, 'golang-migrate').map((key) => key.id),
    ).toEqual(['346699726', '257547563']);
    expect(
      migrationLockKeys('app', { schema: 'public', table: 'schema_migrations' }, 'dbmate').map((key) => key.id),
    ).toEqual(['346699726']);
  });
});
