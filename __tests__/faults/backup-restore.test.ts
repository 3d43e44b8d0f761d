import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeBytes } from '../../shared/backup/disk-space.js';
import { runProcess } from '../../shared/process.js';
import { runAction, startAction, type ActionResult } from '../../testkit/action-harness.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../../testkit/database.js';
import { locksOn, msUntil, processesWith, runningStatements, sessionsOn, until } from './support.js';

/**
 * backup-db and restore-db under faults: the job cancelled while pg_dump or pg_restore runs, a
 * disk that fills up (a real tmpfs), an output-dir that already exists. Afterwards: no program
 * still running, no session or lock, no file that could pass for a backup, the space back.
 */
let big: TestDatabase;
const created: TestDatabase[] = [];
const mounts: string[] = [];
const BIG_ROWS = 400_000;

beforeAll(async () => {
  // Big enough that pg_dump and pg_restore take a few seconds to copy it.
  big = await createTestDatabase('faults_big');
  created.push(big);
  await big.query(`CREATE TABLE big (id bigint PRIMARY KEY, a text NOT NULL, b text NOT NULL);
    INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text), md5((g * 13)::text) FROM generate_series(1, ${BIG_ROWS}) g;`);
});

afterAll(async () => {
  for (const dir of mounts)
    await runProcess('umount', [dir], { okExitCodes: [0, 32] }).then(
      () => rmdirSync(dir),
      () => undefined,
    );
  await Promise.all(created.map((db) => db.drop()));
});

/** A tmpfs of `bytes` mounted for this test file (we run as root), unmounted at the end. */
async function smallDisk(bytes: number): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faults-tmpfs-'));
  await runProcess('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function expectNoBackupLeft(dir: string): void {
  expect(readdirSync(dir)).toEqual([]);
  expect(processesWith(dir)).toEqual([]);
}

const nothingLeft = (db: TestDatabase) => async () =>
  (await sessionsOn(db.name)).length === 0 && (await locksOn(db.name)).length === 0;

describe('backup-db cancelled while pg_dump runs', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s: pg_dump stopped, its session gone within 5 s, no dump without metadata, a summary',
    async (signal, exitCode) => {
      const outputDir = mkdtempSync(path.join(os.tmpdir(), 'faults-backup-'));
      const step = startAction('backup-db', {
        inputs: { 'database-url': big.url, upload: false, compression: 'gzip:9', 'output-dir': outputDir },
      });
      await until(
        'pg_dump copies the table',
        async () => (await runningStatements(big, /^COPY public\.big/)).length > 0 && readdirSync(outputDir).length > 0,
      );
      expect(processesWith(outputDir).length).toBeGreaterThan(0);

      const sentAt = Date.now();
      step.signal(signal);
      const result = await step.result;
      const goneMs = await msUntil('sessions and locks gone', nothingLeft(big), 5000, sentAt);
      console.log(
        `backup-db ${signal} during pg_dump: step exited after ${result.durationMs} ms in all; sessions and locks gone ${goneMs} ms after the signal`,
      );

      expect(result.exitCode).toBe(exitCode);
      expectNoBackupLeft(outputDir);
      expect(result.errors[0]).toContain(
        `Cancelled by ${signal} (the job was cancelled or timed out). pg_dump was stopped because the step was cancelled.`,
      );
      expect(result.summary).toContain(`## backup-db cancelled (${signal})`);
      expect(result.summary).toMatch(/- stopped pg_dump \(pid \d+\) with SIGTERM/);
      expect(result.summary).toMatch(/- removed the partial .*\.dump/);
      expect(result.summary).toContain('**Done before it stopped:**');
      expect(result.outputs.checksum).toBeUndefined();
    },
  );
});

