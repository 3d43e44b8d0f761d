import * as core from '@actions/core';
import { cancellation } from '../../shared/cancellation.js';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, InputError } from '../../shared/errors.js';
import {
  composeCheckConfig,
  composeContainerIds,
  composeDisplayName,
  composeCommand,
  composeConfig,
  composeUp,
  composeUpArgs,
  detectCompose,
  writeImageOverride,
  type ComposeCli,
  type ComposeOverride,
  type ComposeProject,
  type ComposeRunOptions,
} from '../../shared/engine/compose.js';
import { resolveServicesFromFiles, unknownComposeKeys } from '../../shared/engine/compose-file.js';
import {
  composeContainers,
  containerLogs,
  imageTag,
  inspectContainers,
  reinspectContainers,
  type ContainerInfo,
} from '../../shared/engine/containers.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { ensureImage, inspectImage, registryDigest, type LocalImage } from '../../shared/engine/images.js';
import {
  isServiceContainer,
  ServiceWatcher,
  type ServiceExpectation,
  type ServiceStatus,
} from '../../shared/engine/wait.js';
import { formatCommand } from '../../shared/process.js';
import type { RedeployInputs } from './inputs.js';
import {
  RefusedError,
  type FailureLog,
  type PreparedRedeploy,
  type RedeployReport,
  type ServiceResult,
  type ServiceSnapshot,
  type ServiceTarget,
} from './plan.js';
import { describeReadyUrl, pollReadyUrl, unansweredReadyUrlNote } from './ready-url.js';

/**
 * Strategy "compose": recreate only the named services (`up -d --no-deps`) with the tag in the
 * tag variable of compose's environment (or an image pinned by an override file), then watch the
 * containers until they are up, and put the previous images back when they are not.
 */

/** How long a container without a healthcheck must stay running when no ready-url proves more. */
export const SETTLE_MS = 3000;
const LOG_LINES = 20;

type Project = ComposeProject & { cli: ComposeCli };

function snapshotOf(service: string, containers: readonly ContainerInfo[]): ServiceSnapshot {
  const running = containers.filter((container) => isServiceContainer(container, service) && container.running);
  // Newest first: during a half-finished rollout the newest container is what was deployed last.
  running.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const newest = running[0];
  return {
    service,
    image: newest?.image,
    tag: newest ? imageTag(newest.image) : undefined,
    imageId: newest?.imageId,
    containerIds: running.map((container) => container.id),
  };
}

function describeEnv(tagVariable: string, tag: string, overrides: Record<string, string>): string {
  const names = Object.keys(overrides);
  return `${tagVariable}=${tag}${names.length > 0 ? ` and env-overrides ${names.join(', ')}` : ''}`;
}

