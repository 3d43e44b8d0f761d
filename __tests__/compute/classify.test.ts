import { classifySql, sinceTarget, strongestClass } from '../../shared/migrations/classify.js';
import { columnTypeOf, compareTypes } from '../../shared/migrations/column-types.js';
import { checkDownScripts } from '../../shared/migrations/down-checks.js';
import { lintDownMigration } from '../../shared/migrations/down-lint.js';
import { nodeType, parseSql } from '../../shared/migrations/sql-parser.js';
import type { ColumnDef } from 'libpg-query';
import type { Migration } from '../../shared/migrations/types.js';

/** Classification from PostgreSQL's own parse tree (libpg_query), statement by statement. */
describe('classifying up migrations', () => {
  const classOf = async (sql: string) => (await classifySql(sql)).class;

  it.each([
    ['CREATE TABLE audit (id bigserial PRIMARY KEY, note text NOT NULL)', 'additive', /creates table audit/],
    ['ALTER TABLE projects ADD COLUMN description text', 'additive', /nullable column projects.description/],
    ['ALTER TABLE projects ADD COLUMN archived boolean NOT NULL DEFAULT false', 'additive', /constant default/],
    ['ALTER TABLE projects ADD COLUMN priority int NOT NULL DEFAULT -1', 'additive', /constant default/],
    ['ALTER TABLE projects ADD COLUMN created timestamptz NOT NULL DEFAULT now()', 'additive', /computed default/],
    ['ALTER TABLE projects ADD COLUMN seq bigserial', 'additive', /generated column/],
    ['CREATE INDEX CONCURRENTLY projects_name_idx ON projects (name)', 'additive', /CONCURRENTLY/],
    ["ALTER TYPE mood ADD VALUE 'elated'", 'additive', /adds value 'elated' to enum mood/],
    [
      'CREATE VIEW active_projects AS SELECT * FROM projects WHERE NOT archived',
      'additive',
      /creates view active_projects/,
    ],
    ['CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$', 'additive', /creates function one/],
    ['ALTER TABLE projects RENAME COLUMN title TO name', 'breaking', /renames column projects.title to name/],
    ['ALTER TABLE projects RENAME TO work_items', 'breaking', /renames table projects to work_items/],
    [
      'ALTER TABLE users DROP COLUMN legacy_id',
      'data-loss',
      /drops column users.legacy_id, which existed at the previous release: its values are gone/,
    ],
    [
      'DROP TABLE sessions',
      'data-loss',
      /drops table sessions, which existed at the previous release: its rows are gone/,
    ],
    ['DROP VIEW active_sessions', 'breaking', /drops view active_sessions: old code still uses it/],
    ['ALTER TABLE users ALTER COLUMN name SET NOT NULL', 'breaking', /makes users.name NOT NULL/],
    ['ALTER TABLE users ALTER COLUMN age TYPE bigint', 'breaking', /changes the type of users.age/],
    [
      'ALTER TABLE users ADD COLUMN tenant_id int NOT NULL',
      'breaking',
      /NOT NULL column users.tenant_id without a default/,
    ],
    ['ALTER TABLE users DROP CONSTRAINT users_email_key', 'breaking', /drops constraint users_email_key/],
    [
      'ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email)',
      'breaking',
      /adds UNIQUE constraint users_email_unique/,
    ],
    ['CREATE UNIQUE INDEX users_email_idx ON users (lower(email))', 'breaking', /unique index users_email_idx/],
    ["ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", 'breaking', /renames value 'sad'/],
    ['UPDATE users SET email = lower(email)', 'data-loss', /overwrites users.email in existing rows/],
    ["DELETE FROM sessions WHERE created_at < now() - interval '30 days'", 'data-loss', /deletes rows of sessions/],
    [
      "INSERT INTO settings (key, value) VALUES ('theme', 'dark')",
      'data-changing',
      /inserts rows into existing table settings/,
    ],
    [
      "INSERT INTO settings (key, value) VALUES ('theme', 'dark') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      'data-loss',
      /ON CONFLICT DO UPDATE: existing rows it conflicts with are overwritten/,
    ],
    ['TRUNCATE audit_log', 'data-loss', /truncates audit_log: every row is gone/],
    ['DROP SCHEMA reporting CASCADE', 'data-loss', /drops schema reporting with CASCADE/],
    [
      'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2) USING round(total * 100) / 100',
      'data-loss',
      /rewrites orders.total with a USING expression/,
    ],
    ['DO $$ BEGIN PERFORM 1; END $$', 'additive', /runs a query .*\(in a DO block\)/],
    [
      'DO LANGUAGE plv8 $$ plv8.execute("DELETE FROM t") $$',
      'unknown',
      /a DO block in plv8, which no parser here reads/,
    ],
    [
      "DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'old_' || 'orders'); END $$",
      'unknown',
      /EXECUTE runs SQL built at run time/,
    ],
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
    expect(result.statements[1].reasons[0]).toMatch(
      /backfills column\(s\) of users that the previous release did not have: no value it wrote is overwritten/,
    );
    expect(result.class).toBe('breaking');
  });

  it('treats constraints and rows on a table the same migration creates as additive', async () => {
    const result = await classifySql(`
      CREATE TABLE plans (id int PRIMARY KEY, code text);
      CREATE UNIQUE INDEX plans_code ON plans (code);
      ALTER TABLE plans ALTER COLUMN code SET NOT NULL;
      INSERT INTO plans VALUES (1, 'free');
    `);
    expect(result.statements.map((statement) => statement.class)).toEqual([
      'additive',
      'additive',
      'additive',
      'additive',
    ]);
  });

  it('gives each migration the strongest class of its statements, data-loss above all', async () => {
    expect(strongestClass(['additive', 'breaking', 'unknown'])).toBe('unknown');
    expect(strongestClass(['unknown', 'data-changing', 'breaking'])).toBe('data-changing');
    expect(strongestClass(['data-changing', 'data-loss', 'unknown'])).toBe('data-loss');
    expect(await classOf('CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int; INSERT INTO d VALUES (1);')).toBe(
      'data-changing',
    );
    expect(await classOf('CREATE TABLE a (id int); ALTER TABLE b DROP COLUMN c; UPDATE d SET e = 1;')).toBe(
      'data-loss',
    );
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

  it('after a syntax error, cuts the rest where psql would: a BEGIN ATOMIC body stays one statement', async () => {
    const parsed = await parseSql(
      [
        'ALTER TABLE users ADD COLUMNN nickname text;',
        'CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;',
        'DROP TABLE b;',
      ].join('\n'),
    );
    expect(parsed.errors.map((error) => [error.line, error.text])).toEqual([
      [1, 'ALTER TABLE users ADD COLUMNN nickname text'],
    ]);
    expect(parsed.statements.map((statement) => [statement.line, nodeType(statement.node)[0]])).toEqual([
      [2, 'CreateFunctionStmt'],
      [3, 'DropStmt'],
    ]);
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
      expect.objectContaining({
        kind: 'data-loss',
        message: expect.stringMatching(
          /drops table invoices: every row written to it since migration 7 billing was applied is lost/,
        ),
      }),
      expect.objectContaining({
        kind: 'data-loss',
        message: expect.stringMatching(/drops column users.plan: values written to it since migration 7 billing/),
      }),
    ]);
  });

  it('reports a down file that leaves part of its up migration behind', async () => {
    const findings = await lintDownMigration(
      'CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int;',
      'DROP TABLE a;',
      'since 1',
    );
    expect(findings.map((finding) => finding.kind)).toEqual(['data-loss', 'incomplete-down']);
    expect(findings[1].message).toMatch(/adds column b.c but the down file does not drop it/);
  });

  it('warns that a down file narrowing a widened type, or re-creating a unique rule, fails on what was written since', async () => {
    const narrowing = await lintDownMigration(
      'ALTER TABLE posts ALTER COLUMN body TYPE text',
      'ALTER TABLE posts ALTER COLUMN body TYPE varchar(2000)',
      'since 8 was applied',
    );
    expect(narrowing).toEqual([
      {
        kind: 'revert-may-fail',
        message:
          'Reverting narrows posts.body back from text to varchar(2000): a value written since 8 was applied that does not fit makes the revert fail.',
        sql: 'ALTER TABLE posts ALTER COLUMN body TYPE varchar(2000)',
      },
    ]);
    const unique = await lintDownMigration(
      'DROP INDEX users_email_key',
      'CREATE UNIQUE INDEX users_email_key ON users (email)',
      'since 7 was applied',
    );
    expect(unique).toEqual([
      expect.objectContaining({
        kind: 'revert-may-fail',
        message:
          'Reverting re-creates unique index users_email_key on users: it fails if duplicate values were written since 7 was applied.',
      }),
    ]);
  });

  it('reports a drop of something the up migration does not create, and reads DO blocks on both sides', async () => {
    const findings = await lintDownMigration(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('calm'); END IF; END $$;",
      'DROP TYPE mood; DROP INDEX users_email_idx;',
      'since 6',
    );
    expect(findings).toEqual([
      expect.objectContaining({
        kind: 'foreign-drop',
        message:
          'The down file drops index users_email_idx, which its up migration does not create: the revert fails unless it exists when it runs.',
      }),
    ]);
  });

  it('has nothing to say about a rename reverted by a rename', async () => {
    expect(
      await lintDownMigration(
        'ALTER TABLE p RENAME COLUMN title TO name',
        'ALTER TABLE p RENAME COLUMN name TO title',
        'since 4',
      ),
    ).toEqual([]);
  });
});

