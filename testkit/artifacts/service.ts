import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal, type LocalHttpServer } from '../local-http.js';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactSource, RestArtifact } from '../github-api/artifacts.js';
import { BlobStorage } from './blob-storage.js';
import { signJwt, verifyJwt } from './jwt.js';

/**
 * A local stand-in for GitHub's artifact service (Actions "results" service, artifacts v4+), for
 * the real @actions/artifact client: Twirp JSON at
 * `${ACTIONS_RESULTS_URL}/twirp/github.actions.results.api.v1.ArtifactService/<Method>`, authorised
 * by the job's ACTIONS_RUNTIME_TOKEN (a JWT whose scp claim carries
 * `Actions.Results:<workflowRunBackendId>:<workflowJobRunBackendId>`), with the bytes going to and
 * from SAS-signed blob URLs (blob-storage.ts). Message shapes follow the client's generated
 * protobuf code (proto field names in JSON, int64 as strings, wrappers as bare values).
 * It also implements the REST API's view of artifacts (ArtifactSource) so artifacts of other runs
 * can be listed and downloaded through the GitHub REST stand-in.
 */
const SERVICE = 'github.actions.results.api.v1.ArtifactService';

interface RunRecord {
  runId: number;
  backendId: string;
  owner: string;
  repo: string;
  repositoryId: number;
  headBranch: string;
  headSha: string;
}

export interface ArtifactRecord {
  id: number;
  name: string;
  run: RunRecord;
  jobBackendId: string;
  blob: string;
  mimeType: string;
  createdAt: Date;
  expiresAt: Date;
  state: 'uploading' | 'finalized' | 'deleted';
  size: number;
  digest: string | null;
}

