import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { ActionError, errorMessage } from '../errors.js';
import { ProcessError } from '../process.js';
import { formatBytes } from './progress.js';

/**
 * A full disk, said in words: which file was being written, about how much it needed and how much
 * was free when writing it started (the free space comes back once the partial file is removed;
 * the caller removes it). The errors it replaces were "ENOSPC" or a pg_dump message deep in a log.
 */
export async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
}

export function isNoSpace(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException)?.code === 'ENOSPC') return true;
  const text = error instanceof ProcessError ? `${error.result.stderr}\n${error.result.stdout}` : errorMessage(error);
  return /No space left on device/i.test(text);
}

/**
 * Runs `write`, which writes `file`; a full disk becomes an ActionError saying how much it needed
 * (`needBytes`, an estimate the caller describes) and how much was free before it started.
 */
export async function writingFile<T>(
  file: string,
  needBytes: () => number | Promise<number>,
  write: () => Promise<T>,
): Promise<T> {
  const free = await freeBytes(path.dirname(file)).catch(() => undefined);
  try {
    return await write();
  } catch (error) {
    if (!isNoSpace(error)) throw error;
    const need = await Promise.resolve(needBytes()).catch(() => undefined);
    const amounts = [
      need !== undefined ? `needs about ${formatBytes(need)}` : undefined,
      free !== undefined ? `${formatBytes(free)} free` : undefined,
    ].filter(Boolean);
    throw new ActionError(
      `No space left on device writing ${file}${amounts.length ? ` (${amounts.join(', ')})` : ''}.`,
      {
        hint: `Free space on that file system, or point output-dir at one with room for the backup.`,
        cause: error,
      },
    );
  }
}
