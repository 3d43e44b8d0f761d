import {
  paginate,
  type ApiRequest,
  type ApiResponse,
  type FakeGitHubServer,
  type RequiredPermission,
} from './server.js';

/**
 * The Actions REST artifact routes (docs: REST API, "Actions / Artifacts"): list a repository's
 * artifacts, list a run's, get one, download one (a 302 to a signed blob URL, which the real
 * @actions/artifact client follows by hand) and delete one. The artifacts themselves live in the
 * artifact service stand-in (testkit/artifacts), which implements ArtifactSource.
 */
export interface RestArtifact {
  id: number;
  name: string;
  size: number;
  digest: string | null;
  createdAt: Date;
  expiresAt: Date;
  owner: string;
  repo: string;
  repositoryId: number;
  runId: number;
  headBranch: string;
  headSha: string;
}

export interface ArtifactSource {
  /** Finalized, not deleted artifacts, newest first. */
  artifacts(): RestArtifact[];
  /** A short-lived read URL for the artifact's zip in blob storage. */
  signedDownloadUrl(id: number): string;
  delete(id: number): boolean;
}

function artifactJson(api: string, artifact: RestArtifact, now: Date): Record<string, unknown> {
  const url = `${api}/repos/${artifact.owner}/${artifact.repo}/actions/artifacts/${artifact.id}`;
  const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    id: artifact.id,
    node_id: `MDg6QXJ0aWZhY3Q${artifact.id}`,
    name: artifact.name,
    size_in_bytes: artifact.size,
    url,
    archive_download_url: `${url}/zip`,
    expired: artifact.expiresAt <= now,
    digest: artifact.digest,
    created_at: timestamp(artifact.createdAt),
    updated_at: timestamp(artifact.createdAt),
    expires_at: timestamp(artifact.expiresAt),
    workflow_run: {
      id: artifact.runId,
      repository_id: artifact.repositoryId,
      head_repository_id: artifact.repositoryId,
      head_branch: artifact.headBranch,
      head_sha: artifact.headSha,
    },
  };
}

/** GitHub's list shape: `{ total_count, artifacts }`, paged with per_page/page and a Link header. */
function listResponse(server: FakeGitHubServer, request: ApiRequest, items: RestArtifact[]): ApiResponse {
  const name = request.query.get('name');
  const matching = name === null ? items : items.filter((artifact) => artifact.name === name);
  const now = new Date();
  const page = paginate(
    request,
    server.baseUrl,
    matching.map((artifact) => artifactJson(server.baseUrl, artifact, now)),
  );
  return { ...page, body: { total_count: matching.length, artifacts: page.body } };
}

const ACTIONS_READ: RequiredPermission = { scope: 'actions', level: 'read' };

export function registerArtifactsApi(server: FakeGitHubServer, source: ArtifactSource): void {
  const ofRepo = (request: ApiRequest) =>
    source
      .artifacts()
      .filter((artifact) => artifact.owner === request.params.owner && artifact.repo === request.params.repo);
  const find = (request: ApiRequest) =>
    ofRepo(request).find((artifact) => artifact.id === Number(request.params.artifact_id));
  const notFound: ApiResponse = {
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/actions/artifacts' },
  };

  server.route(
    'GET',
    '/repos/{owner}/{repo}/actions/artifacts',
    (request) => listResponse(server, request, ofRepo(request)),
    ACTIONS_READ,
  );
  server.route(
    'GET',
    '/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts',
    (request) =>
      listResponse(
        server,
        request,
        ofRepo(request).filter((artifact) => artifact.runId === Number(request.params.run_id)),
      ),
    ACTIONS_READ,
  );
  server.route(
    'GET',
    '/repos/{owner}/{repo}/actions/artifacts/{artifact_id}',
    (request) => {
      const artifact = find(request);
      return artifact ? { status: 200, body: artifactJson(server.baseUrl, artifact, new Date()) } : notFound;
    },
    ACTIONS_READ,
  );
  server.route(
    'GET',
    '/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}',
    (request) => {
      const artifact = find(request);
      if (!artifact) return notFound;
      if (request.params.archive_format !== 'zip')
        return { status: 400, body: { message: 'Unsupported archive format; only zip is supported.' } };
      if (artifact.expiresAt <= new Date())
        return {
          status: 410,
          body: {
            message: 'Artifact has expired',
            documentation_url: 'https://docs.github.com/rest/actions/artifacts#download-an-artifact',
          },
        };
      return { status: 302, headers: { location: source.signedDownloadUrl(artifact.id) } };
    },
    ACTIONS_READ,
  );
  server.route(
    'DELETE',
    '/repos/{owner}/{repo}/actions/artifacts/{artifact_id}',
    (request) => {
      const artifact = find(request);
      if (!artifact || !source.delete(artifact.id)) return notFound;
      return { status: 204 };
    },
    { scope: 'actions', level: 'write' },
  );
}
