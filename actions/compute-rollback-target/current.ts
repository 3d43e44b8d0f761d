import path from 'node:path';
import { ActionError, InputError } from '../../shared/errors.js';
import { composeContainers } from '../../shared/engine/containers.js';
import { localExecutor, type HostExecutor } from '../../shared/engine/executor.js';
import type { HostOnDemand } from '../../shared/engine/host-on-demand.js';
import { inspectServices, servicesWithTasks, withoutDigest } from '../../shared/engine/swarm.js';
import type { GitHubClient } from '../../shared/github/deployments.js';
import { environmentDeployments, type DeploymentRecord } from '../../shared/releases/deployments.js';
import { currentRepository } from '../../shared/releases/github.js';
import type { ReleaseTag, TagCatalog } from '../../shared/releases/release-tags.js';
import type { ComputeInputs } from './inputs.js';
import { ledgerCurrent, type LedgerHistory } from './ledger-source.js';

export interface CurrentVersion {
  release: ReleaseTag;
  source: 'input' | 'deployment' | 'service' | 'ledger';
  /** How it was found, for the summary: "deployment 1042 to production (success)". */
  detail: string;
  deployment?: DeploymentRecord;
}

/** A deployment's ref or commit as a release tag: refs may be tags, refs/tags/..., or commit SHAs. */
export function releaseForDeployment(
  catalog: TagCatalog,
  deployment: Pick<DeploymentRecord, 'ref' | 'sha'>,
): ReleaseTag | undefined {
  const name = deployment.ref.replace(/^refs\/tags\//, '');
  const byName = catalog.byTag.get(name);
  if (byName) return byName;
  // Several tags on one commit: the highest version is the release that commit was shipped as.
  return catalog.releases.find(
    (release) =>
      release.commit !== undefined && (release.commit === deployment.sha || release.commit === deployment.ref),
  );
}

/** An image tag as a release: images are often tagged 1.2.3 for the release v1.2.3. */
function releaseForImageTag(catalog: TagCatalog, imageTag: string): ReleaseTag | undefined {
  return (
    catalog.byTag.get(imageTag) ??
    (catalog.scheme.pattern ? undefined : catalog.byTag.get(`${catalog.scheme.prefix}${imageTag}`))
  );
}

/** compose's default project name: the directory name, lowercased, without other characters. */
export function defaultProjectName(directory: string): string {
  return path
    .basename(directory)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[^a-z0-9]+/, '');
}

async function fromDeployments(
  client: GitHubClient,
  environment: string,
  catalog: TagCatalog,
): Promise<CurrentVersion | undefined> {
  for await (const deployment of environmentDeployments(client, currentRepository(), environment)) {
    const release = releaseForDeployment(catalog, deployment);
    if (!release) {
      throw new ActionError(
        `The latest deployment to "${environment}" (id ${deployment.id}) deployed ref "${deployment.ref}" (commit ${deployment.sha.slice(0, 12)}), which is no release tag ${catalog.scheme.description}.`,
        { hint: 'Set "current" to the release tag running now.' },
      );
    }
    const state = deployment.latestState ?? 'no status';
    return {
      release,
      source: 'deployment',
      detail: `latest deployment to ${environment} (id ${deployment.id}, ${state})`,
      deployment,
    };
  }
  return undefined;
}

async function fromService(service: string, project: string, catalog: TagCatalog): Promise<CurrentVersion> {
  const containers = await composeContainers(localExecutor, project, service, { runningOnly: true });
  if (containers.length === 0) {
    throw new InputError(
      'current-from-service',
      `names service "${service}", but no running container of compose project "${project}" belongs to it.`,
      {
        hint: 'Set "project-name" to the compose project (docker compose ls), or set "current".',
      },
    );
  }
  const tags = [...new Set(containers.map((container) => container.tag ?? `(untagged ${container.image})`))];
  if (tags.length > 1)
    throw new ActionError(
      `Service "${service}" of project "${project}" runs several versions at once (${tags.join(', ')}): set "current" to say which one to roll back from.`,
    );
  const imageTag = tags[0];
  const release = releaseForImageTag(catalog, imageTag);
  if (!release) {
    throw new ActionError(
      `Service "${service}" runs image ${containers[0].image}, whose tag "${imageTag}" is no release tag ${catalog.scheme.description}.`,
      {
        hint: 'Set "current" to the release tag running now.',
      },
    );
  }
  return {
    release,
    source: 'service',
    detail: `image tag of running compose service ${project}/${service} (${containers[0].image})`,
  };
}

