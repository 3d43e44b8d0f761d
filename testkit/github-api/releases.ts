import { fakeSha } from './deployments.js';
import { paginate, SIMPLE_USER, type FakeGitHubServer } from './server.js';

/** Releases and tags (docs: REST API, "Releases" and "Repositories: list tags"). */
export interface ReleaseRecord {
  id: number;
  owner: string;
  repo: string;
  tag_name: string;
  name: string;
  draft: boolean;
  prerelease: boolean;
  created_at: string;
  body?: string;
  make_latest?: string;
}

export class ReleasesApi {
  readonly releases: ReleaseRecord[] = [];
  readonly tags = new Map<string, { owner: string; repo: string; sha: string }>();

  constructor(private readonly server: FakeGitHubServer) {
    server.route(
      'GET',
      '/repos/{owner}/{repo}/releases',
      (request) => {
        const items = this.releases
          .filter((release) => release.owner === request.params.owner && release.repo === request.params.repo)
          .sort((a, b) => b.id - a.id)
          .map((release) => this.releaseJson(release));
        return paginate(request, server.baseUrl, items);
      },
      { scope: 'contents', level: 'read' },
    );
    // "Create a release": 422 when the tag already has one, as GitHub answers.
    server.route(
      'POST',
      '/repos/{owner}/{repo}/releases',
      (request) => {
        const body = request.body as { tag_name?: string; name?: string; body?: string; make_latest?: string };
        const { owner, repo } = request.params;
        if (!body.tag_name)
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'Release', code: 'missing_field', field: 'tag_name' }],
            },
          };
        if (
          this.releases.some(
            (release) => release.owner === owner && release.repo === repo && release.tag_name === body.tag_name,
          )
        ) {
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
            },
          };
        }
        const record = this.addRelease(owner, repo, body.tag_name);
        Object.assign(record, { name: body.name ?? body.tag_name, body: body.body, make_latest: body.make_latest });
        return { status: 201, body: this.releaseJson(record) };
      },
      { scope: 'contents', level: 'write' },
    );
    server.route('GET', '/repos/{owner}/{repo}/tags', (request) => {
      const items = [...this.tags]
        .filter(([, tag]) => tag.owner === request.params.owner && tag.repo === request.params.repo)
        .sort(([a], [b]) => (a < b ? 1 : -1))
        .map(([name, tag]) => this.tagJson(name, tag.sha, tag.owner, tag.repo));
      return paginate(request, server.baseUrl, items);
    });
  }

  addTag(owner: string, repo: string, name: string, sha = fakeSha(name)): void {
    this.tags.set(name, { owner, repo, sha });
  }

  addRelease(
    owner: string,
    repo: string,
    tag: string,
    options: { prerelease?: boolean; draft?: boolean } = {},
  ): ReleaseRecord {
    const record: ReleaseRecord = {
      id: this.server.newId(),
      owner,
      repo,
      tag_name: tag,
      name: tag,
      draft: options.draft ?? false,
      prerelease: options.prerelease ?? false,
      created_at: new Date(Date.parse('2026-01-01T00:00:00Z') + this.releases.length * 86_400_000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
    this.releases.push(record);
    if (!this.tags.has(tag)) this.addTag(owner, repo, tag);
    return record;
  }

  releaseJson(release: ReleaseRecord): Record<string, unknown> {
    const api = `${this.server.baseUrl}/repos/${release.owner}/${release.repo}`;
    const html = `https://github.com/${release.owner}/${release.repo}`;
    return {
      url: `${api}/releases/${release.id}`,
      html_url: `${html}/releases/tag/${release.tag_name}`,
      assets_url: `${api}/releases/${release.id}/assets`,
      upload_url: `https://uploads.github.com/repos/${release.owner}/${release.repo}/releases/${release.id}/assets{?name,label}`,
      tarball_url: `${api}/tarball/${release.tag_name}`,
      zipball_url: `${api}/zipball/${release.tag_name}`,
      id: release.id,
      node_id: `RE_${release.id}`,
      tag_name: release.tag_name,
      target_commitish: 'main',
      name: release.name,
      body: release.body ?? null,
      draft: release.draft,
      prerelease: release.prerelease,
      immutable: false,
      created_at: release.created_at,
      published_at: release.draft ? null : release.created_at,
      updated_at: release.created_at,
      author: SIMPLE_USER,
      assets: [],
    };
  }

  tagJson(name: string, sha: string, owner: string, repo: string): Record<string, unknown> {
    const api = `${this.server.baseUrl}/repos/${owner}/${repo}`;
    return {
      name,
      commit: { sha, url: `${api}/commits/${sha}` },
      zipball_url: `${api}/zipball/refs/tags/${name}`,
      tarball_url: `${api}/tarball/refs/tags/${name}`,
      node_id: `REF_${Buffer.from(name).toString('base64')}`,
    };
  }
}
