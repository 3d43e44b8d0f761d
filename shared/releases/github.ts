import { ActionError, errorMessage } from '../errors.js';
import { repositoryFromEnv, type GitHubClient, type Repository } from '../github/deployments.js';
import { gitHubDidNotAnswer } from '../github/no-answer.js';
import type { TagObservation } from './release-tags.js';

/**
 * Releases, tags and deployments through the real Octokit client. GITHUB_API_URL decides where it
 * talks to (api.github.com, a GHES host, or a test's local stand-in).
 */
export async function githubClient(token: string): Promise<GitHubClient> {
  // Loaded only with a token: Octokit is most of the bundle's start-up time.
  const { getOctokit } = await import('@actions/github');
  return getOctokit(token);
}

/** GITHUB_REPOSITORY as owner/repo, with an error that says what is missing. */
export function currentRepository(): Repository {
  const repository = repositoryFromEnv();
  if (!repository)
    throw new ActionError(
      `GITHUB_REPOSITORY is "${process.env.GITHUB_REPOSITORY ?? ''}", not owner/repo: this must run inside a GitHub Actions job.`,
    );
  return repository;
}

/**
 * GitHub did not answer (gitHubDidNotAnswer): a caller with another source (the deployment ledger)
 * may read from there instead. A refusal is a setting to fix, never a reason to read elsewhere.
 */
export class GitHubUnreachableError extends ActionError {
  constructor(what: string, detail: string, cause: unknown) {
    super(`GitHub did not answer while ${what}: ${detail}`, { cause });
    this.name = 'GitHubUnreachableError';
  }
}

/** Turns HTTP failures into messages that say which permission or setting to check. */
export async function githubCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = (error as { status?: number }).status;
    const detail = errorMessage(error);
    if (status === 401)
      throw new ActionError(`GitHub rejected github-token while ${what} (401: ${detail}).`, {
        hint: 'Pass a valid token, e.g. github-token: ${{ github.token }}.',
      });
    if (status === 403) {
      throw new ActionError(`GitHub refused ${what} (403: ${detail}).`, {
        hint: 'The token needs "contents: read" for releases and tags and "deployments: read" for deployments (workflow or job permissions).',
      });
    }
    if (status === 404)
      throw new ActionError(
        `GitHub found nothing while ${what} (404: ${detail}): wrong repository, or the token cannot see it.`,
      );
    if (gitHubDidNotAnswer(error)) throw new GitHubUnreachableError(what, detail, error);
    throw new ActionError(`GitHub API call failed while ${what}: ${detail}`);
  }
}

export async function listGitHubReleases(client: GitHubClient, repo: Repository): Promise<TagObservation[]> {
  const releases = await githubCall(`listing releases of ${repo.owner}/${repo.repo}`, () =>
    client.paginate(client.rest.repos.listReleases, { ...repo, per_page: 100 }),
  );
  return releases.map((release) => ({
    tag: release.tag_name,
    source: 'github-releases' as const,
    prerelease: release.prerelease,
    draft: release.draft,
    created: Date.parse(release.created_at) / 1000,
  }));
}

export async function listGitHubTags(client: GitHubClient, repo: Repository): Promise<TagObservation[]> {
  const tags = await githubCall(`listing tags of ${repo.owner}/${repo.repo}`, () =>
    client.paginate(client.rest.repos.listTags, { ...repo, per_page: 100 }),
  );
  return tags.map((tag) => ({ tag: tag.name, source: 'github-tags' as const, commit: tag.commit.sha }));
}