export async function prepareCompose(inputs: RedeployInputs, executor: HostExecutor): Promise<PreparedRedeploy> {
  const deployEnv = { ...inputs.envOverrides, [inputs.tagVariable]: inputs.tag };
  const projectName = inputs.projectName;

  // When the images are known without asking compose, looking them up overlaps with the rest.
  const quick = quickTargets(inputs, executor, deployEnv);
  let lookups = quick && inputs.pull !== 'always' ? lookUpImages(executor, quick) : undefined;

  // Detection and the look at what runs now are independent when the project name is known.
  const [cli, knownContainers] = await Promise.all([
    detectCompose(executor),
    projectName
      ? composeContainers(executor, projectName, undefined, { runningOnly: true })
      : Promise.resolve(undefined),
  ]);
  const project: Project = { cli, files: inputs.composeFiles, projectName, workingDirectory: inputs.workingDirectory };
  // Targets read straight from the files skip compose's own reading of them: a file that is valid
  // YAML but not valid compose must still be refused before `up` changes anything. `up` reads and
  // validates the whole project before it acts, so a second compose start (~0.4s of v1's Python)
  // only to validate is spent where a quick look finds a key compose may not know, or cannot look.
  const configChecked =
    quick && !filesLookValid(inputs, executor) ? composeCheckConfig(executor, project, { env: deployEnv }) : undefined;
  configChecked?.catch(() => undefined);

  let before = knownContainers;
  if (!before) {
    // No project name: compose derives it (directory, COMPOSE_PROJECT_NAME, name:) and finds the containers.
    const ids = await composeContainerIds(executor, project, inputs.services, { env: deployEnv });
    before = (await inspectContainers(executor, ids)).filter((container) => container.running);
    project.projectName = before.map((container) => container.labels['com.docker.compose.project']).find(Boolean);
  }
  const previous = inputs.services.map((service) => snapshotOf(service, before));
  const composeVersion = before.map((container) => container.labels['com.docker.compose.version']).find(Boolean);
  if (!cli.version && composeVersion) cli.version = composeVersion;

  const targets = quick ?? targetsFromConfig(inputs, await composeConfig(executor, project, { env: deployEnv }));
  return {
    host: executor.description,
    tool: composeDisplayName(cli),
    previous,
    targets,
    async verify() {
      await configChecked;
      lookups ??= inputs.pull !== 'always' ? lookUpImages(executor, targets) : new Map();
      const references = [...new Set(targets.map((target) => target.image!))];
      const images = await Promise.all(
        references.map(async (reference) => {
          const present = await lookups!.get(reference);
          if (typeof present === 'object') return { ...present, pulled: false };
          // After a failed look ensureImage looks again, so that failure is reported or overcome there.
          return await ensureImage(executor, reference, inputs.pull, { knownAbsent: present === 'absent' });
        }),
      );
      for (const target of targets) {
        const image = images.find((candidate) => candidate.reference === target.image)!;
        target.imageId = image.id;
        target.digest = registryDigest(image);
        target.pulled = image.pulled;
      }
    },
    execute: (startedAt) => executeCompose(inputs, executor, project, previous, targets, startedAt),
  };
}

/** Every key of the compose files on the runner is one the Compose Specification defines. */
function filesLookValid(inputs: RedeployInputs, executor: HostExecutor): boolean {
  if (executor.remote) return false;
  const unknown = unknownComposeKeys(inputs.workingDirectory, inputs.composeFiles);
  if (unknown?.length) core.info(`Asking compose about ${unknown.join(', ')} before anything changes.`);
  return unknown !== undefined && unknown.length === 0;
}

type ImageLookup = LocalImage | 'absent' | 'failed';

/** `docker image inspect` of each distinct image, started now and awaited by verify(). */
function lookUpImages(executor: HostExecutor, targets: readonly ServiceTarget[]): Map<string, Promise<ImageLookup>> {
  const lookups = new Map<string, Promise<ImageLookup>>();
  for (const target of targets) {
    if (!lookups.has(target.image!))
      lookups.set(
        target.image!,
        inspectImage(executor, target.image!).then(
          (image) => image ?? 'absent',
          () => 'failed' as const,
        ),
      );
  }
  return lookups;
}

/** The targets when they need no compose run: a pinned image, or image: lines read straight from the files. */
function quickTargets(
  inputs: RedeployInputs,
  executor: HostExecutor,
  env: Record<string, string>,
): ServiceTarget[] | undefined {
  if (inputs.image) return inputs.services.map((service) => ({ service, image: `${inputs.image}:${inputs.tag}` }));
  if (executor.remote) return undefined;
  const fromFiles = resolveServicesFromFiles(inputs.workingDirectory, inputs.composeFiles, inputs.services, {
    ...process.env,
    ...env,
  });
  return fromFiles ? targetsFromConfig(inputs, fromFiles) : undefined;
}

