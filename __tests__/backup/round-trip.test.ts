import { generateIdentity } from 'age-encryption';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { leaksOf, runAction } from '../../testkit/action-harness.js';
import { databaseUrl, type TestDatabase } from '../../testkit/database.js';
import { Cleanup, createRichDatabase, rowCountsOf, schemaOf, sequenceValuesOf } from './fixtures.js';
import { READ_TOKEN, startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';

/**
 * Backup, then restore, of a database with every kind of object, through the bundled actions run
 * as the runner runs them, a real PostgreSQL, and the artifact service and REST API stand-ins
 * driven by the real @actions/artifact client: the restored schema and rows are identical.
 */
describe('backup-db then restore-db', () => {
  let source: TestDatabase;
  let standIns: StandIns;
  let schema: string;
  let counts: Record<string, number>;
  let sequences: Record<string, string>;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    [source, standIns] = await Promise.all([createRichDatabase('round_trip'), startStandIns()]);
    [schema, counts, sequences] = await Promise.all([
      schemaOf(source.name),
      rowCountsOf(source.name),
      sequenceValuesOf(source.name),
    ]);
  });
  afterAll(async () => {
    await cleanup.run();
    await source.drop();
    await standIns.stop();
  });

  async function expectIdentical(database: string): Promise<void> {
    expect(await schemaOf(database)).toBe(schema);
    expect(await rowCountsOf(database)).toEqual(counts);
    expect(await sequenceValuesOf(database)).toEqual(sequences);
  }

  it("custom format through this run's artifact: outputs, metadata, summary and an identical restore", async () => {
    const env = standIns.env(1101);
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': source.url, label: 'production', 'app-version': 'v1.2.0', 'retention-days': 5 },
      env,
    });
    expect(backup.errors).toEqual([]);
    expect(backup.exitCode).toBe(0);

    // The checksum output is what sha256sum says about the file.
    const { stdout } = await runProcess('sha256sum', [backup.outputs.path]);
    expect(stdout.split(' ')[0]).toBe(backup.outputs.checksum);
    expect(Number(backup.outputs.size)).toBe(readFileSync(backup.outputs.path).length);
    expect(backup.outputs['schema-version']).toBe('5');
    expect(Number(backup.outputs['duration-ms'])).toBeGreaterThan(0);
    expect(backup.outputs['artifact-name']).toMatch(/^db-backup-production-\d{8}T\d{6}Z-round_trip_[0-9a-f]+$/);

    const metadata = JSON.parse(backup.outputs.metadata);
    expect(JSON.parse(readFileSync(backup.outputs['metadata-path'], 'utf8'))).toEqual(metadata);
    expect(metadata).toMatchObject({
      format: 'custom',
      compression: 'gzip:6',
      label: 'production',
      appVersion: 'v1.2.0',
      database: source.name,
      checksum: { algorithm: 'sha256', value: backup.outputs.checksum },
      size: Number(backup.outputs.size),
      schemaVersion: { tool: 'golang-migrate', version: '5', dirty: false },
      consistentSnapshot: true,
      encryption: null,
      artifact: { name: backup.outputs['artifact-name'], retentionDays: 5 },
      run: { runId: '1101', repository: 'acme/shop' },
    });
    expect(metadata.serverVersion).toMatch(/^\d+\.\d+/);
    expect(metadata.pgDump.major).toBeGreaterThanOrEqual(Number(metadata.serverVersion.split('.')[0]));
    expect(metadata.rowCounts).toEqual(
      Object.fromEntries(Object.entries(counts).filter(([table]) => table !== 'public.measurements')),
    );
    expect(metadata.dumpedTables).toEqual(
      expect.arrayContaining([
        'public.customers',
        'public.orders',
        'audit.events',
        'public.measurements',
        'public.measurements_2025',
      ]),
    );
    expect(metadata.verification.archive).toMatch(/pg_restore --list/);

    // The artifact holds the dump and its metadata, kept for the retention asked for.
    const record = standIns.artifacts.find(backup.outputs['artifact-name'], 1101)!;
    expect(String(record.id)).toBe(backup.outputs['artifact-id']);
    expect(Math.round((record.expiresAt.getTime() - record.createdAt.getTime()) / 86_400_000)).toBe(5);

    // Progress: pg_dump's per-table lines, inside a collapsible group.
    const group = backup.stdout.slice(backup.stdout.indexOf('::group::pg_dump'), backup.stdout.indexOf('::endgroup::'));
    expect(group).toContain('dumping contents of table "public.orders"');

    // The summary says what was backed up and gives the exact restore step.
    expect(backup.summary).toContain(`| SHA-256 | \`${backup.outputs.checksum}\` |`);
    expect(backup.summary).toContain('uses: rollback-actions/rollback-actions/actions/restore-db@v1');
    expect(backup.summary).toContain(`artifact-name: ${backup.outputs['artifact-name']}`);
    expect(backup.summary).toContain(`expected-checksum: ${backup.outputs.checksum}`);
    expect(backup.events.map((event) => event.event)).toEqual(['backup_start', 'backup_complete']);

    // The same run restores it by artifact name, with the checksum from the backup step.
    const restore = await runAction('restore-db', {
      inputs: {
        'database-url': source.url,
        'artifact-name': backup.outputs['artifact-name'],
        'expected-checksum': backup.outputs.checksum,
      },
      env: standIns.env(1101),
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(restore.exitCode).toBe(0);
    expect(restore.outputs.database).toMatch(new RegExp(`^${source.name}_restore_\\d{8}_\\d{6}$`));
    expect(restore.outputs.checksum).toBe(backup.outputs.checksum);
    expect(restore.outputs['schema-version']).toBe('5');
    expect(JSON.parse(restore.outputs['row-counts'])).toEqual(counts);
    expect(JSON.parse(restore.outputs['foreign-keys'])).toEqual({ checked: 1, violations: [] });
    await expectIdentical(restore.outputs.database);
    // The source was not touched.
    expect(await rowCountsOf(source.name)).toEqual(counts);
    expect(restore.summary).toContain('— verified');
    // Nothing downloaded or decrypted outlives the step.
    expect(readdirSync(restore.runnerTemp).filter((name) => name.startsWith('rollback-restore-'))).toEqual([]);
  });

  it('directory format with 2 jobs, encrypted to an age identity, restored from another run with run-id and a token', async () => {
    const key = await generateIdentity();
    const backup = await runAction('backup-db', {
      inputs: {
        'database-url': source.url,
        format: 'directory',
        jobs: 2,
        compression: 'gzip:1',
        'encryption-key': key,
        label: 'staging',
      },
      env: standIns.env(1201),
    });
    expect(backup.errors).toEqual([]);
    expect(leaksOf(backup, key)).toEqual([]);
    const files = readdirSync(backup.outputs.path);
    expect(files).toContain('toc.dat.age');
    expect(files.every((name) => name.endsWith('.age'))).toBe(true);
    // The directory checksum is the sha256sum manifest's, reproducible with coreutils.
    const listing = await runProcess('sh', [
      '-c',
      'cd "$1" && find . -type f -printf "%P\\n" | LC_ALL=C sort | xargs sha256sum | sha256sum',
      'sh',
      backup.outputs.path,
    ]);
    expect(listing.stdout.split(' ')[0]).toBe(backup.outputs.checksum);
    const metadata = JSON.parse(backup.outputs.metadata);
    expect(metadata).toMatchObject({
      format: 'directory',
      jobs: 2,
      compression: 'gzip:1',
      encryption: { algorithm: 'age', kdf: 'X25519', formatVersion: 1 },
    });

    const restore = await runAction('restore-db', {
      inputs: {
        'database-url': source.url,
        'artifact-name': backup.outputs['artifact-name'],
        'run-id': 1201,
        'github-token': READ_TOKEN,
        'encryption-key': key,
      },
      env: standIns.env(1202),
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(leaksOf(restore, key)).toEqual([]);
    expect(leaksOf(restore, READ_TOKEN)).toEqual([]);
    // The other run's artifact came through the REST API: list by name, then the zip redirect.
    const paths = standIns.github.server.requests.map((request) => request.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/repos\/acme\/shop\/actions\/runs\/1201\/artifacts\?name=/),
        `/repos/acme/shop/actions/artifacts/${backup.outputs['artifact-id']}/zip`,
      ]),
    );
    await expectIdentical(restore.outputs.database);
  });

  it('plain SQL, gzip, verified by a restore into a scratch database, restored from its path', async () => {
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': source.url, format: 'plain', compression: 'gzip:9', verify: 'restore', upload: false },
    });
    expect(backup.errors).toEqual([]);
    expect(backup.outputs.path).toMatch(/\.sql\.gz$/);
    expect(backup.outputs['artifact-id']).toBe('');
    const metadata = JSON.parse(backup.outputs.metadata);
    expect(metadata.verification.restore).toMatch(/restored into a scratch database: \d+ table row count\(s\) match/);
    expect(backup.log).toMatch(/Verifying by restoring into the scratch database rbverify_/);
    expect(backup.summary).toContain(`path: ${backup.outputs.path}`);

    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: backup.outputs.path },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    await expectIdentical(restore.outputs.database);
  });

  it('plain SQL compressed with the zstd program, restored by the name of a new database', async () => {
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': source.url, format: 'plain', compression: 'zstd:5', upload: false },
    });
    expect(backup.errors).toEqual([]);
    expect(backup.outputs.path).toMatch(/\.sql\.zst$/);
    expect(JSON.parse(backup.outputs.metadata)).toMatchObject({ compression: 'zstd:5', compressedBy: 'zstd-program' });
    const { stdout } = await runProcess('zstd', ['-dc', backup.outputs.path]);
    expect(stdout).toContain('-- PostgreSQL database dump complete');

    const target = `${source.name}_zstd`;
    cleanup.add(target);
    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: backup.outputs.path, 'target-database': target },
    });
    expect(restore.errors).toEqual([]);
    expect(restore.outputs.database).toBe(target);
    await expectIdentical(target);
  });

  it('only the tables asked for, and a schema-only backup', async () => {
    const tables = await runAction('backup-db', {
      inputs: { 'database-url': source.url, tables: 'public.customers, public.orders', upload: false },
    });
    expect(tables.errors).toEqual([]);
    expect(JSON.parse(tables.outputs.metadata)).toMatchObject({
      dumpedTables: ['public.customers', 'public.orders'],
      rowCounts: { 'public.customers': 150, 'public.orders': 1200 },
    });

    const schemaOnly = await runAction('backup-db', {
      inputs: { 'database-url': source.url, 'schema-only': true, upload: false },
    });
    expect(schemaOnly.errors).toEqual([]);
    expect(JSON.parse(schemaOnly.outputs.metadata)).toMatchObject({
      schemaOnly: true,
      rowCounts: {},
      rowCountsCover: 'none',
    });
    const restore = await runAction('restore-db', {
      inputs: { 'database-url': source.url, path: schemaOnly.outputs.path },
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(await schemaOf(restore.outputs.database)).toBe(schema);
    expect(Object.values(await rowCountsOf(restore.outputs.database)).every((count) => count === 0)).toBe(true);
    // A schema-only dump holds no migration history row: the check compares with what it recorded.
    expect(restore.outputs['schema-version']).toBe('');

    const typo = await runAction('backup-db', {
      inputs: { 'database-url': source.url, tables: 'public.no_such_table', upload: false },
    });
    expect(typo.exitCode).toBe(1);
    expect(typo.errors[0]).toMatch(
      /^Input "tables" has the pattern "public\.no_such_table", which matches no table, view or sequence in database "round_trip_[0-9a-f]+": no matching tables were found/,
    );
    expect(
      existsSync(path.join(typo.runnerTemp, 'rollback-backups'))
        ? readdirSync(path.join(typo.runnerTemp, 'rollback-backups'))
        : [],
    ).toEqual([]);
  });

  it('checks every foreign key row by row, and reports orphans a NOT VALID constraint let in', async () => {
    const legacy = await createRichDatabase('fk_orphans');
    try {
      // A constraint added NOT VALID over old rows that break it: the restore keeps it NOT VALID.
      await legacy.query(`CREATE TABLE refunds (id serial PRIMARY KEY, order_id bigint NOT NULL);
        INSERT INTO refunds (order_id) VALUES (1), (2), (999999), (888888);
        ALTER TABLE refunds ADD CONSTRAINT refunds_order_fk FOREIGN KEY (order_id) REFERENCES orders(id) NOT VALID`);
      const backup = await runAction('backup-db', { inputs: { 'database-url': legacy.url, upload: false } });
      const restore = await runAction('restore-db', {
        inputs: { 'database-url': legacy.url, path: backup.outputs.path },
      });
      cleanup.add(restore.outputs.database);
      // Not a failure (the source has the same rows), but not hidden either.
      expect(restore.errors).toEqual([]);
      expect(JSON.parse(restore.outputs['foreign-keys'])).toEqual({
        checked: 2,
        violations: [{ constraint: 'refunds_order_fk', table: 'public.refunds', rows: 2 }],
      });
      expect(restore.summary).toContain('| Foreign keys | 2 checked, 1 with orphan rows |');
    } finally {
      await legacy.drop();
    }
  });

  it('restores with no-owner into a database reached through PG* variables', async () => {
    const backup = await runAction('backup-db', { inputs: { 'database-url': source.url, upload: false } });
    const url = new URL(databaseUrl(source.name));
    const target = `${source.name}_pgenv`;
    cleanup.add(target);
    const restore = await runAction('restore-db', {
      inputs: { path: backup.outputs.path, 'target-database': target, 'no-owner': true },
      env: {
        PGHOST: url.hostname,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
        PGDATABASE: source.name,
      },
    });
    expect(restore.errors).toEqual([]);
    expect(leaksOf(restore, decodeURIComponent(url.password))).toEqual([]);
    expect(await rowCountsOf(target)).toEqual(counts);
  });
});