describe('backup-db cancelled while it verifies by restoring', () => {
  it('SIGTERM during verify: restore: pg_restore stopped, the scratch database dropped, no dump left', async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'faults-verify-'));
    const step = startAction('backup-db', {
      inputs: {
        'database-url': big.url,
        upload: false,
        compression: 'gzip:1',
        verify: 'restore',
        'output-dir': outputDir,
      },
    });
    let scratch = '';
    await until('pg_restore fills the scratch database', async () => {
      const copying = await withAdmin((client) =>
        client.query<{ datname: string }>(
          "SELECT datname FROM pg_stat_activity WHERE datname LIKE $1 AND state = 'active' AND query LIKE 'COPY public.big%'",
          [`rbverify_${big.name}%`],
        ),
      );
      scratch = copying.rows[0]?.datname ?? '';
      return scratch !== '';
    });
    step.signal('SIGTERM');
    const result = await step.result;
    expect(result.exitCode).toBe(143);
    const { rows } = await withAdmin((client) =>
      client.query('SELECT 1 FROM pg_database WHERE datname = $1', [scratch]),
    );
    expect(rows).toEqual([]);
    expectNoBackupLeft(outputDir);
    expect(result.summary).toMatch(/- stopped pg_restore \(pid \d+\) with SIGTERM/);
    expect(result.summary).toContain(`- dropped the scratch database ${scratch}`);
  });
});

describe('restore-db cancelled while pg_restore runs', () => {
  let backup: ActionResult;
  beforeAll(async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'faults-restore-src-'));
    backup = await runAction('backup-db', {
      inputs: {
        'database-url': big.url,
        upload: false,
        compression: 'gzip:1',
        'output-dir': outputDir,
        'encryption-key': 'faults-restore-key-0123456789',
      },
    });
    expect(backup.exitCode).toBe(0);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during a replace: pg_restore stopped, the transaction rolled back (the database as it was), no session, lock or decrypted file left',
    async (signal, exitCode) => {
      const step = startAction('restore-db', {
        inputs: {
          'database-url': big.url,
          path: backup.outputs.path,
          mode: 'replace',
          'safety-backup': false,
          'encryption-key': 'faults-restore-key-0123456789',
        },
      });
      await until(
        'pg_restore copies the table',
        async () => (await runningStatements(big, /^COPY public\.big/)).length > 0,
      );
      const sentAt = Date.now();
      step.signal(signal);
      const result = await step.result;
      const goneMs = await msUntil('sessions and locks gone', nothingLeft(big), 5000, sentAt);
      console.log(`restore-db ${signal} during pg_restore: sessions and locks gone ${goneMs} ms after the signal`);

      expect(result.exitCode).toBe(exitCode);
      expect(processesWith(backup.outputs.path)).toEqual([]);
      const { rows } = await big.query<{ n: string }>('SELECT count(*) AS n FROM big');
      expect(Number(rows[0].n)).toBe(BIG_ROWS);
      // The decrypted copy lived in the step's work directory, which is gone.
      expect(readdirSync(step.runnerTemp).filter((name) => name.startsWith('rollback-restore-'))).toEqual([]);
      expect(result.errors[0]).toContain(`Cancelled by ${signal}`);
      expect(result.errors[0]).toContain(
        `The restore into ${big.name} was stopped, and was rolled back (it runs in one transaction).`,
      );
      expect(result.summary).toContain(`## restore-db cancelled (${signal})`);
      expect(result.summary).toMatch(/- stopped pg_restore \(pid \d+\) with SIGTERM/);
    },
  );
});