function targetsFromConfig(inputs: RedeployInputs, config: Record<string, { image?: string }>): ServiceTarget[] {
  const targets: ServiceTarget[] = [];
  for (const service of inputs.services) {
    const entry = config[service];
    if (!entry) {
      throw new InputError(
        'services',
        `names "${service}", which is not a service of the compose project in ${inputs.workingDirectory}; its services: ${Object.keys(config).join(', ') || 'none'}.`,
      );
    }
    if (!entry.image) {
      throw new ActionError(
        `Service "${service}" has no image: in the compose file (it is built), so there is no tagged image to redeploy.`,
        {
          hint: `Give it image: <registry>/<name>:\${${inputs.tagVariable}}, or set the image input to pin one.`,
        },
      );
    }
    if (imageTag(entry.image) !== inputs.tag) {
      throw new ActionError(
        `Service "${service}" would run image ${entry.image} with ${inputs.tagVariable}=${inputs.tag}: its tag does not come from ${inputs.tagVariable}, so redeploying would not change it.`,
        {
          hint: `Write the service's image as <name>:\${${inputs.tagVariable}} in the compose file, set tag-variable to the variable it uses, or set the image input to pin <image>:<tag> through an override file.`,
        },
      );
    }
    targets.push({ service, image: entry.image });
  }
  return targets;
}

async function listProject(
  executor: HostExecutor,
  project: Project,
  services: readonly string[],
  env: Record<string, string>,
  knownName: string | undefined,
): Promise<{ name?: string; containers: ContainerInfo[] }> {
  if (knownName) return { name: knownName, containers: await composeContainers(executor, knownName) };
  const ids = await composeContainerIds(executor, project, services, { env });
  const containers = await inspectContainers(executor, ids);
  return {
    name: containers.map((container) => container.labels['com.docker.compose.project']).find(Boolean),
    containers,
  };
}

interface DeployRound {
  ok: boolean;
  failure?: string;
  statuses: ServiceStatus[];
  /** Every container of the project in the last look (for the snapshot of what runs now). */
  containers: ContainerInfo[];
  readyAt: Map<string, number>;
  readyUrlOk?: boolean;
  /** The ready-url's last answer (or error), and whether it ever answered with any HTTP status. */
  readyUrlLast?: string;
  readyUrlAnswered?: boolean;
}

/** A status line worth printing again: its state or detail changed, not only how long it has been up. */
function progressKey(status: ServiceStatus): string {
  return `${status.state}:${status.detail.replace(/\bup \d+(?:\.\d+)?s\b/, 'up')}`;
}

