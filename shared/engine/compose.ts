import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CancelledError } from '../cancellation.js';
import { ActionError } from '../errors.js';
import { findExecutable, formatCommand, ProcessError, type RunResult } from '../process.js';
import { healthcheckDefined } from './compose-file.js';
import { forceRemoveContainer } from './containers.js';
import type { HostExecutor } from './executor.js';

/**
 * Docker Compose, whichever is installed where the commands run: the v2 CLI plugin (`docker
 * compose`) first, then the v1 Python tool (`docker-compose`). Both take the same -f/-p/up/ps/config
 * arguments used here, so callers never branch on the version.
 */
export interface ComposeCli {
  kind: 'v2' | 'v1';
  program: string;
  /** Arguments before compose's own: ['compose'] for the plugin. */
  baseArgs: string[];
  /** "2.29.1" / "1.29.2" when known (a local v1 is not run just to ask). */
  version?: string;
}

export function composeDisplayName(cli: ComposeCli): string {
  return `${cli.kind === 'v2' ? 'docker compose' : 'docker-compose'}${cli.version ? ` ${cli.version}` : ''} (${cli.kind})`;
}

/** Where the docker CLI looks for plugins (its cli-plugins manager's list), for the compose plugin on the runner. */
function composePluginOnRunner(): boolean {
  const configDir = process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  const dirs = [
    path.join(configDir, 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
  return dirs.some((dir) => findExecutable(path.join(dir, 'docker-compose')) !== undefined);
}

export async function detectCompose(executor: HostExecutor): Promise<ComposeCli> {
  if (!executor.remote) {
    // Starting the CLI (or the Python v1 tool, ~0.4s) just to ask costs more than the rest of the
    // preparation: on the runner, the plugin's file or v1 on PATH is enough.
    if (composePluginOnRunner()) return { kind: 'v2', program: 'docker', baseArgs: ['compose'] };
    if (findExecutable('docker-compose')) return { kind: 'v1', program: 'docker-compose', baseArgs: [] };
  } else {
    const v2 = await executor
      .run('docker', ['compose', 'version', '--short'], { okExitCodes: [0, 1, 125, 127], timeoutMs: 30_000 })
      .catch(() => undefined);
    if (v2?.exitCode === 0 && v2.stdout.trim())
      return { kind: 'v2', program: 'docker', baseArgs: ['compose'], version: v2.stdout.trim().replace(/^v/, '') };
    const v1 = await executor
      .run('docker-compose', ['version', '--short'], { okExitCodes: [0, 1, 126, 127], timeoutMs: 30_000 })
      .catch(() => undefined);
    if (v1?.exitCode === 0)
      return { kind: 'v1', program: 'docker-compose', baseArgs: [], version: v1.stdout.trim() || undefined };
  }
  throw new ActionError(
    `Docker Compose is not available on ${executor.description}: neither "docker compose" (v2) nor "docker-compose" (v1) runs there.`,
    {
      hint: 'Install the Compose plugin (docker-compose-plugin) or docker-compose on that host.',
    },
  );
}

export interface ComposeProject {
  cli: ComposeCli;
  /** -f files, relative to workingDirectory; empty lets compose find its default files. */
  files: string[];
  /** -p; undefined lets compose derive it (directory name, COMPOSE_PROJECT_NAME, name:). */
  projectName?: string;
  workingDirectory: string;
}

export function composeCommand(
  project: ComposeProject,
  args: readonly string[],
  extraFiles: readonly string[] = [],
): { command: string; args: string[] } {
  const files = [...project.files, ...extraFiles];
  // Extra files only make sense on top of explicit ones: without -f compose would drop its defaults.
  return {
    command: project.cli.program,
    args: [
      ...project.cli.baseArgs,
      ...files.flatMap((file) => ['-f', file]),
      ...(project.projectName ? ['-p', project.projectName] : []),
      ...args,
    ],
  };
}

export interface ComposeRunOptions {
  env?: Record<string, string | undefined>;
  extraFiles?: readonly string[];
  timeoutMs?: number;
  onLine?: (line: string) => void;
}

async function runCompose(
  executor: HostExecutor,
  project: ComposeProject,
  args: readonly string[],
  options: ComposeRunOptions = {},
): Promise<RunResult> {
  const { command, args: fullArgs } = composeCommand(project, args, options.extraFiles);
  try {
    return await executor.run(command, fullArgs, {
      cwd: project.workingDirectory,
      env: options.env,
      timeoutMs: options.timeoutMs ?? 120_000,
      onStdoutLine: options.onLine,
      onStderrLine: options.onLine,
    });
  } catch (error) {
    if (error instanceof ProcessError) {
      throw new ActionError(
        `${formatCommand(command, fullArgs)} failed on ${executor.description} (in ${project.workingDirectory}):\n${(error.result.stderr || error.result.stdout).trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    throw error;
  }
}

export interface ComposeServiceConfig {
  image?: string;
  /** A healthcheck is defined and not disabled. */
  healthcheck: boolean;
}

/** `compose config` with `args`; its failure means the files are not a valid project, and nothing ran. */
async function readConfig(
  executor: HostExecutor,
  project: ComposeProject,
  args: readonly string[],
  options: ComposeRunOptions,
): Promise<RunResult> {
  try {
    return await runCompose(executor, project, ['config', ...args], options);
  } catch (error) {
    if (!(error instanceof ActionError) || error instanceof CancelledError) throw error;
    throw new ActionError(`The compose project is not valid: ${error.message}\nNothing was changed.`, {
      hint: 'Fix the compose file(s) (`docker compose config` shows what compose reads from them), then run this step again.',
    });
  }
}

/** The project's configuration as compose resolves it (files merged, variables interpolated). */
export async function composeConfig(
  executor: HostExecutor,
  project: ComposeProject,
  options: ComposeRunOptions = {},
): Promise<Record<string, ComposeServiceConfig>> {
  const { stdout } = await readConfig(executor, project, [], options);
  const config = parseYaml(stdout, { merge: true }) as {
    services?: Record<string, { image?: unknown; healthcheck?: { disable?: boolean; test?: unknown } }>;
  } | null;
  const services: Record<string, ComposeServiceConfig> = {};
  for (const [name, service] of Object.entries(config?.services ?? {})) {
    services[name] = {
      image: typeof service?.image === 'string' ? service.image : undefined,
      healthcheck: healthcheckDefined(service?.healthcheck),
    };
  }
  return services;
}

/**
 * Validates the project as `up` would read it (files merged, variables interpolated, checked
 * against the compose schema), changing nothing: a file that is valid YAML but not valid compose.
 */
export async function composeCheckConfig(
  executor: HostExecutor,
  project: ComposeProject,
  options: ComposeRunOptions = {},
): Promise<void> {
  await readConfig(executor, project, ['-q'], options);
}

/** The container in compose's "cannot remove … as it is running" (podman) or "cannot remove a running container" (Docker). */
export function runningContainerNotRemoved(message: string): string | undefined {
  return /cannot remove (?:a running )?container ([0-9a-f]{12,64})/i.exec(message)?.[1];
}

/** composeUp's arguments, also for callers that log the command, so the log cannot drift from what runs. */
export function composeUpArgs(services: readonly string[]): string[] {
  return ['up', '-d', '--no-deps', '--no-build', '--no-color', ...services];
}

/** How often `up` is run again after removing an old container the engine restarted under it. */
const RESTARTED_CONTAINER_RETRIES = 3;

/**
 * Recreates only the named services (--no-deps), never building: the image was checked beforehand.
 *
 * Replacing a crash-looping release races its restart policy: the engine restarts the old
 * container between compose's stop and its remove, and `up` fails with the new container already
 * running. Then that old container is force-removed and `up` runs again. Only a container compose
 * itself lists for these services is removed, and compose has by then handed its volumes to the
 * new container, so nothing is lost.
 */
export async function composeUp(
  executor: HostExecutor,
  project: ComposeProject,
  services: readonly string[],
  options: ComposeRunOptions & { onRemovedRestarted?: (id: string) => void } = {},
): Promise<RunResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runCompose(executor, project, composeUpArgs(services), options);
    } catch (error) {
      const stuck =
        error instanceof ActionError && attempt < RESTARTED_CONTAINER_RETRIES
          ? runningContainerNotRemoved(error.message)
          : undefined;
      if (!stuck) throw error;
      // Not `options` itself: its onLine would echo the ids into the log, its timeout is up's.
      const own = await composeContainerIds(executor, project, services, {
        env: options.env,
        extraFiles: options.extraFiles,
      });
      const id = own.find((candidate) => candidate.startsWith(stuck) || stuck.startsWith(candidate));
      if (!id) throw error;
      await forceRemoveContainer(executor, id, options.env);
      options.onRemovedRestarted?.(id);
    }
  }
}

/** IDs of the services' containers, stopped ones included; compose finds the project the way `up` would. */
export async function composeContainerIds(
  executor: HostExecutor,
  project: ComposeProject,
  services: readonly string[],
  options: ComposeRunOptions = {},
): Promise<string[]> {
  const { stdout } = await runCompose(executor, project, ['ps', '-a', '-q', ...services], options);
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[0-9a-f]{12,64}$/.test(line));
}

/**
 * Stops (or starts again) the named services' containers without removing them: the app stops
 * answering and writing while its database changes underneath, and the same containers can be
 * started again if that change fails. Services not named (the database, if it is one) keep running.
 */
export async function composeStopStart(
  executor: HostExecutor,
  project: ComposeProject,
  action: 'stop' | 'start',
  services: readonly string[],
  options: ComposeRunOptions = {},
): Promise<RunResult> {
  return await runCompose(
    executor,
    project,
    [action, ...(action === 'stop' ? ['--timeout', '10'] : []), ...services],
    options,
  );
}

/**
 * A compose file that overrides the named services' image, passed as the last -f so its image wins.
 * It is written where compose runs (a temp file on the runner, or on the remote host through
 * `mktemp` and `tee` with the YAML on stdin) and removed by `remove()`.
 */
export interface ComposeOverride {
  path: string;
  remove(): Promise<void>;
}

export function imageOverrideYaml(images: Record<string, string>): string {
  const services: Record<string, { image: string }> = {};
  for (const [service, image] of Object.entries(images)) services[service] = { image };
  return stringifyYaml({ services });
}

export async function writeImageOverride(
  executor: HostExecutor,
  images: Record<string, string>,
): Promise<ComposeOverride> {
  return await writeComposeOverride(executor, imageOverrideYaml(images));
}

/** A compose file with `content`, written where compose (or `docker stack deploy`) runs, for the last -f/-c. */
export async function writeComposeOverride(executor: HostExecutor, content: string): Promise<ComposeOverride> {
  if (!executor.remote) {
    const dir = mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'redeploy-override-'));
    const file = path.join(dir, 'docker-compose.override.yml');
    writeFileSync(file, content);
    return { path: file, remove: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const { stdout } = await executor.run('mktemp', ['-t', 'redeploy-override.XXXXXXXXXX'], { timeoutMs: 30_000 });
  const file = stdout.trim();
  await executor.run('tee', [file], { input: content, timeoutMs: 30_000 });
  return {
    path: file,
    remove: async () => {
      await executor.run('rm', ['-f', '--', file], { okExitCodes: [0, 1], timeoutMs: 30_000 }).catch(() => undefined);
    },
  };
}