describe('reading PL/pgSQL: DO blocks and the functions a migration creates and calls', () => {
  it('classifies the statements inside a DO block like top-level ones, on their own lines', async () => {
    const result = await classifySql(`-- normalise addresses
DO $$
BEGIN
  UPDATE users SET email = regexp_replace(email, '@old\\.example$', '@example.com');
  DELETE FROM sessions
   WHERE expires_at < now();
END
$$;
`);
    expect(result.class).toBe('data-loss');
    expect(result.statements).toEqual([
      expect.objectContaining({
        line: 4,
        class: 'data-loss',
        lost: ['users.email'],
        reasons: [expect.stringMatching(/^overwrites users.email in existing rows: .* \(in a DO block\)$/)],
      }),
      expect.objectContaining({
        line: 5,
        class: 'data-loss',
        lost: ['sessions'],
        sql: 'DELETE FROM sessions WHERE expires_at < now()',
      }),
    ]);
  });

  it('reads a conditional CREATE TYPE in a DO block as additive', async () => {
    const result = await classifySql(`DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'project_kind') THEN
    CREATE TYPE project_kind AS ENUM ('internal', 'client');
  END IF;
END $$;`);
    expect(result).toEqual({
      class: 'additive',
      statements: [
        expect.objectContaining({
          line: 3,
          class: 'additive',
          sql: "CREATE TYPE project_kind AS ENUM ('internal', 'client')",
        }),
      ],
    });
  });

  it('follows calls into functions and procedures the migration creates (plpgsql, sql, BEGIN ATOMIC), not into ones it only defines', async () => {
    const called = await classifySql(`CREATE FUNCTION purge_guests() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM users WHERE guest;
END $$;
SELECT purge_guests();
DROP FUNCTION purge_guests();`);
    expect(called.class).toBe('data-loss');
    expect(called.statements.find((statement) => statement.class === 'data-loss')).toEqual(
      expect.objectContaining({
        line: 3,
        lost: ['users'],
        reasons: [
          expect.stringMatching(
            /deletes rows of users: .*\(in purge_guests\(\), which this migration creates and calls at line 5\)$/,
          ),
        ],
      }),
    );
    const procedure = await classifySql(
      "CREATE PROCEDURE reset_plans() LANGUAGE sql AS $$ UPDATE accounts SET plan = 'free' $$;\nCALL reset_plans();",
    );
    expect(procedure.statements.map((statement) => [statement.class, statement.lost])).toEqual([
      ['additive', undefined],
      ['data-loss', ['accounts.plan']],
    ]);
    const atomic = await classifySql(
      'CREATE FUNCTION tidy() RETURNS void LANGUAGE sql BEGIN ATOMIC TRUNCATE audit_log; END;\nSELECT tidy();',
    );
    expect(atomic.class).toBe('data-loss');
    const definedOnly = await classifySql(
      'CREATE FUNCTION tidy() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE audit_log; END $$;',
    );
    expect(definedOnly).toEqual({
      class: 'additive',
      statements: [expect.objectContaining({ reasons: ['creates function tidy'] })],
    });
  });

  it('reads EXECUTE of a string literal, and leaves SQL built at run time or PL/pgSQL it rejects unknown', async () => {
    expect((await classifySql("DO $$ BEGIN EXECUTE 'TRUNCATE audit_log'; END $$")).statements).toEqual([
      expect.objectContaining({ class: 'data-loss', lost: ['audit_log'] }),
    ]);
    const rejected = await classifySql('DO $$ BEGIN FOR r IN SELECT 1 LOOP NULL; END LOOP; END $$');
    expect(rejected.statements).toEqual([
      expect.objectContaining({
        class: 'unknown',
        reasons: [
          expect.stringMatching(
            /^PL\/pgSQL's parser rejects it \(loop variable of loop over rows must be a record variable/,
          ),
        ],
      }),
    ]);
  });
});