/** `up`, then watch until ready (or failed), then the ready-url, then one more look. */
async function deployAndWait(
  label: string,
  inputs: RedeployInputs,
  executor: HostExecutor,
  project: Project,
  services: readonly string[],
  env: Record<string, string>,
  expectations: ServiceExpectation[],
  override: ComposeOverride | undefined,
  startedAt: number,
  readyUrl: string | undefined,
): Promise<DeployRound> {
  const deadline = Date.now() + inputs.healthTimeoutMs;
  const extraFiles = override ? [override.path] : [];
  const shown = composeCommand(project, composeUpArgs(services), extraFiles);
  core.info(
    `${label}: ${formatCommand(shown.command, shown.args)} on ${executor.description} in ${inputs.workingDirectory}`,
  );
  try {
    await composeUp(executor, project, services, {
      env,
      extraFiles,
      timeoutMs: inputs.healthTimeoutMs + 300_000,
      onLine: (line) => core.info(`  ${line}`),
      onRemovedRestarted: (id) =>
        core.warning(
          `${label}: the engine restarted the old container ${id.slice(0, 12)} (restart policy) while compose replaced it; it was force-removed and compose up ran again.`,
        ),
    });
  } catch (error) {
    // Cancelled: nothing more runs, in particular no restore; main reports the state as unknown.
    if (!(error instanceof ActionError) || cancellation.cancelled) throw error;
    if (label === 'Redeploy') await refuseInvalidProject(executor, project, { env, extraFiles });
    const { containers } = await listProject(executor, project, services, env, project.projectName).catch(() => ({
      containers: [] as ContainerInfo[],
    }));
    const statuses = services.map((service): ServiceStatus => ({
      service,
      state: 'missing',
      detail: 'compose up failed',
      containers: containers.filter((container) => isServiceContainer(container, service)),
    }));
    return { ok: false, failure: error.message, statuses, containers, readyAt: new Map() };
  }

  if (!project.projectName) {
    // Learnt from the containers' labels; passing it as -p from now on names the same project.
    project.projectName = (await listProject(executor, project, services, env, undefined)).name;
  }
  const projectName = project.projectName;
  if (!projectName) {
    return {
      ok: false,
      failure: `compose up succeeded but no container of ${services.join(', ')} exists afterwards.`,
      statuses: [],
      containers: [],
      readyAt: new Map(),
    };
  }

  const readyAt = new Map<string, number>();
  const lastShown = new Map<string, string>();
  let readyUrlAnswered: boolean | undefined;
  const watcher = new ServiceWatcher(expectations, {
    listContainers: () => composeContainers(executor, projectName),
    reinspect: (ids) => reinspectContainers(executor, ids),
    settleMs: readyUrl ? 0 : SETTLE_MS,
  });
  const waited = await watcher.waitUntilReady(deadline, {
    onProgress: (statuses) => {
      for (const status of statuses) {
        if (status.state === 'ready' && !readyAt.has(status.service))
          readyAt.set(status.service, Date.now() - startedAt);
        if (lastShown.get(status.service) !== progressKey(status)) {
          lastShown.set(status.service, progressKey(status));
          core.info(`  ${status.service}: ${status.detail} (${formatDuration(Date.now() - startedAt)})`);
        }
      }
    },
    // Polled alongside the containers: the URL usually answers before a second look at them is due.
    probe: readyUrl
      ? async (signal) => {
          const ready = await pollReadyUrl(readyUrl, deadline, { signal });
          readyUrlAnswered = ready.answered;
          if (!signal.aborted)
            core.info(
              `  ready-url ${describeReadyUrl(readyUrl)}: ${ready.last} after ${ready.attempts} attempt(s), ${formatDuration(ready.elapsedMs)} (${formatDuration(Date.now() - startedAt)})`,
            );
          return ready;
        }
      : undefined,
  });
  const readyUrlOk = waited.probe?.ok;
  const probed = { readyUrlOk, readyUrlLast: waited.probe?.last, readyUrlAnswered };
  if (waited.ok) {
    // With a ready-url, a service is up once the URL answered too, which is now.
    if (readyUrl) for (const service of services) readyAt.set(service, Date.now() - startedAt);
    return { ok: true, statuses: waited.services, containers: waited.containers, readyAt, ...probed };
  }
  const bad = waited.services.filter((status) => status.state !== 'ready');
  if (bad.length > 0) {
    const why = bad
      .map(
        (status) =>
          `service "${status.service}" did not become ${status.containers.some((container) => container.health) ? 'healthy' : 'ready'}${waited.timedOut ? ` within ${formatDuration(inputs.healthTimeoutMs)}` : ''}: ${status.detail}`,
      )
      .join('; ');
    return {
      ok: false,
      failure: why.charAt(0).toUpperCase() + why.slice(1),
      statuses: waited.services,
      containers: waited.containers,
      readyAt,
      ...probed,
    };
  }
  return {
    ok: false,
    failure: `ready-url ${describeReadyUrl(readyUrl!)} did not answer 2xx within ${formatDuration(inputs.healthTimeoutMs)} of the redeploy of ${services.join(', ')} (last: ${waited.probe?.last ?? 'no answer'}).`,
    statuses: waited.services,
    containers: waited.containers,
    readyAt,
    ...probed,
  };
}

/**
 * After a failed first `up`: when compose finds the project invalid, `up` refused it while reading
 * it, before it stopped or created anything, so this is a refusal (nothing to restore), not a
 * redeploy that failed.
 */
async function refuseInvalidProject(
  executor: HostExecutor,
  project: Project,
  options: ComposeRunOptions,
): Promise<void> {
  try {
    await composeCheckConfig(executor, project, options);
  } catch (invalid) {
    if (!(invalid instanceof ActionError) || cancellation.cancelled) throw invalid;
    throw new RefusedError(invalid.message, { hint: invalid.hint, cause: invalid });
  }
}

