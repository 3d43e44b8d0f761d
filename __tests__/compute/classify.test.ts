import { classifySql, strongestClass } from '../../shared/migrations/classify.js';
import { lintDownMigration } from '../../shared/migrations/down-lint.js';
import { parseSql } from '../../shared/migrations/sql-parser.js';

/** Classification from PostgreSQL's own parse tree (libpg_query), statement by statement. */
describe('classifying up migrations', () => {
  const classOf = async (sql: string) => (await classifySql(sql)).class;

  it.each([
    ['CREATE TABLE audit (id bigserial PRIMARY KEY, note text NOT NULL)', 'additive', /creates table audit/],
    ['ALTER TABLE projects ADD COLUMN description text', 'additive', /nullable column projects.description/],
    ["ALTER TABLE projects ADD COLUMN archived boolean NOT NULL DEFAULT false", 'additive', /constant default/],
    ["ALTER TABLE projects ADD COLUMN priority int NOT NULL DEFAULT -1", 'additive', /constant default/],
    ['ALTER TABLE projects ADD COLUMN created timestamptz NOT NULL DEFAULT now()', 'additive', /computed default/],
    ['ALTER TABLE projects ADD COLUMN seq bigserial', 'additive', /generated column/],
    ['CREATE INDEX CONCURRENTLY projects_name_idx ON projects (name)', 'additive', /CONCURRENTLY/],
    ["ALTER TYPE mood ADD VALUE 'elated'", 'additive', /adds value 'elated' to enum mood/],
    ['CREATE VIEW active_projects AS SELECT * FROM projects WHERE NOT archived', 'additive', /creates view active_projects/],
    ['CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$', 'additive', /creates function one/],
    ['ALTER TABLE projects RENAME COLUMN title TO name', 'breaking', /renames column projects.title to name/],
    ['ALTER TABLE projects RENAME TO work_items', 'breaking', /renames table projects to work_items/],
    ['ALTER TABLE users DROP COLUMN legacy_id', 'data-loss', /drops column users.legacy_id, which existed at the previous release: its values are gone/],
    ['DROP TABLE sessions', 'data-loss', /drops table sessions, which existed at the previous release: its rows are gone/],
    ['DROP VIEW active_sessions', 'breaking', /drops view active_sessions: old code still uses it/],
    ['ALTER TABLE users ALTER COLUMN name SET NOT NULL', 'breaking', /makes users.name NOT NULL/],
    ['ALTER TABLE users ALTER COLUMN age TYPE bigint', 'breaking', /changes the type of users.age/],
    ['ALTER TABLE users ADD COLUMN tenant_id int NOT NULL', 'breaking', /NOT NULL column users.tenant_id without a default/],
    ['ALTER TABLE users DROP CONSTRAINT users_email_key', 'breaking', /drops constraint users_email_key/],
    ['ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email)', 'breaking', /adds UNIQUE constraint users_email_unique/],
    ['CREATE UNIQUE INDEX users_email_idx ON users (lower(email))', 'breaking', /unique index users_email_idx/],
    ["ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", 'breaking', /renames value 'sad'/],
    ['UPDATE users SET email = lower(email)', 'data-loss', /overwrites users.email in existing rows/],
    ["DELETE FROM sessions WHERE created_at < now() - interval '30 days'", 'data-loss', /deletes rows of sessions/],
    ["INSERT INTO settings (key, value) VALUES ('theme', 'dark')", 'data-changing', /inserts rows into existing table settings/],
    ["INSERT INTO settings (key, value) VALUES ('theme', 'dark') ON CONFLICT (key) DO UPDATE SET value = excluded.value", 'data-loss', /ON CONFLICT DO UPDATE: existing rows it conflicts with are overwritten/],
    ['TRUNCATE audit_log', 'data-loss', /truncates audit_log: every row is gone/],
    ['DROP SCHEMA reporting CASCADE', 'data-loss', /drops schema reporting with CASCADE/],
    ['ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2) USING round(total * 100) / 100', 'data-loss', /rewrites orders.total with a USING expression/],
    ['DO $$ BEGIN PERFORM 1; END $$', 'additive', /runs a query .*\(in a DO block\)/],
    ['DO LANGUAGE plv8 $$ plv8.execute("DELETE FROM t") $$', 'unknown', /a DO block in plv8, which no parser here reads/],
    ["DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'old_' || 'orders'); END $$", 'unknown', /EXECUTE runs SQL built at run time/],
    ['ALTER TABLE users ADD COLUMNN nickname text', 'unknown', /grammar rejects it \(syntax error/],
  ])('%s -> %s', async (sql, expected, reason) => {
    const result = await classifySql(sql);
    expect(result.class).toBe(expected);
    expect(result.statements).toHaveLength(1);
    expect(result.statements[0].reasons.join(' ')).toMatch(reason);
  });

  it('reads context within a migration: backfilling a column it adds is additive, making it NOT NULL is not', async () => {
    const result = await classifySql(`
      ALTER TABLE users ADD COLUMN display_name text;
      UPDATE users SET display_name = email;
      ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
    `);
    expect(result.statements.map((statement) => statement.class)).toEqual(['additive', 'additive', 'breaking']);
    expect(result.statements[1].reasons[0]).toMatch(/backfills column\(s\) of users that the previous release did not have: no value it wrote is overwritten/);
    expect(result.class).toBe('breaking');
  });

  it('treats constraints and rows on a table the same migration creates as additive', async () => {
    const result = await classifySql(`
      CREATE TABLE plans (id int PRIMARY KEY, code text);
      CREATE UNIQUE INDEX plans_code ON plans (code);
      ALTER TABLE plans ALTER COLUMN code SET NOT NULL;
      INSERT INTO plans VALUES (1, 'free');
    `);
    expect(result.statements.map((statement) => statement.class)).toEqual(['additive', 'additive', 'additive', 'additive']);
  });

  it('gives each migration the strongest class of its statements, data-loss above all', async () => {
    expect(strongestClass(['additive', 'breaking', 'unknown'])).toBe('unknown');
    expect(strongestClass(['unknown', 'data-changing', 'breaking'])).toBe('data-changing');
    expect(strongestClass(['data-changing', 'data-loss', 'unknown'])).toBe('data-loss');
    expect(await classOf("CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int; INSERT INTO d VALUES (1);")).toBe('data-changing');
    expect(await classOf('CREATE TABLE a (id int); ALTER TABLE b DROP COLUMN c; UPDATE d SET e = 1;')).toBe('data-loss');
    expect(await classOf('-- nothing but a comment\n')).toBe('additive');
  });

  it('keeps classifying the statements around one the grammar rejects, with their lines', async () => {
    const sql = "CREATE TABLE a (id int);\nTHIS IS NOT SQL;\nUPDATE b SET c = 'x;y' WHERE d = $$;$$;\n";
    const result = await classifySql(sql);
    expect(result.statements.map((statement) => [statement.line, statement.class])).toEqual([
      [1, 'additive'],
      [2, 'unknown'],
      [3, 'data-loss'],
    ]);
    expect(result.statements[1].sql).toBe('THIS IS NOT SQL');
    expect(result.statements[2].sql).toBe("UPDATE b SET c = 'x;y' WHERE d = $$;$$");
  });

  it('slices statement text by UTF-8 byte offsets, as libpg_query reports them', async () => {
    const parsed = await parseSql("-- ünïcødé comment\nCOMMENT ON TABLE a IS 'café';\nDROP TABLE b;");
    expect(parsed.statements.map((statement) => [statement.line, statement.text])).toEqual([
      [2, "COMMENT ON TABLE a IS 'café'"],
      [3, 'DROP TABLE b'],
    ]);
  });
});

describe('linting down migrations', () => {
  it('warns that reverting CREATE TABLE and ADD COLUMN destroys what was written since', async () => {
    const findings = await lintDownMigration(
      'CREATE TABLE invoices (id int); ALTER TABLE users ADD COLUMN plan text;',
      'DROP TABLE invoices; ALTER TABLE users DROP COLUMN plan;',
      'since migration 7 billing was applied',
    );
    expect(findings).toEqual([
      expect.objectContaining({ kind: 'data-loss', message: expect.stringMatching(/drops table invoices: every row written to it since migration 7 billing was applied is lost/) }),
      expect.objectContaining({ kind: 'data-loss', message: expect.stringMatching(/drops column users.plan: values written to it since migration 7 billing/) }),
    ]);
  });

  it('reports a down file that leaves part of its up migration behind', async () => {
    const findings = await lintDownMigration('CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int;', 'DROP TABLE a;', 'since 1');
    expect(findings.map((finding) => finding.kind)).toEqual(['data-loss', 'incomplete-down']);
    expect(findings[1].message).toMatch(/adds column b.c but the down file does not drop it/);
  });

  it('reports down SQL the grammar rejects', async () => {
    const findings = await lintDownMigration(undefined, 'ALTER TABLE a DROPP COLUMN b;', 'since 1');
    expect(findings).toEqual([expect.objectContaining({ kind: 'unparseable-down', sql: 'ALTER TABLE a DROPP COLUMN b' })]);
  });

  it('has nothing to say about a rename reverted by a rename', async () => {
    expect(await lintDownMigration('ALTER TABLE p RENAME COLUMN title TO name', 'ALTER TABLE p RENAME COLUMN name TO title', 'since 4')).toEqual([]);
  });
});