describe('classifying against the target release', () => {
  it('does not count objects created after the target as lost: dropping or rewriting them is additive', async () => {
    const since = sinceTarget('v1.0.0');
    await classifySql('CREATE TABLE imports (id int); ALTER TABLE users ADD COLUMN import_id int;', {
      since,
      label: 'migration 2 imports',
    });
    const later = await classifySql(
      'UPDATE users SET import_id = NULL; DELETE FROM imports; DROP TABLE imports; ALTER TABLE users DROP COLUMN import_id;',
      { since, label: 'migration 3 cleanup' },
    );
    expect(later.class).toBe('additive');
    expect(later.statements.map((statement) => statement.reasons[0])).toEqual([
      'backfills column(s) of users that v1.0.0 did not have: no value it wrote is overwritten',
      'deletes rows of imports, a table migration 2 imports creates',
      'drops table imports, which migration 2 imports created after v1.0.0: the target never used it',
      'drops column users.import_id, which migration 2 imports added after v1.0.0: the target never used it',
    ]);
  });

  it('names the table a DROP ... CASCADE destroys even when the migration creates a new one in its place', async () => {
    const result = await classifySql(
      'DROP TABLE IF EXISTS legacy_orders CASCADE;\nCREATE TABLE legacy_orders (id bigserial PRIMARY KEY, total_cents bigint NOT NULL);',
      { since: sinceTarget('v1.0.0') },
    );
    expect(result.class).toBe('data-loss');
    expect(result.statements.map((statement) => [statement.class, statement.lost])).toEqual([
      ['data-loss', ['legacy_orders']],
      ['additive', undefined],
    ]);
    expect(result.statements[0].reasons[0]).toBe(
      'drops table legacy_orders, which existed at v1.0.0: its rows are gone, and a down file can re-create the table, not them',
    );
  });
});

