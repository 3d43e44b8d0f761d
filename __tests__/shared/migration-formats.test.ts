import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasStatements, loadMigrations } from '../../shared/migrations/formats.js';
import { directorySource } from '../../shared/migrations/sources.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('migration layouts', () => {
  it('reads golang-migrate pairs, numbering versions as golang-migrate does', async () => {
    const dir = tree({
      '0002_b.up.sql': 'B',
      '0002_b.down.sql': 'b',
      '0010_c.up.sql': 'C',
      '0001_a.up.sql': 'A',
      '0001_a.down.sql': 'a',
      'README.md': 'x',
    });
    const migrations = await loadMigrations(directorySource(dir), 'golang-migrate');
    expect(
      migrations.map((migration) => [migration.version, migration.name, migration.up?.sql, migration.down?.sql]),
    ).toEqual([
      ['1', 'a', 'A', 'a'],
      ['2', 'b', 'B', 'b'],
      ['10', 'c', 'C', undefined],
    ]);
  });

  it('splits dbmate files into sections with their transaction option', async () => {
    const dir = tree({
      '20240101000000_users.sql': '-- migrate:up\nCREATE TABLE u();\n\n-- migrate:down\nDROP TABLE u;\n',
      '20240201000000_index.sql':
        '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON u(x);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n',
    });
    const [users, index] = await loadMigrations(directorySource(dir), 'dbmate');
    expect(users).toMatchObject({
      version: '20240101000000',
      name: 'users',
      up: { sql: 'CREATE TABLE u();\n\n', transactional: true },
      down: { sql: 'DROP TABLE u;\n' },
    });
    expect(index.down).toMatchObject({ transactional: false, sql: 'DROP INDEX CONCURRENTLY i;\n' });
  });

  it('reads diesel directories with dashes dropped from versions and metadata.toml honoured', async () => {
    const dir = tree({
      '2024-01-01-000000_create_users/up.sql': 'CREATE TABLE users();',
      '2024-01-01-000000_create_users/down.sql': 'DROP TABLE users;',
      '2024-02-01-000000_concurrent/up.sql': 'CREATE INDEX CONCURRENTLY x ON users(id);',
      '2024-02-01-000000_concurrent/down.sql': '-- nothing to undo\n',
      '2024-02-01-000000_concurrent/metadata.toml': 'run_in_transaction = false\n',
    });
    const migrations = await loadMigrations(directorySource(dir), 'diesel');
    expect(migrations.map((migration) => [migration.version, migration.name, migration.down?.transactional])).toEqual([
      ['20240101000000', 'create_users', true],
      ['20240201000000', 'concurrent', false],
    ]);
    expect(hasStatements(migrations[1].down)).toBe(false);
    expect(hasStatements(migrations[0].down)).toBe(true);
  });

  it('names a missing directory', async () => {
    await expect(loadMigrations(directorySource('/nonexistent/db/migrations'), 'golang-migrate')).rejects.toThrow(
      'Migrations directory "/nonexistent/db/migrations" does not exist',
    );
  });
});