async function collectLogs(executor: HostExecutor, statuses: readonly ServiceStatus[]): Promise<FailureLog[]> {
  const wanted = statuses
    .filter((status) => status.state !== 'ready')
    .flatMap((status) => status.containers.map((container) => ({ service: status.service, id: container.id })));
  return await Promise.all(
    wanted.map(async ({ service, id }) => ({
      service,
      containerId: id,
      lines: await containerLogs(executor, id, LOG_LINES),
    })),
  );
}

async function executeCompose(
  inputs: RedeployInputs,
  executor: HostExecutor,
  project: Project,
  previous: ServiceSnapshot[],
  targets: ServiceTarget[],
  startedAt: number,
): Promise<RedeployReport> {
  const env = { ...inputs.envOverrides, [inputs.tagVariable]: inputs.tag };
  core.info(
    `Redeploying ${inputs.services.join(', ')} with ${describeEnv(inputs.tagVariable, inputs.tag, inputs.envOverrides)}.`,
  );
  const expectations = targets.map((target) => ({
    service: target.service,
    image: target.image!,
    imageId: target.imageId!,
  }));
  const override = inputs.image
    ? await writeImageOverride(executor, Object.fromEntries(targets.map((target) => [target.service, target.image!])))
    : undefined;
  let round: DeployRound;
  try {
    round = await deployAndWait(
      'Redeploy',
      inputs,
      executor,
      project,
      inputs.services,
      env,
      expectations,
      override,
      startedAt,
      inputs.readyUrl,
    );
  } finally {
    await override?.remove();
  }

  const unchanged = previous.every(
    (snapshot, index) => snapshot.imageId === targets[index].imageId && snapshot.containerIds.length > 0,
  );
  const results = (
    statuses: readonly ServiceStatus[],
    readyAt: Map<string, number>,
    to: (service: string) => string,
  ): ServiceResult[] =>
    inputs.services.map((service) => {
      const status = statuses.find((candidate) => candidate.service === service);
      const snapshot = previous.find((candidate) => candidate.service === service);
      return {
        service,
        from: snapshot?.tag ?? snapshot?.image,
        to: to(service),
        containerIds: (status?.containers ?? [])
          .filter((container) => container.running)
          .map((container) => container.id),
        health: status?.detail ?? 'unknown',
        ready: status?.state === 'ready',
        readyAfterMs: readyAt.get(service),
      };
    });

  if (round.ok) {
    const current = inputs.services.map((service) => snapshotOf(service, round.containers));
    return {
      success: true,
      outcome: unchanged ? 'unchanged' : 'deployed',
      services: results(round.statuses, round.readyAt, () => inputs.tag),
      current,
      logs: [],
      readyUrlOk: round.readyUrlOk,
    };
  }

  const logs = await collectLogs(executor, round.statuses);
  for (const log of logs) {
    core.startGroup(`Last ${LOG_LINES} log lines of ${log.service} (${log.containerId.slice(0, 12)})`);
    core.info(log.lines || '(no output)');
    core.endGroup();
  }
  const failed = results(round.statuses, round.readyAt, () => inputs.tag);
  if (inputs.onFailure !== 'restore-previous') {
    const current = await currentSnapshot(executor, project, inputs.services, env, project.projectName);
    return {
      success: false,
      outcome: 'failed',
      failure: round.failure,
      services: failed,
      current,
      logs,
      readyUrlOk: round.readyUrlOk,
      hint: 'on-failure is "leave": the new containers were left as they are.',
    };
  }

  let restoreReadyUrl = inputs.readyUrl;
  if (inputs.readyUrl && round.readyUrlAnswered === false) {
    core.warning(unansweredReadyUrlNote(inputs.readyUrl, round.readyUrlLast ?? 'no answer'));
    restoreReadyUrl = undefined;
  }
  const restore = await restorePrevious(inputs, executor, project, previous, startedAt, restoreReadyUrl);
  const current = await currentSnapshot(executor, project, inputs.services, env, project.projectName);
  const restoredServices = results(
    restore.statuses,
    restore.readyAt,
    (service) => previous.find((snapshot) => snapshot.service === service)?.tag ?? '(previous)',
  ).filter((result) => restore.statuses.some((status) => status.service === result.service));
  return {
    success: false,
    outcome: restore.ok ? 'restored' : 'failed',
    failure: round.failure,
    services: failed,
    current,
    logs,
    restore: {
      ok: restore.ok,
      detail: restore.detail,
      services: restoredServices.map((result) => ({ ...result, from: inputs.tag })),
    },
    readyUrlOk: round.readyUrlOk,
  };
}