describe('types and uniqueness', () => {
  const down = (sql: string) => parseSql(sql);

  it('a widening type change is additive, with a warning that its down narrows it', async () => {
    const result = await classifySql('ALTER TABLE posts ALTER COLUMN body TYPE text', {
      down: await down('ALTER TABLE posts ALTER COLUMN body TYPE varchar(2000)'),
    });
    expect(result.statements).toEqual([
      expect.objectContaining({
        class: 'additive',
        reasons: ['widens posts.body from varchar(2000) to text: every value old code writes or reads still fits'],
        warnings: [
          {
            kind: 'type-widening',
            message:
              'widens posts.body from varchar(2000) to text; its down file narrows it back to varchar(2000), which fails once a value that does not fit has been written.',
          },
        ],
      }),
    ]);
  });

  it('a lossy type change is data-loss; one whose old type is unknown stays breaking', async () => {
    const lossy = await classifySql('ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,2)', {
      down: await down('ALTER TABLE prices ALTER COLUMN amount TYPE numeric(12,4)'),
    });
    expect(lossy.statements[0]).toEqual(
      expect.objectContaining({
        class: 'data-loss',
        lost: ['prices.amount'],
        reasons: [
          'changes prices.amount from numeric(12,4) to numeric(10,2), which rounds or truncates the stored values',
        ],
      }),
    );
    expect((await classifySql('ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,2)')).class).toBe('breaking');
  });

  it.each([
    ['varchar(255)', 'text', 'widening'],
    ['varchar(255)', 'varchar(100)', 'other'],
    ['text', 'varchar', 'widening'],
    ['smallint', 'bigint', 'widening'],
    ['bigint', 'integer', 'other'],
    ['integer', 'numeric', 'widening'],
    ['real', 'double precision', 'widening'],
    ['double precision', 'integer', 'lossy'],
    ['numeric(10,2)', 'numeric(12,2)', 'widening'],
    ['numeric', 'numeric(10,2)', 'lossy'],
    ['timestamp(6)', 'timestamp(0)', 'lossy'],
    ['timestamptz', 'date', 'lossy'],
    ['text', 'integer', 'other'],
    ['integer[]', 'bigint', 'other'],
  ])('%s -> %s is %s', async (from, to, expected) => {
    const typeOf = async (text: string) => {
      const parsed = await parseSql(`CREATE TABLE t (c ${text})`);
      const column = (parsed.statements[0].node as { CreateStmt: { tableElts: { ColumnDef: ColumnDef }[] } }).CreateStmt
        .tableElts[0].ColumnDef;
      return columnTypeOf(column.typeName)!;
    };
    expect(compareTypes(await typeOf(from), await typeOf(to))).toBe(expected);
  });

  it('dropping a unique index or constraint is breaking, and says the down file fails once duplicates exist', async () => {
    const index = await classifySql('DROP INDEX users_email_key', {
      down: await down('CREATE UNIQUE INDEX users_email_key ON users (email)'),
    });
    expect(index.statements[0]).toEqual(
      expect.objectContaining({
        class: 'breaking',
        reasons: [
          'drops unique index users_email_key: old code may rely on it (ON CONFLICT, no duplicates), and re-creating it in the down file fails once duplicate values have been written',
        ],
        warnings: [
          {
            kind: 'unique-dropped',
            message:
              'drops unique index users_email_key: re-creating it in the down file fails once duplicate values have been written.',
          },
        ],
      }),
    );
    const constraint = await classifySql('ALTER TABLE users DROP CONSTRAINT users_handle_key', {
      down: await down('ALTER TABLE users ADD CONSTRAINT users_handle_key UNIQUE (handle)'),
    });
    expect(constraint.statements[0].reasons[0]).toMatch(
      /^drops unique constraint users_handle_key on users: .*fails once duplicate values have been written$/,
    );
    expect(
      (
        await classifySql('DROP INDEX users_created_idx', {
          down: await down('CREATE INDEX users_created_idx ON users (created_at)'),
        })
      ).class,
    ).toBe('additive');
  });
});

