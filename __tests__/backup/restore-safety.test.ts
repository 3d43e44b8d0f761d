import { generateIdentity } from 'age-encryption';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaksOf, runAction, type ActionResult } from '../../testkit/action-harness.js';
import { withAdmin, type TestDatabase } from '../../testkit/database.js';
import { Cleanup, createRichDatabase, databaseNames, rowCountsOf, schemaOf } from './fixtures.js';
import { startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';

/**
 * restore-db never makes things worse: it verifies the checksum and the key before it touches a
 * database, replaces only when told to and only after its own safety backup, and fails when the
 * restored database does not match what the backup recorded.
 */
describe('restore-db safety', () => {
  let source: TestDatabase;
  let standIns: StandIns;
  let backup: ActionResult;
  let encrypted: ActionResult;
  let counts: Record<string, number>;
  // An age identity: passphrases cost an scrypt (2^18) per file and per check; encryption.test.ts and age-encryption.test.ts cover them.
  let key: string;
  const cleanup = new Cleanup();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'restore-safety-'));

  beforeAll(async () => {
    key = await generateIdentity();
    [source, standIns] = await Promise.all([createRichDatabase('safety'), startStandIns()]);
    counts = await rowCountsOf(source.name);
    [backup, encrypted] = await Promise.all([
      runAction('backup-db', { inputs: { 'database-url': source.url, label: 'production' }, env: standIns.env(1301) }),
      runAction('backup-db', { inputs: { 'database-url': source.url, upload: false, 'encryption-key': key } }),
    ]);
    expect([backup.errors, encrypted.errors]).toEqual([[], []]);
  });
  afterAll(async () => {
    await cleanup.run();
    await source.drop();
    await standIns.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A copy of a backup and its metadata, to damage without spoiling the original. */
  function copyOf(result: ActionResult, name: string): string {
    const dir = mkdtempSync(path.join(scratch, `${name}-`));
    const target = path.join(dir, path.basename(result.outputs.path));
    copyFileSync(result.outputs.path, target);
    copyFileSync(result.outputs['metadata-path'], `${target}.metadata.json`);
    return target;
  }

  function flipByte(file: string, offset: number): void {
    const bytes = readFileSync(file);
    bytes[offset] ^= 0x01;
    writeFileSync(file, bytes);
  }

  it('a one-byte corruption fails before anything is changed, in either mode', async () => {
    const damaged = copyOf(backup, 'corrupt');
    flipByte(damaged, Math.floor(readFileSync(damaged).length / 2));
    const before = await databaseNames(source.name);

    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: damaged, 'target-database': `${source.name}_never` },
    });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toMatch(
      /^Checksum mismatch: .* has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\. The backup was damaged or modified after it was taken\. Nothing was restored\./,
    );
    expect(await databaseNames(source.name)).toEqual(before);

    const replace = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: damaged, mode: 'replace' },
    });
    expect(replace.exitCode).toBe(1);
    expect(replace.errors[0]).toMatch(/^Checksum mismatch/);
    expect(replace.outputs['safety-backup-path']).toBeUndefined();
    expect(existsSync(path.join(replace.runnerTemp, 'rollback-backups'))).toBe(false);
    expect(await rowCountsOf(source.name)).toEqual(counts);
  });

  it('a checksum from the backup step outranks metadata someone rewrote to match a changed file', async () => {
    const damaged = copyOf(backup, 'rewritten');
    flipByte(damaged, 100);
    const metadataFile = `${damaged}.metadata.json`;
    const metadata = JSON.parse(readFileSync(metadataFile, 'utf8'));
    const { createHash } = await import('node:crypto');
    metadata.checksum.value = createHash('sha256').update(readFileSync(damaged)).digest('hex');
    writeFileSync(metadataFile, JSON.stringify(metadata));
    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: damaged, 'expected-checksum': backup.outputs.checksum },
    });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toMatch(
      /Input "expected-checksum" is [0-9a-f]{64}, but the backup's metadata records [0-9a-f]{64}.*Nothing was restored/,
    );
  });

  it('a directory backup names the damaged file', async () => {
    const dir = await runAction('backup-db', {
      inputs: { 'database-url': source.url, format: 'directory', upload: false },
    });
    const data = readdirSync(dir.outputs.path).find((name) => name.endsWith('.dat.gz'))!;
    flipByte(path.join(dir.outputs.path, data), 20);
    const restore = await runAction('restore-db', { inputs: { 'database-url': source.url, path: dir.outputs.path } });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toContain(`${data} has SHA-256`);
  });

  it('restores an encrypted backup only with its key, and says so when the key is wrong or missing', async () => {
    const before = await databaseNames(source.name);
    const otherKey = await generateIdentity();
    const wrong = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: encrypted.outputs.path, 'encryption-key': otherKey },
    });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.errors[0]).toMatch(/^The encryption-key does not match the key this backup was encrypted with\./);
    expect(leaksOf(wrong, otherKey)).toEqual([]);

    const missing = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: encrypted.outputs.path },
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toBe(
      'Input "encryption-key" is required: this backup is encrypted. Nothing was restored.',
    );
    expect(await databaseNames(source.name)).toEqual(before);

    // Ciphertext changed by someone who also fixed the checksum: authentication still catches it.
    const forged = copyOf(encrypted, 'forged');
    flipByte(forged, 200);
    const metadata = JSON.parse(readFileSync(`${forged}.metadata.json`, 'utf8'));
    const { createHash } = await import('node:crypto');
    metadata.checksum.value = createHash('sha256').update(readFileSync(forged)).digest('hex');
    writeFileSync(`${forged}.metadata.json`, JSON.stringify(metadata));
    const tampered = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: forged, 'encryption-key': key },
    });
    expect(tampered.exitCode).toBe(1);
    expect(tampered.errors[0]).toMatch(
      /failed authentication in chunk 0 .*damaged, truncated or modified after it was encrypted/,
    );
    expect(await databaseNames(source.name)).toEqual(before);

    const right = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: encrypted.outputs.path, 'encryption-key': key },
    });
    cleanup.add(right.outputs.database);
    expect(right.errors).toEqual([]);
    expect(await rowCountsOf(right.outputs.database)).toEqual(counts);
  });

  it('replace: safety backup first (uploaded), then the database is back to the backup, leftovers named', async () => {
    const victim = await createRichDatabase('replace');
    try {
      const original = await runAction('backup-db', {
        inputs: { 'database-url': victim.url, label: 'production' },
        env: standIns.env(1401),
      });
      expect(original.errors).toEqual([]);
      const originalSchema = await schemaOf(victim.name);
      const originalCounts = await rowCountsOf(victim.name);
      // A bad release: migration 6 adds a table, rows are lost and changed.
      await victim.query(`CREATE TABLE feature_flags (name text PRIMARY KEY); INSERT INTO feature_flags VALUES ('new-checkout');
        UPDATE schema_migrations SET version = 6; DELETE FROM orders WHERE id % 3 = 0; UPDATE customers SET name = 'overwritten'`);
      const damagedCounts = await rowCountsOf(victim.name);

      const restore = await runAction('restore-db', {
        inputs: { 'database-url': victim.url, 'artifact-name': original.outputs['artifact-name'], mode: 'replace' },
        env: standIns.env(1401),
      });
      expect(restore.errors).toEqual([]);
      expect(restore.outputs.database).toBe(victim.name);
      expect(restore.outputs['schema-version']).toBe('5');
      expect(JSON.parse(restore.outputs['row-counts'])).toEqual({ ...originalCounts, 'public.feature_flags': 1 });
      expect(
        (await victim.query<{ n: string }>("SELECT count(*) AS n FROM customers WHERE name = 'overwritten'")).rows[0].n,
      ).toBe('0');
      expect(restore.warnings.join('\n')).toContain(
        'not in the backup and were left in place (pg_restore --clean only drops what the backup holds): public.feature_flags',
      );
      await victim.query('DROP TABLE feature_flags');
      expect(await schemaOf(victim.name)).toBe(originalSchema);

      // The safety backup holds the state just before the replace, and is itself a restorable backup.
      const safetyPath = restore.outputs['safety-backup-path'];
      expect(safetyPath).toMatch(/db-safety-backup-replace_[0-9a-f]+-\d{8}T\d{6}Z\.dump$/);
      expect(standIns.artifacts.find(restore.outputs['safety-backup-artifact-name'], 1401)).toBeDefined();
      expect(JSON.parse(readFileSync(`${safetyPath}.metadata.json`, 'utf8'))).toMatchObject({
        kind: 'safety-backup',
        compression: 'gzip:1',
        schemaVersion: { version: '6' },
      });
      const before = await runAction('restore-db', { inputs: { 'database-url': victim.url, path: safetyPath } });
      cleanup.add(before.outputs.database);
      expect(before.errors).toEqual([]);
      expect(await rowCountsOf(before.outputs.database)).toEqual(damagedCounts);
      expect(restore.summary).toContain(`| Safety backup | ${safetyPath}`);
    } finally {
      await victim.drop();
    }
  });

  it('replace without a safety backup only when told, and says so', async () => {
    const victim = await createRichDatabase('nosafety');
    try {
      const original = await runAction('backup-db', { inputs: { 'database-url': victim.url, upload: false } });
      await victim.query('DELETE FROM orders');
      const restore = await runAction('restore-db', {
        inputs: { 'database-url': victim.url, path: original.outputs.path, mode: 'replace', 'safety-backup': false },
      });
      expect(restore.errors).toEqual([]);
      expect(restore.warnings).toContain(
        `safety-backup is false: ${victim.name} is replaced without a backup of its current state.`,
      );
      expect(restore.outputs['safety-backup-path']).toBe('');
      expect((await rowCountsOf(victim.name))['public.orders']).toBe(1200);
    } finally {
      await victim.drop();
    }
  });

  it('new-database with swap: the verified restore takes the name, the original is kept renamed', async () => {
    const victim = await createRichDatabase('swap');
    cleanup.add(victim.name);
    const original = await runAction('backup-db', { inputs: { 'database-url': victim.url, upload: false } });
    await victim.query('DELETE FROM orders WHERE id > 100');
    const restore = await runAction('restore-db', {
      inputs: { 'database-url': victim.url, path: original.outputs.path, swap: true },
    });
    cleanup.add(restore.outputs['previous-database']);
    expect(restore.errors).toEqual([]);
    expect(restore.outputs.database).toBe(victim.name);
    expect(restore.outputs['previous-database']).toMatch(new RegExp(`^${victim.name}_before_restore_\\d{8}t\\d{6}z$`));
    expect((await rowCountsOf(victim.name))['public.orders']).toBe(1200);
    expect((await rowCountsOf(restore.outputs['previous-database']))['public.orders']).toBe(100);
  });

  it('fails when the restored database does not match what the backup recorded', async () => {
    const edited = copyOf(backup, 'mismatch');
    const metadata = JSON.parse(readFileSync(`${edited}.metadata.json`, 'utf8'));
    metadata.rowCounts['public.orders'] = 1199;
    metadata.schemaVersion.version = '4';
    writeFileSync(`${edited}.metadata.json`, JSON.stringify(metadata));
    const restore = await runAction('restore-db', { inputs: { 'database-url': source.url, path: edited } });
    cleanup.add(restore.outputs.database);
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toContain(`The restored database ${restore.outputs.database} does not match the backup:`);
    expect(restore.errors[0]).toContain('public.orders: 1200 rows, the backup has 1199');
    expect(restore.errors[0]).toContain('migration version 5, the backup has 4');
    expect(restore.errors[0]).toContain('is kept for inspection');
    expect(restore.summary).toContain('does NOT match the backup');
    expect(restore.events.map((event) => event.event)).toEqual(['restore_start', 'restore_failed']);
  });

  it('restores a bare dump only against an expected checksum', async () => {
    const bare = copyOf(backup, 'bare');
    rmSync(`${bare}.metadata.json`);
    const refused = await runAction('restore-db', { inputs: { 'database-url': source.url, path: bare } });
    expect(refused.exitCode).toBe(1);
    expect(refused.errors[0]).toMatch(
      /has no metadata next to it and no expected-checksum was given: restore-db only restores a backup it can verify/,
    );
    const restore = await runAction('restore-db', {
      inputs: {
        'database-url': source.url,
        path: bare,
        'expected-checksum': `sha256:${backup.outputs.checksum.toUpperCase()}`,
      },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(await rowCountsOf(restore.outputs.database)).toEqual(counts);
  });

  it('checks the target before downloading anything', async () => {
    const exists = await runAction('restore-db', {
      inputs: { 'database-url': source.url, 'artifact-name': 'whatever', 'target-database': source.name },
      env: standIns.env(1301),
    });
    expect(exists.exitCode).toBe(1);
    expect(exists.errors[0]).toBe(
      `Input "target-database" would restore into "${source.name}", which already exists; restore-db only restores into a new database unless mode is "replace".`,
    );
    expect(
      standIns.artifacts.calls.filter(
        (call) => call.method === 'ListArtifacts' && JSON.stringify(call.body).includes('whatever'),
      ),
    ).toEqual([]);

    const notFound = await runAction('restore-db', {
      inputs: { 'database-url': source.url, 'artifact-name': 'no-such-backup' },
      env: standIns.env(1301),
    });
    expect(notFound.exitCode).toBe(1);
    expect(notFound.errors[0]).toMatch(/^No artifact named "no-such-backup" was found in this workflow run/);
  });

  it('a default name already taken (a restore in the same second) gets a suffix instead of failing', async () => {
    // The default name carries the UTC second the run starts in: take the next few seconds' names.
    const start = Date.now();
    const taken = Array.from({ length: 6 }, (_, second) => {
      const stamp = new Date(start + second * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, '')
        .replace(/[-:]/g, '')
        .replace('T', '_');
      return `${source.name}_restore_${stamp}`;
    });
    await withAdmin(async (client) => {
      for (const name of taken) await client.query(`CREATE DATABASE "${name}"`);
    });
    taken.forEach((name) => cleanup.add(name));

    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: backup.outputs.path },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(taken.map((name) => `${name}_2`)).toContain(restore.outputs.database);
    expect(await rowCountsOf(restore.outputs.database)).toEqual(counts);
  });
});
