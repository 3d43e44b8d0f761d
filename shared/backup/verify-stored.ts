import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { backupChecksum, manifestDifferences } from './checksum.js';
import type { BackupFormat, BackupMetadata } from './metadata.js';

/**
 * The checks restore-db makes on a stored backup before it touches any database: its SHA-256 must
 * be the one expected (the expected-checksum input, else the metadata's), and its format known.
 */
export async function verifyChecksum(
  backupPath: string,
  expected: { checksum?: string; metadata?: BackupMetadata },
): Promise<string> {
  const recorded = expected.metadata?.checksum.value;
  if (expected.checksum && recorded && expected.checksum !== recorded) {
    throw new ActionError(
      `Input "expected-checksum" is ${expected.checksum}, but the backup's metadata records ${recorded}: this is not the backup you meant, or its metadata was changed. Nothing was restored.`,
    );
  }
  const wanted = expected.checksum ?? recorded;
  if (!wanted) {
    throw new ActionError(
      `${path.basename(backupPath)} has no metadata next to it and no expected-checksum was given: restore-db only restores a backup it can verify.`,
      {
        hint: 'Pass expected-checksum (the checksum output of backup-db), or keep the .metadata.json file next to the backup.',
      },
    );
  }
  const actual = await backupChecksum(backupPath);
  if (actual.sha256 !== wanted) {
    const files =
      expected.metadata?.checksum.files && actual.files
        ? manifestDifferences(expected.metadata.checksum.files, actual.files)
        : [];
    throw new ActionError(
      `Checksum mismatch: ${path.basename(backupPath)} has SHA-256 ${actual.sha256}, expected ${wanted}${files.length ? ` (${files.slice(0, 5).join('; ')})` : ''}. ` +
        'The backup was damaged or modified after it was taken. Nothing was restored.',
    );
  }
  return actual.sha256;
}

/** The format of a plaintext backup, from its bytes: a directory with toc.dat, a "PGDMP" archive, or SQL. */
export async function detectFormat(plainPath: string): Promise<BackupFormat> {
  if ((await stat(plainPath)).isDirectory()) return 'directory';
  const handle = await open(plainPath, 'r');
  try {
    const head = Buffer.alloc(5);
    await handle.read(head, 0, 5, 0);
    return head.toString('latin1') === 'PGDMP' ? 'custom' : 'plain';
  } finally {
    await handle.close();
  }
}