export interface TwirpCall {
  method: string;
  body: Record<string, unknown>;
  status: number;
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_RETENTION_DAYS = 90;

export class ArtifactService implements ArtifactSource {
  private server?: LocalHttpServer;
  private readonly secret = randomBytes(32);
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'artifact-service-'));
  readonly blobs = new BlobStorage(path.join(this.dir, 'storage'), this.secret, () => this.baseUrl);
  private readonly runs = new Map<number, RunRecord>();
  readonly records: ArtifactRecord[] = [];
  readonly calls: TwirpCall[] = [];
  baseUrl = '';
  private nextId = 7_000_001;
  /** Uploads of artifacts whose name matches are refused, as GitHub refuses them once the storage quota is used up (tests of failure paths). */
  refuseUploads?: RegExp;

  async start(): Promise<string> {
    this.server = await listenLocal((request, response) => void this.handle(request, response));
    this.baseUrl = this.server.baseUrl;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The workflow run with this GitHub run id (created on first use) in repository owner/repo. */
  run(runId: number, repository = 'acme/shop'): RunRecord {
    let run = this.runs.get(runId);
    if (!run) {
      const [owner, repo] = repository.split('/');
      run = {
        runId,
        backendId: randomUUID(),
        owner,
        repo,
        repositoryId: 123456,
        headBranch: 'main',
        headSha: createHash('sha1').update(String(runId)).digest('hex'),
      };
      this.runs.set(runId, run);
    }
    return run;
  }

  /**
   * What the runner gives a job step of run `runId`: ACTIONS_RESULTS_URL, a fresh job token in
   * ACTIONS_RUNTIME_TOKEN, GITHUB_RUN_ID and GITHUB_REPOSITORY. Pass it as the harness's env.
   */
  runnerEnv(runId: number, options: { repository?: string; retentionDays?: number } = {}): Record<string, string> {
    const run = this.run(runId, options.repository);
    const jobBackendId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(
      {
        scp: `Actions.ExampleScope Actions.Results:${run.backendId}:${jobBackendId}`,
        iat: now,
        nbf: now,
        exp: now + 6 * 3600,
        iss: 'vstoken.actions.githubusercontent.com',
        aud: 'vso:artifact-service-stand-in',
        ac: JSON.stringify([{ Scope: 'refs/heads/main', Permission: 3 }]),
      },
      this.secret,
    );
    const env: Record<string, string> = {
      ACTIONS_RESULTS_URL: `${this.baseUrl}/`,
      ACTIONS_RUNTIME_TOKEN: token,
      GITHUB_RUN_ID: String(runId),
      GITHUB_REPOSITORY: `${run.owner}/${run.repo}`,
      GITHUB_REPOSITORY_OWNER: run.owner,
    };
    if (options.retentionDays !== undefined) env.GITHUB_RETENTION_DAYS = String(options.retentionDays);
    return env;
  }

  /** Finalized artifacts, newest first (the REST API's order). */
  artifacts(): RestArtifact[] {
    return this.records
      .filter((record) => record.state === 'finalized')
      .sort((a, b) => b.id - a.id)
      .map((record) => ({
        id: record.id,
        name: record.name,
        size: record.size,
        digest: record.digest,
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
        owner: record.run.owner,
        repo: record.run.repo,
        repositoryId: record.run.repositoryId,
        runId: record.run.runId,
        headBranch: record.run.headBranch,
        headSha: record.run.headSha,
      }));
  }

  find(name: string, runId?: number): ArtifactRecord | undefined {
    return this.records
      .filter(
        (record) =>
          record.state === 'finalized' && record.name === name && (runId === undefined || record.run.runId === runId),
      )
      .sort((a, b) => b.id - a.id)[0];
  }

  signedDownloadUrl(id: number): string {
    const record = this.records.find((candidate) => candidate.id === id && candidate.state === 'finalized');
    if (!record) throw new Error(`artifact ${id} does not exist`);
    const fileName = record.mimeType === 'application/zip' ? `${record.name}.zip` : record.name;
    return this.blobs.signedUrl(record.blob, 'r', 10 * 60_000, {
      rscd: `attachment; filename="${fileName}"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
      rsct: record.mimeType,
    });
  }

  delete(id: number): boolean {
    const record = this.records.find((candidate) => candidate.id === id && candidate.state === 'finalized');
    if (!record) return false;
    record.state = 'deleted';
    this.blobs.remove(record.blob);
    return true;
  }

  /** Ages an artifact past its retention (for "latest skips expired backups" tests). */
  expire(id: number): void {
    const record = this.records.find((candidate) => candidate.id === id);
    if (record) record.expiresAt = new Date(Date.now() - 1000);
  }

  /** Where an artifact's stored zip is on disk (tests corrupt it to prove digests are checked). */
  storedFile(id: number): string {
    const record = this.records.find((candidate) => candidate.id === id);
    const file = record && this.blobs.filePath(record.blob);
    if (!file) throw new Error(`artifact ${id} has no stored content`);
    return file;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      if (await this.blobs.handle(request, response, url)) return;
      const prefix = `/twirp/${SERVICE}/`;
      if (request.method === 'POST' && url.pathname.startsWith(prefix))
        return await this.twirp(url.pathname.slice(prefix.length), request, response);
      request.resume();
      this.sendTwirpError(response, new TwirpError(404, 'bad_route', `no handler for path "${url.pathname}"`));
    } catch (error) {
      if (!response.headersSent)
        this.sendTwirpError(response, new TwirpError(500, 'internal', (error as Error).message));
      else response.destroy(error as Error);
    }
  }

  private sendTwirpError(response: ServerResponse, error: TwirpError): void {
    response.writeHead(error.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: error.code, msg: error.message }));
  }

  private async twirp(method: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    let status = 200;
    try {
      if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
        throw new TwirpError(
          400,
          'malformed',
          'this stand-in speaks the Twirp JSON protocol only (Content-Type: application/json)',
        );
      }
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new TwirpError(400, 'malformed', 'the request body is not valid JSON');
      }
      const scope = this.authorize(request);
      const result = this.dispatch(method, body, scope);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(result));
    } catch (error) {
      const twirpError =
        error instanceof TwirpError ? error : new TwirpError(500, 'internal', (error as Error).message);
      status = twirpError.status;
      this.sendTwirpError(response, twirpError);
    } finally {
      this.calls.push({ method, body, status });
    }
  }

  /** The run and job the bearer token was issued for. */
  private authorize(request: IncomingMessage): { runBackendId: string; jobBackendId: string } {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    const claims = token ? verifyJwt(token, this.secret) : undefined;
    if (!claims)
      throw new TwirpError(
        401,
        'unauthenticated',
        'the runtime token is missing, malformed, expired or not signed by this service',
      );
    const scope = claims.scp.split(' ').find((part) => part.startsWith('Actions.Results:'));
    const [, runBackendId, jobBackendId] = scope?.split(':') ?? [];
    if (!runBackendId || !jobBackendId)
      throw new TwirpError(403, 'permission_denied', 'the runtime token has no Actions.Results scope');
    return { runBackendId, jobBackendId };
  }

  private dispatch(
    method: string,
    body: Record<string, unknown>,
    scope: { runBackendId: string; jobBackendId: string },
  ): Record<string, unknown> {
    const runBackendId = String(body.workflow_run_backend_id ?? '');
    const jobBackendId = String(body.workflow_job_run_backend_id ?? '');
    // A job may read any artifact of its own run (GetSignedArtifactURL names the uploading job),
    // but creates and finalizes artifacts only as itself.
    if (runBackendId !== scope.runBackendId) {
      throw new TwirpError(
        403,
        'permission_denied',
        'the workflow run in the request is not the one the runtime token was issued for',
      );
    }
    if ((method === 'CreateArtifact' || method === 'FinalizeArtifact') && jobBackendId !== scope.jobBackendId) {
      throw new TwirpError(
        403,
        'permission_denied',
        'the job in the request is not the one the runtime token was issued for',
      );
    }
    const run = [...this.runs.values()].find((candidate) => candidate.backendId === runBackendId);
    if (!run) throw new TwirpError(404, 'not_found', 'workflow run not found');
    const ofRun = () => this.records.filter((record) => record.run === run);

    switch (method) {
      case 'CreateArtifact': {
        const name = String(body.name ?? '');
        if (!name) throw new TwirpError(400, 'invalid_argument', 'name is required');
        if (Number(body.version ?? 0) < 4)
          throw new TwirpError(400, 'invalid_argument', 'artifact version must be 4 or later');
        if (this.refuseUploads?.test(name))
          throw new TwirpError(
            400,
            'failed_precondition',
            'Artifact storage quota has been hit. Unable to upload any new artifacts.',
          );
        if (ofRun().some((record) => record.name === name && record.state === 'finalized')) {
          throw new TwirpError(409, 'already_exists', `an artifact with this name already exists on the workflow run`);
        }
        const expiresAt = body.expires_at
          ? new Date(String(body.expires_at))
          : new Date(Date.now() + DEFAULT_RETENTION_DAYS * 86_400_000);
        if (Number.isNaN(expiresAt.getTime()))
          throw new TwirpError(400, 'invalid_argument', 'expires_at is not a timestamp');
        const id = this.nextId++;
        const blob = `actions-results/${run.backendId}/workflow-job-run-${jobBackendId}/artifacts/${createHash('sha256').update(`${id}:${name}`).digest('hex')}.zip`;
        // A re-upload after a failed attempt replaces the unfinished record, as the service does.
        for (const record of ofRun())
          if (record.name === name && record.state === 'uploading') record.state = 'deleted';
        this.records.push({
          id,
          name,
          run,
          jobBackendId,
          blob,
          mimeType: typeof body.mime_type === 'string' ? body.mime_type : 'application/zip',
          createdAt: new Date(),
          expiresAt,
          state: 'uploading',
          size: 0,
          digest: null,
        });
        return { ok: true, signed_upload_url: this.blobs.signedUrl(blob, 'cw', 60 * 60_000) };
      }
      case 'FinalizeArtifact': {
        const name = String(body.name ?? '');
        const record = ofRun().find((candidate) => candidate.name === name && candidate.state === 'uploading');
        if (!record)
          throw new TwirpError(404, 'not_found', `no artifact named "${name}" is being uploaded in this run`);
        const stored = this.blobs.size(record.blob);
        if (stored === undefined)
          throw new TwirpError(412, 'failed_precondition', 'the artifact content was never committed to blob storage');
        if (Number(body.size ?? -1) !== stored)
          throw new TwirpError(
            400,
            'invalid_argument',
            `size ${String(body.size)} does not match the ${stored} bytes uploaded`,
          );
        const digest = `sha256:${this.blobs.sha256(record.blob)}`;
        if (body.hash !== undefined && body.hash !== digest)
          throw new TwirpError(
            400,
            'invalid_argument',
            `hash ${String(body.hash)} does not match the uploaded content (${digest})`,
          );
        record.state = 'finalized';
        record.size = stored;
        record.digest = digest;
        return { ok: true, artifact_id: String(record.id) };
      }
      case 'ListArtifacts': {
        const nameFilter = body.name_filter === undefined ? undefined : String(body.name_filter);
        const idFilter = body.id_filter === undefined ? undefined : Number(body.id_filter);
        const artifacts = ofRun()
          .filter((record) => record.state === 'finalized' && record.expiresAt > new Date())
          .filter((record) => nameFilter === undefined || record.name === nameFilter)
          .filter((record) => idFilter === undefined || record.id === idFilter)
          .map((record) => ({
            workflow_run_backend_id: run.backendId,
            workflow_job_run_backend_id: record.jobBackendId,
            database_id: String(record.id),
            name: record.name,
            size: String(record.size),
            created_at: record.createdAt.toISOString(),
            ...(record.digest ? { digest: record.digest } : {}),
          }));
        return { artifacts };
      }
      case 'GetSignedArtifactURL': {
        const name = String(body.name ?? '');
        const record = ofRun()
          .filter((candidate) => candidate.name === name && candidate.state === 'finalized')
          .sort((a, b) => b.id - a.id)[0];
        if (!record) throw new TwirpError(404, 'not_found', `artifact "${name}" not found in this run`);
        return { signed_url: this.signedDownloadUrl(record.id) };
      }
      case 'DeleteArtifact': {
        const name = String(body.name ?? '');
        const record = ofRun().find((candidate) => candidate.name === name && candidate.state === 'finalized');
        if (!record) throw new TwirpError(404, 'not_found', `artifact "${name}" not found in this run`);
        this.delete(record.id);
        return { ok: true, artifact_id: String(record.id) };
      }
      default:
        throw new TwirpError(404, 'bad_route', `no handler for ${SERVICE}/${method}`);
    }
  }
}
