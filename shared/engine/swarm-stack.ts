import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { formatCommand, ProcessError, type RunResult } from '../process.js';
import { resolveServicesFromTexts, type FileServiceConfig } from './compose-file.js';
import type { HostExecutor } from './executor.js';

/**
 * A Swarm stack deployed from compose files (`docker stack deploy`), with the tag coming in
 * through the tag variable of the CLI's environment, as compose gets it. The files are read where
 * the CLI runs (the runner, or the manager over SSH) to learn each service's image, healthcheck
 * and placement before anything changes; when they use more than this suite's interpolation knows,
 * `docker stack config` (Docker CLI 23 and later) resolves them instead.
 */
export interface StackFiles {
  stack: string;
  /** -c files, relative to workingDirectory. */
  files: string[];
  workingDirectory: string;
}

/** A stack service's swarm name: <stack>_<service>. */
export function stackServiceName(stack: string, service: string): string {
  return `${stack}_${service}`;
}

/** The service's name in the stack's files, from its swarm name. */
export function stackShortName(stack: string, name: string): string {
  return name.startsWith(`${stack}_`) ? name.slice(stack.length + 1) : name;
}

async function readFileText(executor: HostExecutor, workingDirectory: string, file: string): Promise<string> {
  if (!executor.remote) {
    try {
      return readFileSync(path.resolve(workingDirectory, file), 'utf8');
    } catch (error) {
      throw new ActionError(
        `Cannot read compose file ${file} in ${workingDirectory}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      );
    }
  }
  const result = await executor.run('cat', ['--', file], {
    cwd: workingDirectory,
    okExitCodes: [0, 1],
    timeoutMs: 30_000,
  });
  if (result.exitCode !== 0)
    throw new ActionError(
      `Cannot read compose file ${file} in ${workingDirectory} on ${executor.description}: ${result.stderr.trim()}`,
    );
  return result.stdout;
}

async function stackConfig(
  executor: HostExecutor,
  stack: StackFiles,
  env: Record<string, string>,
  interpolate: boolean,
): Promise<string> {
  const args = [
    'stack',
    'config',
    ...stack.files.flatMap((file) => ['-c', file]),
    ...(interpolate ? [] : ['--skip-interpolation']),
  ];
  const result = await executor.run('docker', args, {
    cwd: stack.workingDirectory,
    env,
    okExitCodes: [0, 1, 125],
    timeoutMs: 60_000,
  });
  if (result.exitCode === 0) return result.stdout;
  if (/unknown command|is not a docker command|Usage:\s+docker stack \[OPTIONS\] COMMAND/i.test(result.stderr)) {
    throw new ActionError(
      `The compose files of stack ${stack.stack} use more than plain variable interpolation (e.g. extends, or a variable unset on this side), and the Docker CLI on ${executor.description} has no "docker stack config" to resolve them.`,
      {
        hint: "Write each service's image as <name>:${TAG_VARIABLE} with its variables set, or use Docker CLI 23 or later there.",
      },
    );
  }
  throw new ActionError(
    `${formatCommand('docker', args)} failed on ${executor.description} (in ${stack.workingDirectory}):\n${result.stderr.trim()}`,
  );
}

/**
 * Every service of the stack files, with the tag variable (and overrides) in `env`: its image as
 * the deploy will set it, the image as written (does it read the tag variable?), healthcheck and
 * placement constraints.
 */
export async function resolveStackServices(
  executor: HostExecutor,
  stack: StackFiles,
  env: Record<string, string>,
): Promise<Record<string, FileServiceConfig>> {
  const texts = await Promise.all(stack.files.map((file) => readFileText(executor, stack.workingDirectory, file)));
  // Locally compose would see this process's environment too; remotely, only what is passed.
  const quick = resolveServicesFromTexts(texts, 'all', executor.remote ? env : { ...process.env, ...env });
  if (quick && Object.keys(quick).length > 0) return quick;
  const [resolved, raw] = await Promise.all([
    stackConfig(executor, stack, env, true),
    stackConfig(executor, stack, env, false),
  ]);
  const services = resolveServicesFromTexts([resolved], 'all', {});
  const written = resolveServicesFromTexts([raw.replace(/\$/g, '$$$$')], 'all', {});
  if (!services || Object.keys(services).length === 0)
    throw new ActionError(
      `docker stack config found no service with an image in the compose files of stack ${stack.stack}.`,
    );
  for (const [name, service] of Object.entries(services)) service.rawImage = written?.[name]?.image ?? service.rawImage;
  return services;
}

/** ["--detach=true"] when this CLI's `stack deploy` takes it (26 and later; older ones always return at once). */
export async function stackDeployDetachFlag(executor: HostExecutor): Promise<string[]> {
  const help = await executor.run('docker', ['stack', 'deploy', '--help'], { okExitCodes: [0, 1], timeoutMs: 30_000 });
  return /--detach\b/.test(help.stdout) ? ['--detach=true'] : [];
}

/** `extraFiles` go last, so what they set wins (the recorded replicas over the file's). */
export function stackDeployArgs(
  stack: StackFiles,
  extra: readonly string[] = [],
  extraFiles: readonly string[] = [],
): string[] {
  // Digests are resolved only for images that changed, so the stack's other services stay as they are.
  return [
    'stack',
    'deploy',
    ...[...stack.files, ...extraFiles].flatMap((file) => ['-c', file]),
    '--resolve-image',
    'changed',
    ...extra,
    stack.stack,
  ];
}

/** `docker stack deploy`, returning once the manager accepted the new specs (the update runs on). */
export async function deployStack(
  executor: HostExecutor,
  stack: StackFiles,
  env: Record<string, string>,
  detachFlag: readonly string[],
  onLine?: (line: string) => void,
  extraFiles: readonly string[] = [],
): Promise<RunResult> {
  const args = stackDeployArgs(stack, detachFlag, extraFiles);
  try {
    return await executor.run('docker', args, {
      cwd: stack.workingDirectory,
      env,
      timeoutMs: 300_000,
      onStdoutLine: onLine,
      onStderrLine: onLine,
    });
  } catch (error) {
    if (error instanceof ProcessError) {
      throw new ActionError(
        `${formatCommand('docker', args)} failed on ${executor.description} (in ${stack.workingDirectory}):\n${(error.result.stderr || error.result.stdout).trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    throw error;
  }
}
