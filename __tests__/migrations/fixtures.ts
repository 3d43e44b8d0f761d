import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MigrationFormat } from '../../shared/migrations/types.js';

/**
 * One set of migrations written in each tool's layout, so every format is tested on the same
 * schema: tables, indexes (one functional, one unique), an enum, PL/pgSQL functions, triggers and a
 * data backfill.
 */
export interface FixtureMigration {
  name: string;
  up: string;
  /** undefined: no down file (golang-migrate, diesel) or no down section (dbmate). */
  down?: string;
  /** The file opts out of the transaction (dbmate transaction:false, diesel run_in_transaction = false). */
  noTransaction?: boolean;
}

export const FIXTURE_SET: FixtureMigration[] = [
  {
    name: 'create_users',
    up: `CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
INSERT INTO users (email) VALUES ('ada@example.com'), ('grace@example.com');
`,
    down: 'DROP TABLE users;\n',
  },
  {
    name: 'create_projects',
    up: `CREATE TYPE project_status AS ENUM ('draft', 'active', 'archived');
CREATE TABLE projects (
  id bigserial PRIMARY KEY,
  owner_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL,
  status project_status NOT NULL DEFAULT 'draft',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner_idx ON projects (owner_id);
INSERT INTO projects (owner_id, title) SELECT id, 'First project of ' || email FROM users;
`,
    down: 'DROP TABLE projects;\nDROP TYPE project_status;\n',
  },
  {
    name: 'touch_updated_at',
    up: `-- keeps updated_at current; the body has semicolons inside dollar quotes
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
CREATE TRIGGER projects_touch BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
`,
    down: 'DROP TRIGGER projects_touch ON projects;\nDROP FUNCTION touch_updated_at();\n',
  },
  {
    name: 'backfill_project_slug',
    up: `ALTER TABLE projects ADD COLUMN slug text;
UPDATE projects SET slug = lower(regexp_replace(title, '[^a-zA-Z0-9]+', '-', 'g'));
ALTER TABLE projects ALTER COLUMN slug SET NOT NULL;
CREATE UNIQUE INDEX projects_slug_idx ON projects (slug);
`,
    down: 'DROP INDEX projects_slug_idx;\nALTER TABLE projects DROP COLUMN slug;\n',
  },
  {
    name: 'rename_project_title',
    up: 'ALTER TABLE projects RENAME COLUMN title TO name;\n',
    down: '-- the old release reads "title"\nALTER TABLE projects RENAME COLUMN name TO title;\n',
  },
  {
    name: 'create_audit_log',
    up: `CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  project_id bigint REFERENCES projects (id) ON DELETE SET NULL,
  action text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_project_idx ON audit_log (project_id, at DESC);
CREATE FUNCTION log_project_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  INSERT INTO audit_log (project_id, action) VALUES (NEW.id, TG_OP);
  RETURN NEW;
END
$body$;
CREATE TRIGGER projects_audit AFTER INSERT OR UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION log_project_change();
`,
    down: 'DROP TRIGGER projects_audit ON projects;\nDROP FUNCTION log_project_change();\nDROP TABLE audit_log;\n',
  },
];

/** diesel setup's own first migration (diesel_cli, `diesel setup`), kept as diesel generates it. */
const DIESEL_INITIAL_SETUP: FixtureMigration = {
  name: 'diesel_initial_setup',
  up: `CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF (
        NEW IS DISTINCT FROM OLD AND
        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
    ) THEN
        NEW.updated_at := current_timestamp;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
`,
  down: 'DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\nDROP FUNCTION IF EXISTS diesel_set_updated_at();\n',
};

/** The version the format's history table stores for the index-th migration of a set (0-based). */
export function fixtureVersion(format: MigrationFormat, index: number): string {
  if (format === 'golang-migrate') return String(index + 1);
  return `2024010100${String(index + 1).padStart(4, '0')}`;
}

