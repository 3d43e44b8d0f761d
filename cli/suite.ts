import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../shared/process.js';
import { UsageError } from './args.js';

/**
 * Where the suite is: the folder holding .github/workflows and dist/ (this checkout, or the
 * installed npm package), found upwards from this file, so the bundle (dist/cli/index.js) and the
 * sources (cli/*.ts) find the same workflows and actions.
 */
export const SUITE_REPOSITORY = 'rollback-actions/rollback-actions';

export function suiteRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.github', 'workflows', 'rollback.yml')) && existsSync(path.join(dir, 'dist')))
      return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`rollback-actions: no .github/workflows/rollback.yml above ${from}: the package is incomplete.`);
  }
}

export function suiteVersion(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The commit the suite stands for (job.workflow_sha): its git HEAD in a checkout; in an installed
 * package, which has no history, a stable id of its version.
 */
export async function suiteCommit(root: string): Promise<string> {
  if (existsSync(path.join(root, '.git'))) {
    const { stdout, exitCode } = await runProcess('git', ['-C', root, 'rev-parse', 'HEAD'], { okExitCodes: [0, 128] });
    if (exitCode === 0) return stdout.trim();
  }
  return createHash('sha1')
    .update(`rollback-actions@${suiteVersion(root)}`)
    .digest('hex');
}

/** owner/name: the option, else GITHUB_REPOSITORY, else the clone's origin remote. */
export async function appRepository(option: string | undefined, env: NodeJS.ProcessEnv, dir: string): Promise<string> {
  const given = option ?? env.GITHUB_REPOSITORY;
  if (given) {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(given))
      throw new UsageError(`--repository must be owner/name; got "${given}"`);
    return given;
  }
  const { stdout } = await runProcess('git', ['-C', dir, 'remote', 'get-url', 'origin'], { okExitCodes: [0, 2, 128] });
  const match = /[:/]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(stdout.trim());
  if (!match)
    throw new UsageError(
      `the app repository is not known: pass --repository owner/name (or set GITHUB_REPOSITORY); ${dir} has no "origin" remote to read it from`,
    );
  return `${match[1]}/${match[2]}`;
}