describe('a disk that fills up (tmpfs)', () => {
  let small: TestDatabase;
  beforeAll(async () => {
    // About 5 MB of dump, none of it compressed.
    small = await createTestDatabase('faults_disk');
    created.push(small);
    await small.query(`CREATE TABLE filler (id int PRIMARY KEY, payload text NOT NULL);
      INSERT INTO filler SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 70000) g;`);
  });

  async function backupInto(dir: string, encrypted: boolean): Promise<ActionResult> {
    // size-gate off: it would stop before pg_dump, and the fault here is the disk filling while writing.
    return await runAction('backup-db', {
      inputs: {
        'database-url': small.url,
        upload: false,
        compression: 'none',
        'output-dir': dir,
        'size-gate': false,
        ...(encrypted ? { 'encryption-key': 'faults-disk-key-0123456789' } : {}),
      },
    });
  }

  function expectCleanNoSpaceFailure(result: ActionResult, dir: string, file: RegExp, freeBefore: number): void {
    expect(result.exitCode).toBe(1);
    const message = result.errors[0];
    expect(message).toMatch(
      new RegExp(
        `^No space left on device writing ${dir}/${file.source} \\(needs about [\\d.]+ MiB, [\\d.]+ (MiB|KiB) free\\)\\.`,
      ),
    );
    expect(result.summary).toContain('## backup-db failed');
    expect(result.summary).toContain('No space left on device writing');
    expect(result.summary).toMatch(/- removed the partial /);
    expectNoBackupLeft(dir);
    expect(freeBefore).toBeGreaterThan(0);
  }

  it('without encryption: pg_dump hits ENOSPC; clean failure that says why, nothing left, the space back', async () => {
    const dir = await smallDisk(2 * 1024 * 1024);
    const freeBefore = await freeBytes(dir);
    const result = await backupInto(dir, false);
    expectCleanNoSpaceFailure(result, dir, /db-backup-default-\d{8}T\d{6}Z-faults_disk_[0-9a-f]+\.dump/, freeBefore);
    expect(await freeBytes(dir)).toBe(freeBefore);
  });

  it('with encryption: the dump fits, its .age does not; clean failure, nothing left, the space back', async () => {
    // The same dump on a roomy disk says how big it is; the tmpfs then holds it once and a half.
    const roomy = mkdtempSync(path.join(os.tmpdir(), 'faults-roomy-'));
    const plain = await backupInto(roomy, false);
    expect(plain.exitCode).toBe(0);
    const dumpBytes = Number(plain.outputs.size);
    const dir = await smallDisk(Math.ceil((dumpBytes * 1.5) / 4096) * 4096);
    const freeBefore = await freeBytes(dir);
    const result = await backupInto(dir, true);
    expectCleanNoSpaceFailure(
      result,
      dir,
      /db-backup-default-\d{8}T\d{6}Z-faults_disk_[0-9a-f]+\.dump\.age/,
      freeBefore,
    );
    expect(result.summary).toMatch(/- removed the partial .*\.dump\.age/);
    expect(result.summary).toMatch(/- Dumped db-backup-.*\.dump and verified it \(pg_restore --list: /);
    expect(await freeBytes(dir)).toBe(freeBefore);
  });
});

describe('file modes', () => {
  it.each(['custom', 'directory'])(
    '%s: the backup and its metadata are readable by this user only, even in an output-dir that already exists',
    async (format) => {
      const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'faults-modes-')), 'existing');
      mkdirSync(dir, { mode: 0o755 });
      const result = await runAction('backup-db', {
        inputs: {
          'database-url': big.url,
          upload: false,
          format,
          compression: 'gzip:1',
          tables: 'big',
          'output-dir': dir,
        },
      });
      expect(result.exitCode).toBe(0);
      const mode = (file: string) => statSync(file).mode & 0o777;
      expect(mode(result.outputs['metadata-path'])).toBe(0o600);
      if (format === 'directory') {
        expect(mode(result.outputs.path)).toBe(0o700);
        for (const name of readdirSync(result.outputs.path))
          expect([name, mode(path.join(result.outputs.path, name))]).toEqual([name, 0o600]);
      } else {
        expect(mode(result.outputs.path)).toBe(0o600);
      }
      // The existing directory itself is the user's: left as it was.
      expect(mode(dir)).toBe(0o755);
      expect(existsSync(result.outputs.path)).toBe(true);
    },
  );
});
