import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { runProcess } from '../process.js';
import type { FileSource } from './types.js';

/** Migration files in a working tree. */
export function directorySource(dir: string): FileSource {
  return {
    description: dir,
    async listFiles() {
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) throw new ActionError(`Migrations directory "${dir}" does not exist or is not a directory.`);
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

/**
 * Migration files as they were at a git ref (`git ls-tree` / `git show`), so a plan can compare
 * the current release's migrations with the target's without checking either out.
 */
export function gitRefSource(repoDir: string, ref: string, dir: string): FileSource {
  // '' or '.' is the repository's top directory ("ref:" in git's syntax, not "ref:.", which git reads relative to the cwd).
  const prefix = dir.replace(/^\.\//, '').replace(/\/+$/, '').replace(/^\.$/, '');
  return {
    description: `${prefix || 'the top directory'} at ${ref}`,
    async listFiles() {
      const result = await runProcess('git', ['-C', repoDir, 'ls-tree', '-r', '--name-only', '-z', `${ref}:${prefix}`], {
        okExitCodes: [0, 128],
      });
      if (result.exitCode !== 0) {
        throw new ActionError(`Migrations directory "${prefix}" does not exist at ${ref}: ${result.stderr.trim()}`);
      }
      return result.stdout.split('\0').filter(Boolean).sort();
    },
    async readFile(relativePath) {
      const result = await runProcess('git', ['-C', repoDir, 'show', `${ref}:${prefix === '' ? '' : `${prefix}/`}${relativePath}`]);
      return result.stdout;
    },
  };
}