describe('the pre-checks apply-down-migrations runs on down files, without a database', () => {
  const migration = (version: string, up: string, down: string): Migration => ({
    version,
    name: `m${version}`,
    up: { path: `${version}.up.sql`, file: `${version}.up.sql`, line: 1, sql: up, transactional: true },
    down: { path: `${version}.down.sql`, file: `${version}.down.sql`, line: 1, sql: down, transactional: true },
  });

  it('refuses down SQL the grammar rejects, naming file and line', async () => {
    const broken = migration('4', 'ALTER TABLE a ADD COLUMN b int;', 'SELECT 1;\nALTER TABLE a DROPP COLUMN b;');
    expect(await checkDownScripts([{ version: '4', script: broken.down }], [broken])).toEqual([
      expect.stringMatching(
        /^4\.down\.sql line 2: PostgreSQL's grammar rejects `ALTER TABLE a DROPP COLUMN b` \(syntax error at or near "DROPP"\); the revert would fail there\.$/,
      ),
    ]);
  });

  it('refuses a DROP CONSTRAINT of what the up migration created as an index', async () => {
    const confused = migration(
      '10',
      'CREATE UNIQUE INDEX users_handle_key ON users (handle);',
      'ALTER TABLE users DROP CONSTRAINT users_handle_key;',
    );
    expect(await checkDownScripts([{ version: '10', script: confused.down }], [confused])).toEqual([
      '10.down.sql line 1: drops constraint users_handle_key on users, but its up migration created index users_handle_key: `ALTER TABLE users DROP CONSTRAINT users_handle_key` fails, as there is no constraint of that name.',
    ]);
    const fine = migration(
      '11',
      'ALTER TABLE users ADD CONSTRAINT users_handle_key UNIQUE (handle);',
      'ALTER TABLE users DROP CONSTRAINT users_handle_key;',
    );
    expect(await checkDownScripts([{ version: '11', script: fine.down }], [fine])).toEqual([]);
  });
});
