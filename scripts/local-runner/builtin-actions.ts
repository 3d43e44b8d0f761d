import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import type { LocalRepository } from './types.js';

/**
 * Local stand-ins for the marketplace actions our workflows use, doing on this machine what the
 * real ones do on a runner. Only these are supported; any other `uses:` fails the step.
 */
export interface BuiltinContext {
  workspace: string;
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

export const BUILTIN_ACTIONS: Record<string, BuiltinAction> = {
  'actions/checkout': checkout,
};

/** "actions/checkout@v4" -> the checkout stand-in, or undefined. */
export function builtinFor(uses: string): BuiltinAction | undefined {
  return BUILTIN_ACTIONS[uses.split('@')[0]];
}
