import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runProcess } from '../../shared/process.js';
import { repositoryHead, resolveCommit } from './builtin-actions.js';
import type { RunOptions, WorkflowFile } from './types.js';

/**
 * Where a workflow file comes from: a repository and the commit GitHub would read it at. A called
 * workflow `owner/repo/.github/workflows/x.yml@ref` is read at that ref's commit (a cloneable local
 * copy answers with `git show`; a linked one is its working tree, at the commit it stands for);
 * `./.github/workflows/x.yml` is read from the same repository and commit as the workflow that
 * calls it. That commit is the called workflow's `job.workflow_sha`.
 */
export interface WorkflowSource {
  repository: string;
  /** Directory of the repository on this machine (actions `./x` of its jobs are under the workspace, not here). */
  dir: string;
  sha: string;
  /** Path of the file in the repository: .github/workflows/x.yml. */
  file: string;
  /** The ref it was called at (a tag, branch or commit), or the run's ref for the top-level workflow. */
  ref: string;
  /** True when read from the working tree (top-level, or a linked repository). */
  workingTree: boolean;
  workflow: WorkflowFile;
}

function parse(text: string, where: string): WorkflowFile {
  const workflow = parseYaml(text) as WorkflowFile;
  if (!workflow || typeof workflow !== 'object' || !workflow.jobs)
    throw new Error(`${where} is not a workflow (no jobs)`);
  return workflow;
}

async function gitHead(dir: string): Promise<string> {
  const { stdout } = await runProcess('git', ['-C', dir, 'rev-parse', 'HEAD'], { okExitCodes: [0, 128] });
  return stdout.trim() || '0'.repeat(40);
}

/** The top-level workflow: the file given, in the repository given, at its working tree's commit. */
export async function topLevelSource(options: RunOptions): Promise<WorkflowSource> {
  const local = options.repositories[options.workflowRepository.name];
  const sha = local ? await repositoryHead(local) : await gitHead(options.workflowRepository.dir);
  return {
    repository: options.workflowRepository.name,
    dir: options.workflowRepository.dir,
    sha,
    file: path.relative(options.workflowRepository.dir, options.workflowPath),
    ref: options.ref ?? 'refs/heads/main',
    workingTree: true,
    workflow: parse(readFileSync(options.workflowPath, 'utf8'), options.workflowPath),
  };
}

/** The workflow a job's `uses:` calls, read where and at the commit GitHub would read it. */
export async function calledSource(options: RunOptions, caller: WorkflowSource, uses: string): Promise<WorkflowSource> {
  if (uses.startsWith('./')) {
    const file = path.posix.normalize(uses.slice(2));
    return { ...caller, file, workflow: await readAt(caller, file) };
  }
  const match = /^([^/@]+\/[^/@]+)\/([^@]+)@(.+)$/.exec(uses);
  const local = match ? options.repositories[match[1]] : undefined;
  if (!match || !local)
    throw new Error(
      `${uses} has no local copy (known: ${Object.keys(options.repositories).join(', ')}); the local runner calls local repositories only.`,
    );
  const [, repository, file, ref] = match;
  const linked = local.checkout === 'link';
  const source: Omit<WorkflowSource, 'workflow'> = {
    repository,
    dir: local.dir,
    sha: linked ? await repositoryHead(local) : await resolveCommit(local, ref),
    file,
    ref,
    workingTree: linked,
  };
  return { ...source, workflow: await readAt(source, file) };
}

async function readAt(source: Omit<WorkflowSource, 'workflow'>, file: string): Promise<WorkflowFile> {
  const where = `${source.repository}/${file}@${source.sha.slice(0, 12)}`;
  if (source.workingTree) {
    const absolute = path.join(source.dir, file);
    if (!existsSync(absolute)) throw new Error(`${where}: the workflow file does not exist`);
    return parse(readFileSync(absolute, 'utf8'), where);
  }
  const { stdout, exitCode } = await runProcess('git', ['-C', source.dir, 'show', `${source.sha}:${file}`], {
    okExitCodes: [0, 128],
  });
  if (exitCode !== 0) throw new Error(`${where}: the workflow file does not exist at that commit`);
  return parse(stdout, where);
}

/** `job.workflow_ref` / `github.workflow_ref`: owner/repo/.github/workflows/x.yml@ref. */
export function workflowRef(source: WorkflowSource): string {
  return `${source.repository}/${source.file}@${source.ref}`;
}
