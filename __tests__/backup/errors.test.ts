import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { leaksOf, runAction, type ActionResult } from '../../testkit/action-harness.js';
import { adminUrl, type TestDatabase } from '../../testkit/database.js';
import { freePort } from '../../testkit/services/free-port.js';
import { createRichDatabase, oldClientDir, pgDumpMajor, variantUrl } from './fixtures.js';

/**
 * Every way a backup or restore cannot even start says what is wrong and what to do, before
 * anything is written, and never prints the password.
 */
describe('backup-db and restore-db errors', () => {
  let db: TestDatabase;
  let password: string;
  let backup: ActionResult;

  beforeAll(async () => {
    db = await createRichDatabase('errors');
    password = decodeURIComponent(new URL(adminUrl()).password);
    backup = await runAction('backup-db', { inputs: { 'database-url': db.url, upload: false } });
    expect(backup.errors).toEqual([]);
  });
  afterAll(() => db.drop());

  function nothingWritten(result: ActionResult): void {
    const dir = path.join(result.runnerTemp, 'rollback-backups');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  }

  it('a server newer than every pg_dump available: which version is needed and how to get it', async () => {
    const oldClient = oldClientDir();
    const result = await runAction('backup-db', {
      inputs: { 'database-url': db.url, 'pg-bin-dir': oldClient, upload: false },
    });
    expect(result.exitCode).toBe(1);
    const serverMajor = JSON.parse(backup.outputs.metadata).serverVersion.split('.')[0];
    expect(result.errors[0]).toContain(
      `The server runs PostgreSQL ${serverMajor}, which needs pg_dump ${serverMajor} or newer; found ${path.join(oldClient, 'pg_dump')} (9.6) in pg-bin-dir "${oldClient}".`,
    );
    expect(result.errors[0]).toContain(`sudo apt-get install -y postgresql-client-${serverMajor}`);
    expect(result.errors[0]).toContain('/usr/lib/postgresql/');
    expect(result.events).toEqual([]);
    nothingWritten(result);

    const restore = await runAction('restore-db', {
      inputs: { 'database-url': db.url, path: backup.outputs.path, 'pg-bin-dir': oldClient },
    });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toMatch(
      new RegExp(`which needs pg_restore ${serverMajor} or newer; found .*pg_restore \\(9\\.6\\)`),
    );
  });

  const connectionCases: { name: string; url: () => Promise<string>; message: RegExp }[] = [
    {
      name: 'wrong password',
      url: async () => variantUrl(db.name, { password: 'Wr0ng-Secret-Pa55' }),
      message:
        /^PostgreSQL at 127\.0\.0\.1:\d+ rejected user "postgres": password authentication failed for user "postgres"\.\nHint: Check the user and password in database-url/,
    },
    {
      name: 'unreachable host',
      url: async () => variantUrl(db.name, { port: await freePort() }),
      message:
        /^Cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connection refused \(is the server running and listening on that port\?\)/,
    },
    {
      name: 'nonexistent database',
      url: async () => variantUrl('no_such_database_here', {}),
      message:
        /^Database "no_such_database_here" does not exist on the PostgreSQL server at 127\.0\.0\.1:\d+\.\nHint: Check the database name/,
    },
  ];

  describe.each(connectionCases)('$name', ({ url, message }) => {
    it('backup-db fails clearly without printing the password', async () => {
      const databaseUrl = await url();
      const secret = decodeURIComponent(new URL(databaseUrl).password);
      const result = await runAction('backup-db', { inputs: { 'database-url': databaseUrl, upload: false } });
      expect(result.exitCode).toBe(1);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(message);
      expect(leaksOf(result, secret)).toEqual([]);
      expect(leaksOf(result, password)).toEqual([]);
      expect(result.log).not.toContain(secret);
      nothingWritten(result);
    });

    it('restore-db fails clearly without printing the password', async () => {
      const databaseUrl = await url();
      const secret = decodeURIComponent(new URL(databaseUrl).password);
      const result = await runAction('restore-db', {
        inputs: { 'database-url': databaseUrl, path: backup.outputs.path, mode: 'replace' },
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(message);
      expect(leaksOf(result, secret)).toEqual([]);
      expect(leaksOf(result, password)).toEqual([]);
    });
  });

  it('zstd in an archive needs pg_dump 16: refused up front with an older one, used natively with a newer one', async () => {
    const result = await runAction('backup-db', {
      inputs: { 'database-url': db.url, compression: 'zstd:1', format: 'custom', upload: false },
    });
    if ((await pgDumpMajor()) < 16) {
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /^Input "compression" is "zstd:1", but the custom format can only hold zstd-compressed data when pg_dump writes it itself, which needs pg_dump 16 or newer; the pg_dump found is 1[0-5]\./,
      );
      expect(result.errors[0]).toContain('Hint: Use compression "gzip:1"');
      nothingWritten(result);
    } else {
      expect(result.errors).toEqual([]);
      expect(JSON.parse(result.outputs.metadata)).toMatchObject({ compression: 'zstd:1', compressedBy: 'pg_dump' });
    }
  });

  it('bad inputs are named before anything runs', async () => {
    const cases: [Record<string, string | number | boolean>, RegExp][] = [
      [
        { format: 'custom', jobs: 2 },
        /^Input "jobs" can only be above 1 with format "directory"; got 2 with format "custom"\./,
      ],
      [
        { compression: 'brotli' },
        /^Input "compression" must be "none", "gzip", "gzip:<0-9>", "zstd" or "zstd:<1-19>"; got "brotli"\./,
      ],
      [{ label: 'prod/eu' }, /^Input "label" must be letters, digits/],
      [
        { 'encryption-key': 'short' },
        /^Input "encryption-key" must be an age identity \(AGE-SECRET-KEY-1\.\.\., from age-keygen\), age recipients \(age1\.\.\.\), or a passphrase of at least 16 characters; the passphrase given is shorter\./,
      ],
      [
        { 'encryption-key': 'AGE-SECRET-KEY-1NOTAKEY' },
        /^Input "encryption-key" has an invalid age identity \(key 1; expected AGE-SECRET-KEY-1/,
      ],
      [
        { format: 'directory', 'encryption-key': 'a passphrase of some length' },
        /^Input "encryption-key" is a passphrase, and format is "directory": every file of a directory backup is its own age file/,
      ],
      [{ upload: true }, /^Input "upload" is true, but this step cannot reach the artifact service/],
      [
        { tables: 'public.orders[' },
        /^Input "tables" has the pattern "public\.orders\[", which is not a valid pg_dump name pattern: invalid regular expression: brackets \[\] not balanced\./,
      ],
      [
        { 'exclude-tables': 'audit.(events' },
        /^Input "exclude-tables" has the pattern "audit\.\(events", which is not a valid pg_dump name pattern: invalid regular expression/,
      ],
    ];
    for (const [inputs, message] of cases) {
      const result = await runAction('backup-db', { inputs: { 'database-url': db.url, upload: false, ...inputs } });
      expect({ inputs, exitCode: result.exitCode, error: result.errors[0] }).toEqual({
        inputs,
        exitCode: 1,
        error: expect.stringMatching(message),
      });
      nothingWritten(result);
    }
    const restoreCases: [Record<string, string | number | boolean>, RegExp][] = [
      [
        { path: backup.outputs.path, mode: 'replace', 'target-database': 'other' },
        /^Input "target-database" cannot be used with mode "replace"/,
      ],
      [{ path: backup.outputs.path, mode: 'replace', swap: true }, /^Input "swap" only applies to mode "new-database"/],
      [{ path: backup.outputs.path, 'artifact-name': 'x' }, /^Input "path" and "artifact-name" were both given/],
      [{ 'artifact-name': 'latest' }, /^Input "label" is required with artifact-name "latest"/],
      [{ 'artifact-name': 'x', 'run-id': '12' }, /^Input "github-token" is required with run-id/],
      [{ path: '/nonexistent/backup.dump' }, /^Input "path" names \/nonexistent\/backup\.dump, which does not exist\./],
      [
        { path: backup.outputs.path, 'expected-checksum': 'abc' },
        /^Input "expected-checksum" must be a SHA-256 in hex/,
      ],
    ];
    for (const [inputs, message] of restoreCases) {
      const result = await runAction('restore-db', { inputs: { 'database-url': db.url, ...inputs } });
      expect({ inputs, exitCode: result.exitCode, error: result.errors[0] }).toEqual({
        inputs,
        exitCode: 1,
        error: expect.stringMatching(message),
      });
    }
  });
});
