import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, runProcess } from '../../shared/process.js';
import { leaksOf, REPO_ROOT, runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, pgBin, type TestDatabase } from '../../testkit/database.js';
import { Cleanup, createRichDatabase, rowCountsOf, schemaOf } from './fixtures.js';

/**
 * Backups open without this suite: Debian's `age` CLI decrypts what backup-db wrote and pg_restore
 * (or psql) restores it, with the README's recovery commands; `age`-encrypted dumps made by hand
 * restore through restore-db; and backups in the earlier AES-256-GCM format still restore.
 */
describe('age-encrypted backups, opened with the age CLI', () => {
  let source: TestDatabase;
  let schema: string;
  let counts: Record<string, number>;
  const work = mkdtempSync(path.join(os.tmpdir(), 'age-recovery-'));
  const keyFile = path.join(work, 'key.txt');
  const cleanup = new Cleanup();
  // The recovery commands run in bash with the PostgreSQL client programs and age on PATH, as on an operator's machine.
  const shellEnv = { PATH: `${path.dirname(pgBin('pg_restore'))}:${process.env.PATH}` };
  const bash = (script: string, env: Record<string, string> = {}) =>
    runProcess('bash', ['-euo', 'pipefail', '-c', script], { cwd: work, env: { ...shellEnv, ...env } });

  beforeAll(async () => {
    if (!findExecutable('age') || !findExecutable('age-keygen'))
      throw new Error('the age CLI is missing: run ./scripts/setup-test-env.sh (Debian package "age")');
    source = await createRichDatabase('age_src');
    [schema, counts] = await Promise.all([schemaOf(source.name), rowCountsOf(source.name)]);
    await runProcess('age-keygen', ['-o', keyFile]);
  });
  afterAll(async () => {
    await cleanup.run();
    await source.drop();
    rmSync(work, { recursive: true, force: true });
  });

  async function freshDatabase(prefix: string): Promise<TestDatabase> {
    const target = await createTestDatabase(prefix);
    cleanup.add(target.name);
    return target;
  }

  async function backup(inputs: Record<string, string>) {
    const result = await runAction('backup-db', {
      inputs: { 'database-url': source.url, upload: false, 'output-dir': path.join(work, 'backups'), ...inputs },
    });
    expect(result.errors).toEqual([]);
    return result;
  }

  it.each([
    ['the identity file age-keygen wrote', () => readFileSync(keyFile, 'utf8')],
    ['only its public key (age1...)', () => runProcess('age-keygen', ['-y', keyFile]).then((result) => result.stdout)],
  ])(
    'custom format encrypted with %s: `age -d -i key.txt backup.dump.age | pg_restore` restores it',
    async (_kind, keyOf) => {
      const key = await keyOf();
      const result = await backup({ 'encryption-key': key });
      expect(result.outputs.path).toMatch(/\.dump\.age$/);
      expect(readFileSync(result.outputs.path).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
      expect(JSON.parse(result.outputs.metadata).encryption).toEqual({
        algorithm: 'age',
        formatVersion: 1,
        kdf: 'X25519',
      });
      // The checksum the metadata records is what sha256sum says about the encrypted file.
      const { stdout } = await runProcess('sha256sum', [result.outputs.path]);
      expect(JSON.parse(readFileSync(result.outputs['metadata-path'], 'utf8')).checksum.value).toBe(
        stdout.split(' ')[0],
      );
      expect(leaksOf(result, key.trim().split('\n').at(-1)!)).toEqual([]);

      const target = await freshDatabase('age_custom');
      await bash('age -d -i key.txt "$BACKUP" | pg_restore --no-owner --exit-on-error -d "$TARGET"', {
        BACKUP: result.outputs.path,
        TARGET: target.url,
      });
      expect(await schemaOf(target.name)).toBe(schema);
      expect(await rowCountsOf(target.name)).toEqual(counts);
    },
  );

  it('custom format with a passphrase: `age -d` asks for it on the terminal', async () => {
    const passphrase = 'correct horse battery staple 42';
    const result = await backup({ 'encryption-key': passphrase });
    expect(JSON.parse(result.outputs.metadata).encryption.kdf).toBe('scrypt');
    const target = await freshDatabase('age_passphrase');
    // age reads a passphrase from the terminal only: `script` gives it one, and types the passphrase.
    await bash(
      'sleep 1; printf "%s\\n" "$PASSPHRASE" | script -qec "age -d -o plain.dump \\"$BACKUP\\"" /dev/null >/dev/null; pg_restore --no-owner --exit-on-error -d "$TARGET" plain.dump',
      {
        PASSPHRASE: passphrase,
        BACKUP: result.outputs.path,
        TARGET: target.url,
      },
    );
    expect(await rowCountsOf(target.name)).toEqual(counts);
  }, 120_000);

  it('directory format: each file decrypted with age, then pg_restore --jobs', async () => {
    const result = await backup({ 'encryption-key': readFileSync(keyFile, 'utf8'), format: 'directory', jobs: '2' });
    expect(readdirSync(result.outputs.path).every((name) => name.endsWith('.age'))).toBe(true);
    const target = await freshDatabase('age_directory');
    await bash(
      'mkdir plain.dir && for f in "$BACKUP"/*.age; do age -d -i key.txt -o "plain.dir/$(basename "${f%.age}")" "$f"; done && pg_restore --no-owner --exit-on-error --jobs 2 -d "$TARGET" plain.dir',
      {
        BACKUP: result.outputs.path,
        TARGET: target.url,
      },
    );
    expect(await rowCountsOf(target.name)).toEqual(counts);
  });

  it('plain SQL, gzip: `age -d -i key.txt backup.sql.gz.age | gunzip | psql`', async () => {
    const result = await backup({
      'encryption-key': readFileSync(keyFile, 'utf8'),
      format: 'plain',
      compression: 'gzip:6',
    });
    expect(result.outputs.path).toMatch(/\.sql\.gz\.age$/);
    const target = await freshDatabase('age_plain');
    // pg_dump writes a \restrict line into plain dumps that only its own psql understands: psql from the same bin dir.
    await bash('age -d -i key.txt "$BACKUP" | gunzip | psql -q -v ON_ERROR_STOP=1 -d "$TARGET" >/dev/null', {
      BACKUP: result.outputs.path,
      TARGET: target.url,
    });
    expect(await rowCountsOf(target.name)).toEqual(counts);
  });

  it('restore-db restores a dump a person encrypted with the age CLI (`pg_dump -Fc | age -r ...`)', async () => {
    const file = path.join(work, 'by-hand.dump.age');
    await bash('pg_dump -Fc -d "$SOURCE" | age -r "$(age-keygen -y key.txt)" -o "$FILE"', {
      SOURCE: source.url,
      FILE: file,
    });
    const { stdout } = await runProcess('sha256sum', [file]);
    const restore = await runAction('restore-db', {
      inputs: {
        'database-url': source.url,
        path: file,
        'expected-checksum': stdout.split(' ')[0],
        'encryption-key': readFileSync(keyFile, 'utf8'),
      },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(await rowCountsOf(restore.outputs.database)).toEqual(counts);
  });

  it.each([
    ['custom', 'db-backup-production-20250301T040000Z-shop.dump.enc'],
    ['directory', 'db-backup-production-20250301T040100Z-shop.dir'],
  ])('a %s backup in the earlier AES-256-GCM format still restores with restore-db', async (_format, name) => {
    const copy = path.join(work, 'legacy', name);
    cpSync(path.join(REPO_ROOT, '__tests__', 'fixtures', 'backups', 'aes-gcm-v1'), path.dirname(copy), {
      recursive: true,
    });
    const metadata = JSON.parse(readFileSync(`${copy}.metadata.json`, 'utf8'));
    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: copy, 'encryption-key': 'legacy-aes-gcm-backup-key-0123456789' },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    // restore-db compared the restored rows with the counts the old backup recorded (every table's; the row-counts output adds the partitioned parent).
    expect(JSON.parse(restore.outputs['row-counts'])).toMatchObject(metadata.rowCounts);
    expect(Object.keys(metadata.rowCounts)).toHaveLength(7);
    expect(restore.outputs['schema-version']).toBe('5');
  });

  it('a wrong kind of key gets a hint that says which kind the backup needs', async () => {
    const result = await backup({ 'encryption-key': readFileSync(keyFile, 'utf8') });
    const restore = await runAction('restore-db', {
      inputs: {
        'database-url': source.url,
        path: result.outputs.path,
        'encryption-key': 'a passphrase that was never used',
      },
    });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toMatch(
      /^The encryption-key does not match the key this backup was encrypted with\.[\s\S]*encrypted to an age recipient \(X25519\): pass its identity/,
    );
  });
});
