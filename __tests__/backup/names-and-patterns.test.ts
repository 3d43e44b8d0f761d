import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkListing } from '../../shared/backup/archive.js';
import { backupChecksum, manifestText } from '../../shared/backup/checksum.js';
import { parseCompression, planCompression } from '../../shared/backup/compression.js';
import {
  backupFileName,
  compactTimestamp,
  defaultArtifactName,
  isBackupOfLabel,
  metadataPathFor,
} from '../../shared/backup/names.js';
import { namePatternToRegex } from '../../shared/backup/snapshot.js';

describe('backup names', () => {
  const at = new Date('2026-05-04T03:02:01.123Z');

  it('puts the timestamp right after the label, so labels read back without ambiguity', () => {
    expect(compactTimestamp(at)).toBe('20260504T030201Z');
    const prod = defaultArtifactName('prod', 'app', at);
    const prodEu = defaultArtifactName('prod-eu', 'app', at);
    expect(prod).toBe('db-backup-prod-20260504T030201Z-app');
    expect(isBackupOfLabel(prod, 'prod')).toBe(true);
    expect(isBackupOfLabel(prodEu, 'prod')).toBe(false);
    expect(isBackupOfLabel(prodEu, 'prod-eu')).toBe(true);
    expect(isBackupOfLabel('db-backup-prod.1-20260504T030201Z-app', 'prod')).toBe(false);
    expect(isBackupOfLabel('my-own-name', 'prod')).toBe(false);
    expect(defaultArtifactName('x', 'weird db/name:1', at)).toBe('db-backup-x-20260504T030201Z-weird_db_name_1');
  });

  it('names files by format, compression and encryption; metadata sits next to them', () => {
    expect(backupFileName('b', 'custom', '', false)).toBe('b.dump');
    expect(backupFileName('b', 'custom', '', true)).toBe('b.dump.age');
    expect(backupFileName('b', 'directory', '', true)).toBe('b.dir');
    expect(backupFileName('b', 'plain', '.sql.gz', true)).toBe('b.sql.gz.age');
    expect(metadataPathFor('/x/b.dir/')).toBe('/x/b.dir.metadata.json');
  });
});

describe('compression', () => {
  const pg = (major: number) => ({ path: `/usr/lib/postgresql/${major}/bin/pg_dump`, version: `${major}.4`, major });

  it('parses levels and calls gzip:0 what it is', () => {
    expect(parseCompression('gzip')).toEqual({ method: 'gzip', level: undefined });
    expect(parseCompression('zstd:19')).toEqual({ method: 'zstd', level: 19 });
    expect(parseCompression('gzip:0')).toEqual({ method: 'none' });
    expect(() => parseCompression('gzip:10')).toThrow(/gzip levels are 0 to 9/);
    expect(() => parseCompression('zstd:0')).toThrow(/zstd levels are 1 to 19/);
    expect(() => parseCompression('none:3')).toThrow(/takes no level/);
  });

  it('lets pg_dump compress archives, natively zstd only from 16; plain zstd always through the zstd program', () => {
    expect(planCompression({ method: 'gzip', level: 1 }, 'directory', pg(15)).pgDumpArgs).toEqual(['--compress=1']);
    expect(planCompression({ method: 'none' }, 'custom', pg(15)).pgDumpArgs).toEqual(['--compress=0']);
    expect(planCompression({ method: 'none' }, 'plain', pg(15)).pgDumpArgs).toEqual([]);
    expect(planCompression({ method: 'zstd' }, 'custom', pg(16)).pgDumpArgs).toEqual(['--compress=zstd:3']);
    expect(() => planCompression({ method: 'zstd' }, 'directory', pg(15))).toThrow(
      /needs pg_dump 16 or newer; the pg_dump found is 15\.4/,
    );
    const plain = planCompression({ method: 'zstd', level: 7 }, 'plain', pg(17));
    expect(plain.pgDumpArgs).toEqual([]);
    expect(plain.externalZstd).toMatch(/zstd$/);
    expect(plain.plainSuffix).toBe('.sql.zst');
  });
});

describe('pg_dump name patterns as PostgreSQL regular expressions', () => {
  it.each([
    ['orders', { name: '^(orders)$' }],
    ['public.Orders', { schema: '^(public)$', name: '^(orders)$' }],
    ['"Mixed".*', { schema: '^(Mixed)$', name: '^(.*)$' }],
    ['app.order_?', { schema: '^(app)$', name: '^(order_.)$' }],
    ['"a.b"', { name: '^(a\\.b)$' }],
    ['price$', { name: '^(price\\$)$' }],
    ['db.sch.tbl', { schema: '^(sch)$', name: '^(tbl)$' }],
  ])('%s', (pattern, expected) => {
    expect(namePatternToRegex(pattern)).toEqual(expected);
  });
});

describe('archive listing check', () => {
  const listing = {
    entries: [
      'TABLE public users postgres',
      'TABLE DATA public users postgres',
      'TABLE audit events app owner',
      'INDEX public users_email postgres',
    ],
  };

  it('finds tables and their data, and names what is missing', () => {
    expect(
      checkListing(listing, {
        tables: [
          { schema: 'public', name: 'users' },
          { schema: 'audit', name: 'events' },
        ],
        withData: [{ schema: 'public', name: 'users' }],
      }),
    ).toEqual([]);
    expect(
      checkListing(listing, {
        tables: [{ schema: 'public', name: 'orders' }],
        withData: [{ schema: 'audit', name: 'events' }],
      }),
    ).toEqual(['no TABLE entry for public.orders', 'no TABLE DATA entry for audit.events']);
  });
});

describe('directory checksum', () => {
  it('is the SHA-256 of the sorted sha256sum manifest', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'checksum-'));
    try {
      mkdirSync(path.join(dir, 'sub'));
      writeFileSync(path.join(dir, 'toc.dat'), 'toc');
      writeFileSync(path.join(dir, 'B.dat'), 'b');
      writeFileSync(path.join(dir, 'sub', 'a.dat'), 'a');
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      const result = await backupChecksum(dir);
      expect(Object.keys(result.files!)).toEqual(['B.dat', 'sub/a.dat', 'toc.dat']);
      expect(result.sha256).toBe(sha(`${sha('b')}  B.dat\n${sha('a')}  sub/a.dat\n${sha('toc')}  toc.dat\n`));
      expect(manifestText(result.files!)).toBe(`${sha('b')}  B.dat\n${sha('a')}  sub/a.dat\n${sha('toc')}  toc.dat\n`);
      expect(result.size).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