export interface WrittenFixture {
  dir: string;
  format: MigrationFormat;
  /** Versions oldest first, as the history table stores them. */
  versions: string[];
  /** File each migration's down script is in, relative to dir (dbmate: the single file). */
  downFiles: string[];
  migrations: FixtureMigration[];
  /** Index offset: diesel sets start with diesel's initial setup migration (version 00000000000000). */
  withDieselSetup: boolean;
}

export function fileNameOf(
  format: MigrationFormat,
  index: number,
  migration: FixtureMigration,
  setup = false,
): { base: string; down: string; up: string } {
  if (format === 'golang-migrate') {
    const base = `${String(index + 1).padStart(6, '0')}_${migration.name}`;
    return { base, up: `${base}.up.sql`, down: `${base}.down.sql` };
  }
  if (format === 'dbmate') {
    const base = `${fixtureVersion(format, index)}_${migration.name}`;
    return { base, up: `${base}.sql`, down: `${base}.sql` };
  }
  const version = setup ? '00000000000000' : fixtureVersion(format, index);
  const dashed = setup
    ? version
    : `${version.slice(0, 4)}-${version.slice(4, 6)}-${version.slice(6, 8)}-${version.slice(8)}`;
  const base = `${dashed}_${migration.name}`;
  return { base, up: `${base}/up.sql`, down: `${base}/down.sql` };
}

/** Writes one migration in the format's layout (overwriting), e.g. to break or fix a down file. */
export function writeMigration(
  dir: string,
  format: MigrationFormat,
  index: number,
  migration: FixtureMigration,
  setup = false,
): void {
  const names = fileNameOf(format, index, migration, setup);
  if (format === 'dbmate') {
    const down =
      migration.down === undefined
        ? ''
        : `\n-- migrate:down${migration.noTransaction ? ' transaction:false' : ''}\n${migration.down}`;
    writeFileSync(
      path.join(dir, names.up),
      `-- migrate:up${migration.noTransaction ? ' transaction:false' : ''}\n${migration.up}${down}`,
    );
    return;
  }
  if (format === 'diesel') mkdirSync(path.join(dir, names.base), { recursive: true });
  writeFileSync(path.join(dir, names.up), migration.up);
  if (migration.down !== undefined) writeFileSync(path.join(dir, names.down), migration.down);
  if (format === 'diesel' && migration.noTransaction)
    writeFileSync(path.join(dir, names.base, 'metadata.toml'), 'run_in_transaction = false\n');
}

/** Writes a set into a new temp directory, oldest first. Diesel sets get diesel's initial setup migration first. */
export function writeFixture(
  format: MigrationFormat,
  migrations: FixtureMigration[] = FIXTURE_SET,
  options: { dieselSetup?: boolean } = {},
): WrittenFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fixture-${format}-`));
  const withDieselSetup = format === 'diesel' && options.dieselSetup !== false;
  const versions: string[] = [];
  const downFiles: string[] = [];
  if (withDieselSetup) {
    writeMigration(dir, format, -1, DIESEL_INITIAL_SETUP, true);
    versions.push('00000000000000');
    downFiles.push(fileNameOf(format, -1, DIESEL_INITIAL_SETUP, true).down);
  }
  migrations.forEach((migration, index) => {
    writeMigration(dir, format, index, migration);
    versions.push(fixtureVersion(format, index));
    downFiles.push(fileNameOf(format, index, migration).down);
  });
  return {
    dir,
    format,
    versions,
    downFiles,
    migrations: withDieselSetup ? [DIESEL_INITIAL_SETUP, ...migrations] : [...migrations],
    withDieselSetup,
  };
}

/** Rewrites the i-th migration of a written fixture (index into fixture.migrations). */
export function rewriteMigration(fixture: WrittenFixture, position: number, migration: FixtureMigration): void {
  const setup = fixture.withDieselSetup && position === 0;
  const index = fixture.withDieselSetup ? position - 1 : position;
  writeMigration(fixture.dir, fixture.format, index, migration, setup);
  fixture.migrations[position] = migration;
}

export const FORMATS: MigrationFormat[] = ['golang-migrate', 'dbmate', 'diesel'];
