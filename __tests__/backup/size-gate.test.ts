import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';

/**
 * The size gate before pg_dump: a real small file system (a 4 MiB tmpfs) as output-dir, and the
 * artifact service stand-in for the artifact limit. A database whose data does not fit is refused
 * before anything is dumped or uploaded, with method "pgbackrest" named as the way that works.
 */
describe('backup-db size gate', () => {
  let db: TestDatabase;
  let standIns: StandIns;
  const root = mkdtempSync(path.join(os.tmpdir(), 'size-gate-'));
  const small = path.join(root, 'small');

  beforeAll(async () => {
    mkdirSync(small);
    await runProcess('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    [db, standIns] = await Promise.all([createTestDatabase('size_gate'), startStandIns()]);
    // About 12 MiB of table data that compresses about 100:1.
    await db.query(
      "CREATE TABLE documents (id int PRIMARY KEY, body text NOT NULL); ALTER TABLE documents ALTER body SET STORAGE EXTERNAL; INSERT INTO documents SELECT g, repeat('lorem ipsum ', 200) FROM generate_series(1, 5000) g",
    );
  });
  afterAll(async () => {
    await runProcess('umount', [small]).catch(() => undefined);
    await db?.drop();
    await standIns?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('stops before dumping when the data is larger than the free space of output-dir, naming method pgbackrest', async () => {
    const result = await runAction('backup-db', {
      inputs: { 'database-url': db.url, upload: false, 'output-dir': small },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      new RegExp(
        `^Stopped before dumping: the 1 table\\(s\\) to dump hold 1\\d\\.\\d+ MiB of data \\(heap and TOAST, what pg_dump reads\\), more than the 4\\.00 MiB free in ${small}; the dump could fill the disk part-way\\.\\nHint: Alternatives: method "pgbackrest"`,
      ),
    );
    expect(result.stdout).not.toContain('::group::pg_dump');
    expect(readdirSync(small)).toEqual([]);
  });

  it('stops before dumping when the data is larger than artifact-size-limit, uploading nothing', async () => {
    const result = await runAction('backup-db', {
      inputs: { 'database-url': db.url, 'artifact-size-limit': '5MB', 'output-dir': path.join(root, 'upload') },
      env: standIns.env(1701),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /^Stopped before dumping: .*, more than the artifact-size-limit of 4\.77 MiB; the upload would be refused by the artifact storage quota\.\nHint: Alternatives: method "pgbackrest"/,
    );
    expect(standIns.artifacts.calls.filter((call) => call.method === 'CreateArtifact')).toEqual([]);
  });

  it('lets a dump that fits through, logging what it compared; size-gate false lets a compressible one try', async () => {
    const fits = await runAction('backup-db', {
      inputs: { 'database-url': db.url, upload: false, 'output-dir': path.join(root, 'roomy') },
    });
    expect(fits.errors).toEqual([]);
    expect(fits.log).toMatch(/Size gate: 1\d\.\d+ MiB of table data to dump; [\d.]+ [GT]iB free in /);

    const forced = await runAction('backup-db', {
      inputs: { 'database-url': db.url, upload: false, 'output-dir': small, 'size-gate': false },
    });
    expect(forced.errors).toEqual([]);
    expect(Number(forced.outputs.size)).toBeLessThan(1024 * 1024);
  });

  it('names the input when artifact-size-limit is not a size', async () => {
    const result = await runAction('backup-db', { inputs: { 'database-url': db.url, 'artifact-size-limit': 'lots' } });
    expect(result.errors).toEqual([
      'Input "artifact-size-limit" must be a size such as 500MB, 2GB or 10GiB, or "none"; got "lots".',
    ]);
  });
});
