import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { InputError } from '../../shared/errors.js';
import type { GitHubClient } from '../../shared/github/deployments.js';
import { loadMigrations } from '../../shared/migrations/formats.js';
import { directorySource, gitRefSource } from '../../shared/migrations/sources.js';
import type { Migration, MigrationFormat } from '../../shared/migrations/types.js';
import { inspectRepository, listGitTags, objectTypeAt, type RepositoryInfo } from '../../shared/releases/git.js';
import { currentRepository, listGitHubReleases, listGitHubTags } from '../../shared/releases/github.js';
import { buildTagCatalog, type TagCatalog, type TagObservation } from '../../shared/releases/release-tags.js';
import type { TagScheme } from '../../shared/releases/tag-scheme.js';
import type { ComputeInputs } from './inputs.js';

/** The checkout and the GitHub repository, as far as this run can read them. */
export interface Sources {
  /** Undefined when repository-path is not a git checkout and the API is the only source of tags. */
  git?: RepositoryInfo;
  client?: GitHubClient;
  /** Where the migrations directory is inside the git work tree ('' for the top). */
  migrationsPath?: string;
  notes: string[];
}

const CHECKOUT_HINT = 'Check the repository out first with full history: actions/checkout with "fetch-depth: 0".';

/** Checks the checkout before any network call, so bad paths fail first. */
export async function openSources(inputs: ComputeInputs, client: GitHubClient | undefined): Promise<Sources> {
  const notes: string[] = [];
  if (!existsSync(inputs.repositoryPath) || !statSync(inputs.repositoryPath).isDirectory()) {
    throw new InputError('repository-path', `names ${inputs.repositoryPath}, which is not a directory.`, {
      hint: CHECKOUT_HINT,
    });
  }
  const git = await inspectRepository(inputs.repositoryPath);
  if (!git) {
    if (inputs.migrationsDir !== undefined || !client) {
      const why =
        inputs.migrationsDir !== undefined
          ? 'migrations are read from git history'
          : 'without github-token, tags come from git only';
      throw new InputError('repository-path', `names ${inputs.repositoryPath}, which is not a git checkout (${why}).`, {
        hint: CHECKOUT_HINT,
      });
    }
    notes.push(`${inputs.repositoryPath} is not a git checkout: tags come from the GitHub API only.`);
    return { client, notes };
  }
  if (git.shallow) {
    if (inputs.migrationsDir !== undefined) {
      throw new InputError('repository-path', `is a shallow clone: the migrations of older releases are not in it.`, {
        hint: CHECKOUT_HINT,
      });
    }
    notes.push(
      'The checkout is shallow: tags missing from it are taken from the GitHub API when github-token is given.',
    );
  }
  let migrationsPath: string | undefined;
  if (inputs.migrationsDir !== undefined) {
    const absolute = path.resolve(inputs.repositoryPath, inputs.migrationsDir);
    const relative = path.relative(
      realpathSync(git.root),
      existsSync(absolute)
        ? realpathSync(absolute)
        : path.join(realpathSync(inputs.repositoryPath), inputs.migrationsDir),
    );
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new InputError('migrations-dir', `resolves to ${absolute}, outside the repository at ${git.root}.`);
    }
    migrationsPath = relative.split(path.sep).join('/');
    const inWorkTree = existsSync(absolute) && statSync(absolute).isDirectory();
    if (!inWorkTree && (await objectTypeAt(git.root, 'HEAD', migrationsPath)) !== 'tree') {
      throw new InputError(
        'migrations-dir',
        `"${inputs.migrationsDir}" does not exist: there is no such directory in the checkout at ${inputs.repositoryPath}.`,
      );
    }
  }
  return { git, client, migrationsPath, notes };
}

/** Release tags from git and, with a token, from the repository's releases and tags. */
export async function collectTags(sources: Sources, scheme: TagScheme): Promise<TagCatalog> {
  const observations: TagObservation[] = [];
  if (sources.git) observations.push(...(await listGitTags(sources.git.root)));
  if (sources.client) {
    const repo = currentRepository();
    const [releases, tags] = await Promise.all([
      listGitHubReleases(sources.client, repo),
      listGitHubTags(sources.client, repo),
    ]);
    observations.push(...releases, ...tags);
  }
  const catalog = buildTagCatalog(observations, scheme);
  for (const ignored of catalog.ignored) core.info(`Ignoring tag ${ignored.tag}: ${ignored.reason}.`);
  if (catalog.otherPrefix > 0) core.info(`Ignoring ${catalog.otherPrefix} tag(s) not ${scheme.description}.`);
  return catalog;
}

/**
 * The migrations directory as checked out (the work tree, or HEAD where it is not checked out): the
 * down files apply-down-migrations runs when it is given the same checkout.
 */
export async function checkoutMigrations(
  git: RepositoryInfo,
  migrationsPath: string,
  format: MigrationFormat,
): Promise<Migration[]> {
  const dir = path.join(git.root, migrationsPath);
  const inWorkTree = existsSync(dir) && statSync(dir).isDirectory();
  return await loadMigrations(
    inWorkTree ? directorySource(dir) : gitRefSource(git.root, 'HEAD', migrationsPath),
    format,
  );
}
