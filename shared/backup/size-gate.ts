import { statfs } from 'node:fs/promises';
import { ActionError, InputError } from '../errors.js';
import { formatBytes } from './progress.js';

/**
 * The size gate: before pg_dump starts, the table data it is about to read is compared with the free
 * space where the dump goes and, when the dump is to be uploaded, with the artifact size limit. A
 * dump that would fill the runner's disk an hour in (a GitHub-hosted runner has about 14 GB) or be
 * refused by the artifact storage quota stops here, in seconds, with the way that does work.
 */
export interface SizeGate {
  /** Stop when the data is larger than this and the dump is uploaded. */
  artifactLimitBytes?: number;
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "500MB", "2 GiB", "1.5GB" in bytes; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)$/i.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()]);
}

/** A size input's text (read with its default): bytes, or undefined for "none". */
export function sizeOrNone(name: string, text: string): number | undefined {
  const bytes = text === 'none' ? undefined : parseByteSize(text);
  if (text !== 'none' && bytes === undefined)
    throw new InputError(name, `must be a size such as 500MB, 2GB or 10GiB, or "none"; got ${JSON.stringify(text)}.`);
  return bytes;
}

export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

const ALTERNATIVES =
  'Alternatives: method "pgbackrest" (a restore point takes seconds whatever the database\'s size, and restore-db recovers to it); ' +
  'tables or exclude-tables to dump less; output-dir on a larger disk; or size-gate: false when you know the compressed dump fits.';

/** Throws before anything is dumped when the data to dump cannot fit; returns what was compared, for the log. */
export async function checkDumpFits(request: {
  dataBytes: number;
  tableCount: number;
  outputDir: string;
  upload: boolean;
  gate: SizeGate;
}): Promise<string> {
  const free = await freeBytes(request.outputDir);
  const data = `the ${request.tableCount} table(s) to dump hold ${formatBytes(request.dataBytes)} of data (heap and TOAST, what pg_dump reads)`;
  if (request.dataBytes > free) {
    throw new ActionError(
      `Stopped before dumping: ${data}, more than the ${formatBytes(free)} free in ${request.outputDir}; the dump could fill the disk part-way.`,
      { hint: ALTERNATIVES },
    );
  }
  const limit = request.upload ? request.gate.artifactLimitBytes : undefined;
  if (limit !== undefined && request.dataBytes > limit) {
    throw new ActionError(
      `Stopped before dumping: ${data}, more than the artifact-size-limit of ${formatBytes(limit)}; the upload would be refused by the artifact storage quota.`,
      { hint: ALTERNATIVES },
    );
  }
  return `${formatBytes(request.dataBytes)} of table data to dump; ${formatBytes(free)} free in ${request.outputDir}${limit !== undefined ? `; artifact-size-limit ${formatBytes(limit)}` : ''}`;
}
