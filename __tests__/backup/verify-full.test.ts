import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, pgBin, type TestDatabase } from '../../testkit/database.js';
import { createRichDatabase } from './fixtures.js';

/**
 * verify "full" against a dump whose data is damaged behind an intact table of contents. The damage
 * is done by a pg_dump wrapper in pg-bin-dir (the real pg_dump, then eight bytes overwritten in the
 * middle of the file, as a bad disk or a bit flip would): pg_restore --list still reads the archive,
 * so verify "archive" passes it, and only reading every data block back shows the damage.
 */
describe('backup-db verify "full"', () => {
  let db: TestDatabase;
  let damagingBin: string;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'verify-full-'));

  beforeAll(async () => {
    db = await createTestDatabase('verify_full');
    // Mostly data: the middle of the dump is inside a compressed data block.
    await db.query(
      'CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL); INSERT INTO events SELECT g, md5(g::text) || repeat(md5((g * 7)::text), 4) FROM generate_series(1, 40000) g',
    );
    damagingBin = path.join(scratch, 'bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(damagingBin);
    writeFileSync(
      path.join(damagingBin, 'pg_dump'),
      `#!/bin/sh
"${pgBin('pg_dump')}" "$@" || exit $?
for arg in "$@"; do case "$arg" in --file=*) file="\${arg#--file=}" ;; esac; done
[ -n "$file" ] && [ -f "$file" ] || exit 0
offset=$(( $(stat -c %s "$file") * 6 / 10 ))
printf '\\377\\377\\377\\377\\377\\377\\377\\377' | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
`,
      { mode: 0o755 },
    );
    for (const tool of ['pg_restore', 'psql']) symlinkSync(pgBin(tool), path.join(damagingBin, tool));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('verify "archive" (pg_restore --list) passes the damaged dump; verify "full" fails it and keeps nothing', async () => {
    const listed = await runAction('backup-db', {
      inputs: {
        'database-url': db.url,
        upload: false,
        'pg-bin-dir': damagingBin,
        'output-dir': path.join(scratch, 'archive'),
      },
    });
    expect(listed.errors).toEqual([]);
    const damaged = listed.outputs.path;
    expect(JSON.parse(listed.outputs.metadata).verification.archive).toMatch(
      /^pg_restore --list: \d+ entries, all 1 table\(s\) and 1 with data$/,
    );
    // pg_restore --list alone reads it without complaint...
    const list = await runProcess(pgBin('pg_restore'), ['--list', damaged]);
    expect(list.stdout).toMatch(/TABLE DATA public events/);
    // ...while the data behind the table of contents cannot be read back.
    const readBack = await runProcess(pgBin('pg_restore'), ['--file=/dev/null', damaged], { okExitCodes: [0, 1] });
    expect(readBack.exitCode).toBe(1);

    const full = await runAction('backup-db', {
      inputs: {
        'database-url': db.url,
        upload: false,
        verify: 'full',
        'pg-bin-dir': damagingBin,
        'output-dir': path.join(scratch, 'full'),
      },
    });
    expect(full.exitCode).toBe(1);
    expect(full.errors[0]).toMatch(
      /^The archive \S+\.dump is damaged: its table of contents is intact, but pg_restore cannot read its data back:\npg_restore: error: could not uncompress data/,
    );
    expect(readdirSync(path.join(scratch, 'full'))).toEqual([]);

    // What verify "archive" let through does not restore.
    const restore = await runAction('restore-db', { inputs: { 'database-url': db.url, path: damaged } });
    expect(restore.exitCode).toBe(1);
    expect(restore.errors[0]).toMatch(/could not uncompress data/);
  });

  it('verify "full" passes an intact dump, in the custom, directory and zstd plain formats', async () => {
    const rich = await createRichDatabase('verify_full_rich');
    try {
      const results = await Promise.all([
        runAction('backup-db', { inputs: { 'database-url': rich.url, upload: false, verify: 'full' } }),
        runAction('backup-db', {
          inputs: { 'database-url': rich.url, upload: false, verify: 'full', format: 'directory', jobs: 2 },
        }),
        runAction('backup-db', {
          inputs: { 'database-url': rich.url, upload: false, verify: 'full', format: 'plain', compression: 'zstd:3' },
        }),
      ]);
      expect(results.map((result) => result.errors)).toEqual([[], [], []]);
      const verification = results.map((result) => JSON.parse(result.outputs.metadata).verification.archive as string);
      expect(verification[0]).toMatch(
        /^pg_restore --list: .*; every data block read back through pg_restore \(to \/dev\/null\)$/,
      );
      expect(verification[1]).toMatch(
        /^pg_restore --list: .*; every data block read back through pg_restore \(to \/dev\/null\)$/,
      );
      expect(verification[2]).toMatch(/^plain SQL complete: .*; the \.zst file read to its end \(zstd -t\)$/);
      expect(results[0].summary).toContain('every data block read back through pg_restore');
    } finally {
      await rich.drop();
    }
  });
});
