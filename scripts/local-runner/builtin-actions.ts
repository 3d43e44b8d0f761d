import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runProcess } from '../../shared/process.js';
import type { LocalRepository } from './types.js';

/**
 * Local stand-ins for the marketplace actions our workflows use, doing on this machine what the
 * real ones do on a runner. Only these are supported; any other `uses:` fails the step.
 *  - actions/checkout runs here, in the runner's process: it only runs git.
 *  - actions/upload-artifact runs as the step's own process (upload-artifact-step.ts), like a node
 *    action: its inputs as INPUT_*, its log and outputs through the usual channels.
 */
export interface CheckoutContext {
  workspace: string;
  repository: string;
  repositories: Record<string, LocalRepository>;
  log: (line: string) => void;
}

/** The commit a local repository is at: its HEAD, or for a linked one (the live tree) the commit it declares. */
export async function repositoryHead(local: LocalRepository): Promise<string> {
  if (local.sha) return local.sha;
  const { stdout } = await runProcess('git', ['-C', local.dir, 'rev-parse', 'HEAD']);
  return stdout.trim();
}

/** A ref (tag, branch, commit) of a cloneable local repository as a commit SHA. */
export async function resolveCommit(local: LocalRepository, ref: string): Promise<string> {
  const { stdout } = await runProcess('git', ['-C', local.dir, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    okExitCodes: [0, 1],
  });
  if (!stdout.trim()) throw new Error(`ref ${ref} does not exist in ${local.dir}`);
  return stdout.trim();
}

/**
 * actions/checkout: the repository (all history and tags) at `ref`, into `path`. A linked
 * repository is the live working tree (uncommitted builds included), so it can only be checked out
 * at the commit it stands for: asking for any other ref fails, which is how a test sees which
 * commit a workflow asked for.
 */
export async function checkout(
  context: CheckoutContext,
  inputs: Record<string, string>,
): Promise<Record<string, string>> {
  const repository = inputs.repository || context.repository;
  const local = context.repositories[repository];
  if (!local) throw new Error(`actions/checkout: no local copy of ${repository} was given to the local runner.`);
  const target = path.resolve(context.workspace, inputs.path || '.');
  if (!target.startsWith(context.workspace))
    throw new Error(`actions/checkout: path "${inputs.path}" leaves the workspace.`);
  mkdirSync(target, { recursive: true });
  if (local.checkout === 'link') {
    const head = await repositoryHead(local);
    if (inputs.ref && inputs.ref !== head)
      throw new Error(
        `actions/checkout: ${repository} is linked from its working tree at ${head}; it cannot be checked out at "${inputs.ref}".`,
      );
    for (const entry of local.linkEntries ?? readdirSync(local.dir)) {
      const link = path.join(target, entry);
      if (!existsSync(link)) symlinkSync(path.join(local.dir, entry), link);
    }
    context.log(
      `checkout: ${repository}@${head.slice(0, 12)} linked from ${local.dir} (${(local.linkEntries ?? ['everything']).join(', ')})`,
    );
    return { ref: inputs.ref ?? '', commit: head };
  }
  await runProcess('git', ['clone', '--quiet', '--no-hardlinks', local.dir, target]);
  if (inputs.ref) await runProcess('git', ['-C', target, 'checkout', '--quiet', inputs.ref]);
  const { stdout } = await runProcess('git', ['-C', target, 'rev-parse', 'HEAD']);
  context.log(
    `checkout: ${repository}${inputs.ref ? `@${inputs.ref}` : ''} -> ${path.relative(context.workspace, target) || '.'} (${stdout.trim().slice(0, 12)})`,
  );
  return { ref: inputs.ref ?? '', commit: stdout.trim() };
}

/**
 * The program of a stand-in that runs as a process, by action name (without @ref): its source next
 * to this file, and its bundle (scripts/build.ts) beside the rollback-actions command's, which is
 * what the npm package ships.
 */
const PROCESS_STAND_INS: Record<string, { source: string; bundle: string }> = {
  'actions/upload-artifact': { source: 'upload-artifact-step.ts', bundle: 'local-upload-artifact' },
};

/**
 * Set by the rollback-actions command: with no artifact service (a run from a terminal),
 * upload-artifact keeps the files in <this dir>/<artifact name>/ (the run's record) instead.
 */
export const LOCAL_ARTIFACTS_ENV = 'ROLLBACK_ARTIFACTS_DIR';

export type Builtin = { kind: 'checkout' } | { kind: 'process'; script: string };

/** "actions/checkout@v4" -> how the local runner stands in for it, or undefined. */
export function builtinFor(uses: string): Builtin | undefined {
  const name = uses.split('@')[0];
  if (name === 'actions/checkout') return { kind: 'checkout' };
  const standIn = PROCESS_STAND_INS[name];
  if (!standIn) return undefined;
  // Resolved when asked, not at load: from the source tree the TypeScript beside this file; from
  // the command's bundle (dist/cli/index.js) the stand-in's bundle beside it.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const source = path.join(here, standIn.source);
  return {
    kind: 'process',
    script: existsSync(source) ? source : path.join(here, '..', standIn.bundle, 'index.js'),
  };
}

/** node arguments that run a stand-in: a bundle as it is, TypeScript through tsx's loader (found from here, not from the step's directory). */
export function tsNodeArgs(script: string): string[] {
  if (script.endsWith('.js')) return [script];
  // tsx's "." export is its loader (dist/loader.mjs); resolved from this file so any cwd works.
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, script];
}
