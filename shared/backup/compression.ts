import { ActionError, InputError } from '../errors.js';
import { findExecutable } from '../process.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import type { BackupFormat } from './metadata.js';

/**
 * Compression of a dump, and how a given pg_dump produces it. pg_dump compresses custom and
 * directory archives itself (gzip in every supported version, zstd and lz4 from PostgreSQL 16).
 * For zstd with an older pg_dump there is no honest in-archive option: a custom or directory
 * archive whose data files were compressed by another program is no longer one pg_restore can read,
 * so those combinations are refused before anything runs. Plain SQL is just text: it is checked
 * for completeness as text, then compressed with the zstd program, and restored the same way.
 */
export interface Compression {
  method: 'none' | 'gzip' | 'zstd';
  level?: number;
}

export const DEFAULT_GZIP_LEVEL = 6;
export const DEFAULT_ZSTD_LEVEL = 3;
/** The first pg_dump that writes zstd itself (`--compress=zstd:N`). */
export const NATIVE_ZSTD_MAJOR = 16;

export function parseCompression(text: string, inputName = 'compression'): Compression {
  const match = /^(none|gzip|zstd)(?::(\d+))?$/.exec(text);
  if (!match)
    throw new InputError(inputName, `must be "none", "gzip", "gzip:<0-9>", "zstd" or "zstd:<1-19>"; got "${text}".`);
  const method = match[1] as Compression['method'];
  const level = match[2] === undefined ? undefined : Number(match[2]);
  if (method === 'none' && level !== undefined)
    throw new InputError(inputName, `"none" takes no level; got "${text}".`);
  if (method === 'gzip' && level !== undefined && level > 9)
    throw new InputError(inputName, `gzip levels are 0 to 9; got "${text}".`);
  if (method === 'zstd' && level !== undefined && (level < 1 || level > 19))
    throw new InputError(inputName, `zstd levels are 1 to 19; got "${text}".`);
  // gzip:0 is stored, not compressed: call it what it is so file names and metadata do not lie.
  if (method === 'gzip' && level === 0) return { method: 'none' };
  return { method, level };
}

export function describeCompression(compression: Compression): string {
  if (compression.method === 'none') return 'none';
  const level = compression.level ?? (compression.method === 'gzip' ? DEFAULT_GZIP_LEVEL : DEFAULT_ZSTD_LEVEL);
  return `${compression.method}:${level}`;
}

/** How this dump gets compressed: pg_dump arguments, and whether the zstd program runs afterwards. */
export interface CompressionPlan {
  compression: Compression;
  pgDumpArgs: string[];
  /** Path of the zstd program when it compresses pg_dump's plain output afterwards. */
  externalZstd?: string;
  /** File name suffix of a plain dump: ".sql", ".sql.gz" or ".sql.zst". */
  plainSuffix: string;
}

export function planCompression(compression: Compression, format: BackupFormat, pgDump: PgClientTool): CompressionPlan {
  const level = compression.level;
  if (compression.method === 'none') {
    return { compression, pgDumpArgs: format === 'plain' ? [] : ['--compress=0'], plainSuffix: '.sql' };
  }
  if (compression.method === 'gzip') {
    // "-Z N" means gzip level N for every pg_dump version; for plain it makes gzip'd SQL.
    return { compression, pgDumpArgs: [`--compress=${level ?? DEFAULT_GZIP_LEVEL}`], plainSuffix: '.sql.gz' };
  }
  const zstdLevel = level ?? DEFAULT_ZSTD_LEVEL;
  if (format !== 'plain' && pgDump.major >= NATIVE_ZSTD_MAJOR) {
    return { compression, pgDumpArgs: [`--compress=zstd:${zstdLevel}`], plainSuffix: '.sql.zst' };
  }
  if (format !== 'plain') {
    throw new ActionError(
      `Input "compression" is "${describeCompression(compression)}", but the ${format} format can only hold zstd-compressed data when pg_dump writes it itself, ` +
        `which needs pg_dump ${NATIVE_ZSTD_MAJOR} or newer; the pg_dump found is ${pgDump.version} (${pgDump.path}).`,
      {
        hint:
          `Use compression "gzip:1" (the fastest level pg_dump ${pgDump.major} has), or install a newer client, which also dumps older servers ` +
          `(ubuntu: sudo apt-get install -y postgresql-common && sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && ` +
          `sudo apt-get install -y postgresql-client-17), or use format "plain", which is compressed with the zstd program.`,
      },
    );
  }
  // Plain SQL is always compressed by the zstd program, whatever pg_dump could do: the dump is
  // checked for completeness as text first, and restoring it needs the same program anyway.
  const zstd = findExecutable('zstd');
  if (!zstd) {
    throw new ActionError(
      'Input "compression" is "zstd" with format "plain", which is compressed with the zstd program, and zstd is not on PATH.',
      { hint: 'Install it (ubuntu: sudo apt-get install -y zstd) or choose compression "gzip".' },
    );
  }
  return { compression, pgDumpArgs: [], externalZstd: zstd, plainSuffix: '.sql.zst' };
}