async function restorePrevious(
  inputs: RedeployInputs,
  executor: HostExecutor,
  project: Project,
  previous: ServiceSnapshot[],
  startedAt: number,
  readyUrl: string | undefined,
): Promise<{ ok: boolean; detail: string; statuses: ServiceStatus[]; readyAt: Map<string, number> }> {
  const restorable = previous.filter((snapshot) => snapshot.image && snapshot.imageId);
  const nothing = previous.filter((snapshot) => !snapshot.image).map((snapshot) => snapshot.service);
  if (restorable.length === 0) {
    const detail = `nothing to restore: no container of ${nothing.join(', ')} was running before.`;
    core.warning(`on-failure restore-previous: ${detail}`);
    return { ok: false, detail, statuses: [], readyAt: new Map() };
  }
  // Services that ran the same tag go back together; a pinned image (or an untagged one) by override file.
  const byImage = new Map<string, ServiceSnapshot[]>();
  for (const snapshot of restorable) byImage.set(snapshot.image!, [...(byImage.get(snapshot.image!) ?? []), snapshot]);
  const statuses: ServiceStatus[] = [];
  const readyAt = new Map<string, number>();
  const problems: string[] = [];
  for (const [image, snapshots] of byImage) {
    const services = snapshots.map((snapshot) => snapshot.service);
    const tag = imageTag(image);
    const pin = Boolean(inputs.image) || !tag;
    if (pin && inputs.composeFiles.length === 0) {
      problems.push(`${services.join(', ')}: the previous image ${image} can only be pinned with compose-file given`);
      continue;
    }
    const env = { ...inputs.envOverrides, [inputs.tagVariable]: tag ?? inputs.tag };
    const current = await inspectImage(executor, image);
    const expectations = snapshots.map((snapshot) => ({
      service: snapshot.service,
      image,
      imageId: current?.id ?? snapshot.imageId!,
    }));
    if (current && current.id !== snapshots[0].imageId)
      core.warning(
        `${image} now names a different image (${current.id}) than the one that ran before (${snapshots[0].imageId}); restoring what the tag names now.`,
      );
    const override = pin
      ? await writeImageOverride(executor, Object.fromEntries(services.map((service) => [service, image])))
      : undefined;
    try {
      core.info(`Restoring ${services.join(', ')} to ${image}.`);
      const round = await deployAndWait(
        'Restore',
        inputs,
        executor,
        project,
        services,
        env,
        expectations,
        override,
        startedAt,
        readyUrl,
      );
      statuses.push(...round.statuses);
      for (const [service, ms] of round.readyAt) readyAt.set(service, ms);
      if (!round.ok) problems.push(round.failure ?? `${services.join(', ')} did not come back`);
    } finally {
      await override?.remove();
    }
  }
  if (nothing.length > 0) problems.push(`${nothing.join(', ')} did not run before, so there is nothing to restore`);
  const ok = problems.length === 0;
  const detail = ok
    ? `restored ${restorable.map((snapshot) => `${snapshot.service} to ${snapshot.tag ?? snapshot.image}`).join(', ')}; running and healthy again`
    : `restore incomplete: ${problems.join('; ')}`;
  (ok ? core.info : core.error)(`on-failure restore-previous: ${detail}`);
  return { ok, detail, statuses, readyAt };
}

async function currentSnapshot(
  executor: HostExecutor,
  project: Project,
  services: readonly string[],
  env: Record<string, string>,
  name: string | undefined,
): Promise<ServiceSnapshot[]> {
  const listed = await listProject(executor, project, services, env, name).catch(() => ({
    containers: [] as ContainerInfo[],
  }));
  return services.map((service) => snapshotOf(service, listed.containers));
}
