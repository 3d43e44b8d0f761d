import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import type { LocalRepository } from './types.js';

/**
 * Local stand-ins for the marketplace actions our workflows use, doing on this machine what the
 * real ones do on a runner. Only these are supported; any other `uses:` fails the step.
 */
export interface BuiltinContext {
  workspace: string;
  /** The step's environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL... for the artifact service). */
  env: Record<string, string>;
  repository: string;
  repositories: Record<string, LocalRepository>;
  log: (line: string) => void;
}

export type BuiltinAction = (context: BuiltinContext, inputs: Record<string, string>) => Promise<Record<string, string>>;

/** actions/checkout: the repository (all history and tags) at `ref`, into `path`. */
const checkout: BuiltinAction = async (context, inputs): Promise<Record<string, string>> => {
  const repository = inputs.repository || context.repository;
  const local = context.repositories[repository];
  if (!local) throw new Error(`actions/checkout: no local copy of ${repository} was given to the local runner.`);
  const target = path.resolve(context.workspace, inputs.path || '.');
  if (!target.startsWith(context.workspace)) throw new Error(`actions/checkout: path "${inputs.path}" leaves the workspace.`);
  mkdirSync(target, { recursive: true });
  if (local.checkout === 'link') {
    for (const entry of local.linkEntries ?? readdirSync(local.dir)) {
      const link = path.join(target, entry);
      if (!existsSync(link)) symlinkSync(path.join(local.dir, entry), link);
    }
    context.log(`checkout: ${repository} linked from ${local.dir} (${(local.linkEntries ?? ['everything']).join(', ')})`);
    return {};
  }
  await runProcess('git', ['clone', '--quiet', '--no-hardlinks', local.dir, target]);
  if (inputs.ref) await runProcess('git', ['-C', target, 'checkout', '--quiet', inputs.ref]);
  const { stdout } = await runProcess('git', ['-C', target, 'rev-parse', 'HEAD']);
  context.log(`checkout: ${repository}${inputs.ref ? `@${inputs.ref}` : ''} -> ${path.relative(context.workspace, target) || '.'} (${stdout.trim().slice(0, 12)})`);
  return { ref: inputs.ref ?? '', commit: stdout.trim() };
};

/**
 * actions/upload-artifact: the files under `path` (a file or a directory), uploaded with the same
 * client library the real action uses, to the artifact service the step's environment names.
 */
const uploadArtifact: BuiltinAction = async (context, inputs): Promise<Record<string, string>> => {
  const root = path.resolve(context.workspace, inputs.path ?? '');
  if (!existsSync(root)) {
    if (inputs['if-no-files-found'] === 'error') throw new Error(`actions/upload-artifact: no files at ${inputs.path}`);
    context.log(`upload-artifact: no files at ${inputs.path}; nothing uploaded`);
    return {};
  }
  const files = statSync(root).isDirectory()
    ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
    : [root];
  const saved = { ...process.env };
  // The client reads the runner's variables from process.env, and logs through @actions/core to
  // stdout: its lines go to the step's log, its ::debug:: lines nowhere (as without step debug).
  Object.assign(process.env, context.env);
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) if (line && !line.startsWith('::debug::')) context.log(line);
    return true;
  }) as typeof process.stdout.write;
  try {
    const { DefaultArtifactClient } = await import('@actions/artifact');
    const { id, size } = await new DefaultArtifactClient().uploadArtifact(inputs.name || 'artifact', files, statSync(root).isDirectory() ? root : path.dirname(root), {
      retentionDays: inputs['retention-days'] ? Number(inputs['retention-days']) : undefined,
    });
    context.log(`upload-artifact: ${inputs.name || 'artifact'} (${files.length} file(s), ${size} bytes, id ${id})`);
    return { 'artifact-id': String(id) };
  } finally {
    process.stdout.write = write;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
};

export const BUILTIN_ACTIONS: Record<string, BuiltinAction> = {
  'actions/checkout': checkout,
  'actions/upload-artifact': uploadArtifact,
};

/** "actions/checkout@v4" -> the checkout stand-in, or undefined. */
export function builtinFor(uses: string): BuiltinAction | undefined {
  return BUILTIN_ACTIONS[uses.split('@')[0]];
}
