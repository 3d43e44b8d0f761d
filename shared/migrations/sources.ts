import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ActionError } from '../errors.js';
import { runProcess } from '../process.js';
import type { FileSource } from './types.js';

/** Migration files in a working tree. */
export function directorySource(dir: string): FileSource {
  return {
    description: dir,
    async listFiles() {
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory())
        throw new ActionError(`Migrations directory "${dir}" does not exist or is not a directory.`);
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
        .sort();
    },
    async readFile(relativePath) {
      return await readFile(path.join(dir, relativePath), 'utf8');
    },
  };
}

/** Collects a stream's bytes: git's batch output gives sizes in bytes, not characters. */
class ByteCollector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    done();
  }
}

/** Parses `git cat-file --batch` output: per object "<oid> <type> <size>\n<contents>\n". */
function parseBatch(bytes: Buffer): Map<string, string> {
  const contents = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    const newline = bytes.indexOf(0x0a, at);
    const [oid, type, size] = bytes.subarray(at, newline).toString('utf8').split(' ');
    at = newline + 1;
    if (type === 'missing' || size === undefined) continue;
    contents.set(oid, bytes.subarray(at, at + Number(size)).toString('utf8'));
    at += Number(size) + 1;
  }
  return contents;
}

/**
 * Migration files as they were at a git ref (`git ls-tree`, then one `git cat-file --batch` for all
 * of them), so a plan can compare the current release's migrations with the target's without
 * checking either out, in two git calls however many files there are.
 */
export function gitRefSource(repoDir: string, ref: string, dir: string): FileSource {
  // '' or '.' is the repository's top directory ("ref:" in git's syntax, not "ref:.", which git reads relative to the cwd).
  const prefix = dir.replace(/^\.\//, '').replace(/\/+$/, '').replace(/^\.$/, '');
  let listing: Promise<Map<string, string>> | undefined;
  let blobs: Promise<Map<string, string>> | undefined;
  /** Path below the directory -> blob id. */
  const list = async (): Promise<Map<string, string>> => {
    const result = await runProcess('git', ['-C', repoDir, 'ls-tree', '-r', '-z', `${ref}:${prefix}`], {
      okExitCodes: [0, 128],
    });
    if (result.exitCode !== 0) {
      throw new ActionError(`Migrations directory "${prefix}" does not exist at ${ref}: ${result.stderr.trim()}`);
    }
    const entries = new Map<string, string>();
    for (const record of result.stdout.split('\0').filter(Boolean)) {
      const tab = record.indexOf('\t');
      const [, type, oid] = record.slice(0, tab).split(' ');
      if (type === 'blob') entries.set(record.slice(tab + 1), oid);
    }
    return entries;
  };
  const read = async (): Promise<Map<string, string>> => {
    const entries = await (listing ?? (listing = list()));
    const collector = new ByteCollector();
    await runProcess('git', ['-C', repoDir, 'cat-file', '--batch'], {
      input: `${[...new Set(entries.values())].join('\n')}\n`,
      stdoutTo: collector,
    });
    return parseBatch(Buffer.concat(collector.chunks));
  };
  return {
    description: `${prefix || 'the top directory'} at ${ref}`,
    async listFiles() {
      return [...(await (listing ?? (listing = list()))).keys()].sort();
    },
    async readFile(relativePath) {
      const oid = (await (listing ?? (listing = list()))).get(relativePath);
      const text = oid === undefined ? undefined : (await (blobs ?? (blobs = read()))).get(oid);
      if (text === undefined)
        throw new ActionError(`${relativePath} is not a file of ${prefix || 'the top directory'} at ${ref}.`);
      return text;
    },
  };
}
