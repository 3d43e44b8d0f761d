import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * SHA-256 of a backup as stored. A single file's checksum is what `sha256sum <file>` prints. A
 * directory-format backup's checksum is the SHA-256 of its manifest, the `sha256sum` lines of every
 * file sorted by relative path, so it can be checked by hand:
 *   (cd backup.dir && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum) | sha256sum
 * The per-file hashes are kept too, so a mismatch can name the damaged file.
 */
export interface BackupChecksum {
  sha256: string;
  size: number;
  /** Directory backups: relative path -> sha256. */
  files?: Record<string, string>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

/** Relative paths of every regular file under dir, sorted bytewise (LC_ALL=C sort). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export function manifestText(files: Record<string, string>): string {
  return Object.keys(files)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => `${files[name]}  ${name}\n`)
    .join('');
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await fn(items[index]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function backupChecksum(backupPath: string): Promise<BackupChecksum> {
  const info = await stat(backupPath);
  if (!info.isDirectory()) return { sha256: await sha256File(backupPath), size: info.size };
  const names = await listFiles(backupPath);
  const hashed = await mapLimited(names, 4, async (name) => {
    const file = path.join(backupPath, name);
    return { name, sha256: await sha256File(file), size: (await stat(file)).size };
  });
  const files = Object.fromEntries(hashed.map((entry) => [entry.name, entry.sha256]));
  return {
    sha256: createHash('sha256').update(manifestText(files)).digest('hex'),
    size: hashed.reduce((total, entry) => total + entry.size, 0),
    files,
  };
}

/** Files whose hash differs from the recorded one, or that are missing or unexpected. */
export function manifestDifferences(expected: Record<string, string>, actual: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, sha] of Object.entries(expected)) {
    if (!(name in actual)) problems.push(`${name} is missing`);
    else if (actual[name] !== sha) problems.push(`${name} has SHA-256 ${actual[name]}, expected ${sha}`);
  }
  for (const name of Object.keys(actual)) if (!(name in expected)) problems.push(`${name} is not part of the backup`);
  return problems;
}