const SWARM_MID_UPDATE = new Set(['updating', 'paused', 'rollback_started', 'rollback_paused']);

/** The release a swarm service runs: its spec's image tag, once every running task runs that image. */
async function fromSwarmService(executor: HostExecutor, name: string, catalog: TagCatalog): Promise<CurrentVersion> {
  const [service] = await inspectServices(executor, [name]);
  if (!service) {
    throw new InputError(
      'current-from-swarm-service',
      `names "${name}", which is not a service of the swarm ${executor.remote ? `on ${executor.description}` : 'DOCKER_HOST points at'}.`,
      {
        hint: 'Name it as docker service ls does (a stack\'s services are <stack>_<service>), run the step where the engine is a swarm manager, or set "current".',
      },
    );
  }
  const { tasks } = await servicesWithTasks(executor, [service.id]);
  const running = [
    ...new Set(
      tasks
        .filter((task) => task.desiredState === 'running' && task.state === 'running')
        .map((task) => withoutDigest(task.image)),
    ),
  ];
  // Mid-update, the tasks sampled can all be on one side (a failed task not yet replaced), so the
  // update state alone says that two versions are in play: the spec's and the one before it.
  const midUpdate = SWARM_MID_UPDATE.has(service.update?.state ?? '');
  if (midUpdate || running.some((image) => image !== service.reference)) {
    const previous = midUpdate && service.previousImage ? [withoutDigest(service.previousImage)] : [];
    throw new ActionError(
      `Swarm service "${name}" runs several versions at once (${[...new Set([service.reference, ...running, ...previous])].join(', ')}; update state ${service.update?.state ?? 'none'}): set "current" to say which one to roll back from.`,
    );
  }
  const release = service.tag ? releaseForImageTag(catalog, service.tag) : undefined;
  if (!release) {
    throw new ActionError(
      `Swarm service "${name}" runs image ${service.reference}, whose tag "${service.tag ?? ''}" is no release tag ${catalog.scheme.description}.`,
      { hint: 'Set "current" to the release tag running now.' },
    );
  }
  const where = executor.remote ? ` on \`${executor.description}\`` : '';
  return { release, source: 'service', detail: `image tag of swarm service ${name}${where} (${service.reference})` };
}

/** Where the current version comes from, in order: the input, the environment's latest deployment, the running (compose or swarm) service. */
export async function resolveCurrent(
  inputs: ComputeInputs,
  catalog: TagCatalog,
  client: GitHubClient | undefined,
  host: HostOnDemand,
  ledger?: LedgerHistory,
): Promise<CurrentVersion> {
  if (inputs.current) {
    const release = catalog.byTag.get(inputs.current.tag);
    if (!release)
      throw new InputError(
        'current',
        `names ${inputs.current.tag}, which is not a tag of this repository (${describeTagSources(catalog, client)}).`,
      );
    return { release, source: 'input', detail: 'the "current" input' };
  }
  if (client && inputs.environment) {
    const found = await fromDeployments(client, inputs.environment, catalog);
    if (found) return found;
    if (!inputs.currentFromService && !inputs.currentFromSwarmService)
      throw new InputError(
        'current',
        `is empty and environment "${inputs.environment}" has no deployments to read it from.`,
      );
  }
  // Without GitHub, the deploy host's own record of what it runs.
  const fromLedger = !client && ledger ? ledgerCurrent(ledger, catalog) : undefined;
  if (fromLedger) return fromLedger;
  if (inputs.currentFromSwarmService)
    return await fromSwarmService(await host.open(), inputs.currentFromSwarmService, catalog);
  if (inputs.currentFromService) {
    return await fromService(
      inputs.currentFromService,
      inputs.projectName ?? defaultProjectName(inputs.repositoryPath),
      catalog,
    );
  }
  throw new InputError(
    'current',
    'is empty: set it, or set "environment" with "github-token" to read the latest deployment, or "current-from-service" / "current-from-swarm-service" to read the running image tag.',
  );
}

export function describeTagSources(catalog: TagCatalog, client: GitHubClient | undefined): string {
  const count = catalog.releases.filter((release) => !release.draftOnly).length;
  return `${count} release tag(s) ${catalog.scheme.description} found in ${client ? 'the checkout and the GitHub releases/tags API' : 'the checkout (no github-token, so no API)'}`;
}
