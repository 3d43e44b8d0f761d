import { InputError } from '../../shared/errors.js';
import type { GitHubClient } from '../../shared/github/deployments.js';
import { environmentDeployments, type DeploymentRecord } from '../../shared/releases/deployments.js';
import { currentRepository } from '../../shared/releases/github.js';
import {
  isOlder,
  previousRelease,
  unsuitableReason,
  type IgnoredTag,
  type ReleaseTag,
  type TagCatalog,
} from '../../shared/releases/release-tags.js';
import { releaseForDeployment, type CurrentVersion } from './current.js';
import type { ComputeInputs } from './inputs.js';
import { ledgerLastGood, type LedgerHistory } from './ledger-source.js';

export interface TargetChoice {
  release: ReleaseTag;
  source: 'explicit' | 'previous' | 'last-successful-deployment';
  detail: string;
  /** Candidates passed over on the way, with why (skip-tags, pre-release, newer than current...). */
  passedOver: IgnoredTag[];
  deployment?: DeploymentRecord;
  /** The target is the version running now: there is nothing to roll back (an outcome, not an error). */
  isCurrent?: boolean;
}

function explicitTarget(
  inputs: ComputeInputs,
  tag: string,
  catalog: TagCatalog,
  current: CurrentVersion,
): TargetChoice {
  // run() has already rejected a target tag missing from the catalog, before resolving the current version.
  const release = catalog.byTag.get(tag)!;
  if (release.tag === current.release.tag)
    return {
      release,
      source: 'explicit',
      detail: 'the "target" input, which is the version running now',
      passedOver: [],
      isCurrent: true,
    };
  if (!isOlder(catalog, release, current.release)) {
    throw new InputError(
      'target',
      `names ${tag}, which is newer than the current version ${current.release.tag}: a rollback goes to an older release.`,
    );
  }
  const reason = unsuitableReason(release, inputs);
  if (reason) throw new InputError('target', `names ${tag}, which is ${reason}.`);
  return { release, source: 'explicit', detail: 'the "target" input', passedOver: [] };
}

function previousTarget(inputs: ComputeInputs, catalog: TagCatalog, current: CurrentVersion): TargetChoice {
  const { release, passedOver } = previousRelease(catalog, current.release, inputs);
  if (!release) {
    const considered =
      passedOver.length > 0
        ? ` Passed over: ${passedOver.map((item) => `${item.tag} (${item.reason})`).join('; ')}.`
        : '';
    throw new InputError(
      'target',
      `is "previous", but no release older than ${current.release.tag} qualifies.${considered}`,
    );
  }
  const constraint = inputs.sameMinor ? ', same minor version' : inputs.sameMajor ? ', same major version' : '';
  return { release, source: 'previous', detail: `the release before ${current.release.tag}${constraint}`, passedOver };
}

async function lastSuccessfulDeployment(
  inputs: ComputeInputs,
  catalog: TagCatalog,
  current: CurrentVersion,
  client: GitHubClient,
): Promise<TargetChoice> {
  const environment = inputs.environment!;
  const passedOver: IgnoredTag[] = [];
  for await (const deployment of environmentDeployments(client, currentRepository(), environment)) {
    if (deployment.id === current.deployment?.id) continue;
    const label = `deployment ${deployment.id} (${deployment.ref})`;
    const release = releaseForDeployment(catalog, deployment);
    if (!release) {
      passedOver.push({ tag: label, reason: `ref is no release tag ${catalog.scheme.description}` });
      continue;
    }
    if (release.tag === current.release.tag) continue; // the current version, deployed again
    if (deployment.outcome !== 'success') {
      passedOver.push({
        tag: `${release.tag} (${label})`,
        reason: `its deployment ended ${deployment.outcome ?? 'without a status'}`,
      });
      continue;
    }
    if (!isOlder(catalog, release, current.release)) {
      passedOver.push({
        tag: `${release.tag} (${label})`,
        reason: `newer than the current version ${current.release.tag}`,
      });
      continue;
    }
    const reason = unsuitableReason(release, inputs);
    if (reason) {
      passedOver.push({ tag: `${release.tag} (${label})`, reason });
      continue;
    }
    const state = deployment.latestState === 'inactive' ? 'success, since superseded' : 'success';
    return {
      release,
      source: 'last-successful-deployment',
      detail: `deployment ${deployment.id} to ${environment} (${state}, ${deployment.createdAt})`,
      passedOver,
      deployment,
    };
  }
  const considered =
    passedOver.length > 0 ? ` Passed over: ${passedOver.map((item) => `${item.tag}: ${item.reason}`).join('; ')}.` : '';
  throw new InputError(
    'target',
    `is "last-successful-deployment", but environment "${environment}" has no successful deployment of a release older than ${current.release.tag}.${considered}`,
  );
}

export async function resolveTarget(
  inputs: ComputeInputs,
  catalog: TagCatalog,
  current: CurrentVersion,
  client: GitHubClient | undefined,
  ledger?: LedgerHistory,
): Promise<TargetChoice> {
  if (inputs.target.kind === 'tag') return explicitTarget(inputs, inputs.target.tag, catalog, current);
  if (inputs.target.kind === 'previous') return previousTarget(inputs, catalog, current);
  // GitHub when it can be asked (as the workflows do), else the ledger (inputs require one of them).
  if (client && inputs.environment) return await lastSuccessfulDeployment(inputs, catalog, current, client);
  return ledgerLastGood(inputs, ledger!, catalog, current);
}
