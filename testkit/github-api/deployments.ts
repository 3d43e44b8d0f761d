import { paginate, SIMPLE_USER, type FakeGitHubServer, type RequiredPermission } from './server.js';

const DEPLOYMENTS_READ: RequiredPermission = { scope: 'deployments', level: 'read' };
const DEPLOYMENTS_WRITE: RequiredPermission = { scope: 'deployments', level: 'write' };

/**
 * Deployments and deployment statuses (docs: REST API, "Deployments" and "Deployment statuses"),
 * including GitHub's auto_inactive rule, so "last successful deployment" means what it means there.
 */
export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentRecord {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  environment: string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  statuses: StatusRecord[];
}

export interface StatusRecord {
  id: number;
  state: DeploymentState;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
}

export class DeploymentsApi {
  readonly deployments: DeploymentRecord[] = [];
  private clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(private readonly server: FakeGitHubServer) {
    server.route(
      'GET',
      '/repos/{owner}/{repo}/deployments',
      (request) => {
        const { owner, repo } = request.params;
        const filters = ['sha', 'ref', 'task', 'environment'] as const;
        const items = this.deployments
          .filter((deployment) => deployment.owner === owner && deployment.repo === repo)
          .filter((deployment) =>
            filters.every((key) => !request.query.get(key) || String(deployment[key]) === request.query.get(key)),
          )
          .sort((a, b) => b.id - a.id)
          .map((deployment) => this.deploymentJson(deployment));
        return paginate(request, server.baseUrl, items);
      },
      DEPLOYMENTS_READ,
    );
    server.route(
      'GET',
      '/repos/{owner}/{repo}/deployments/{id}',
      (request) => {
        const deployment = this.find(request.params.owner, request.params.repo, Number(request.params.id));
        return deployment
          ? { status: 200, body: this.deploymentJson(deployment) }
          : { status: 404, body: { message: 'Not Found' } };
      },
      DEPLOYMENTS_READ,
    );
    server.route(
      'POST',
      '/repos/{owner}/{repo}/deployments',
      (request) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (typeof body.ref !== 'string' || body.ref === '') {
          return {
            status: 422,
            body: {
              message: 'Invalid request.\n\n"ref" wasn\'t supplied.',
              documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
            },
          };
        }
        const environment = typeof body.environment === 'string' ? body.environment : 'production';
        const record = this.addDeployment({
          owner: request.params.owner,
          repo: request.params.repo,
          ref: body.ref,
          sha: /^[0-9a-f]{40}$/.test(body.ref) ? body.ref : fakeSha(body.ref),
          task: typeof body.task === 'string' ? body.task : 'deploy',
          payload: (body.payload as Record<string, unknown> | string | undefined) ?? {},
          environment,
          description: typeof body.description === 'string' ? body.description : null,
          transient_environment: body.transient_environment === true,
          production_environment:
            typeof body.production_environment === 'boolean'
              ? body.production_environment
              : environment === 'production',
        });
        return { status: 201, body: this.deploymentJson(record) };
      },
      DEPLOYMENTS_WRITE,
    );
    server.route(
      'GET',
      '/repos/{owner}/{repo}/deployments/{id}/statuses',
      (request) => {
        const deployment = this.find(request.params.owner, request.params.repo, Number(request.params.id));
        if (!deployment) return { status: 404, body: { message: 'Not Found' } };
        const items = [...deployment.statuses]
          .sort((a, b) => b.id - a.id)
          .map((status) => this.statusJson(deployment, status));
        return paginate(request, server.baseUrl, items);
      },
      DEPLOYMENTS_READ,
    );
    server.route(
      'POST',
      '/repos/{owner}/{repo}/deployments/{id}/statuses',
      (request) => {
        const deployment = this.find(request.params.owner, request.params.repo, Number(request.params.id));
        if (!deployment) return { status: 404, body: { message: 'Not Found' } };
        const body = (request.body ?? {}) as Record<string, unknown>;
        const states: DeploymentState[] = [
          'error',
          'failure',
          'inactive',
          'in_progress',
          'queued',
          'pending',
          'success',
        ];
        if (!states.includes(body.state as DeploymentState)) {
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'DeploymentStatus', field: 'state', code: 'invalid' }],
            },
          };
        }
        const status = this.addStatus(deployment, body.state as DeploymentState, {
          description: typeof body.description === 'string' ? body.description : '',
          target_url: typeof body.target_url === 'string' ? body.target_url : '',
          log_url: typeof body.log_url === 'string' ? body.log_url : '',
          environment_url: typeof body.environment_url === 'string' ? body.environment_url : '',
        });
        if (body.state === 'success' && body.auto_inactive !== false) this.inactivatePrior(deployment);
        return { status: 201, body: this.statusJson(deployment, status) };
      },
      DEPLOYMENTS_WRITE,
    );
  }

  private find(owner: string, repo: string, id: number): DeploymentRecord | undefined {
    return this.deployments.find(
      (deployment) => deployment.owner === owner && deployment.repo === repo && deployment.id === id,
    );
  }

  private tick(): string {
    this.clock += 60_000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** Seeds history directly (tests) or through POST (actions). */
  addDeployment(fields: Omit<DeploymentRecord, 'id' | 'created_at' | 'statuses'>): DeploymentRecord {
    const record: DeploymentRecord = { ...fields, id: this.server.newId(), created_at: this.tick(), statuses: [] };
    this.deployments.push(record);
    return record;
  }

  addStatus(
    deployment: DeploymentRecord,
    state: DeploymentState,
    fields: Partial<Omit<StatusRecord, 'id' | 'state' | 'created_at'>> = {},
  ): StatusRecord {
    const status: StatusRecord = {
      id: this.server.newId(),
      state,
      description: fields.description ?? '',
      environment: deployment.environment,
      target_url: fields.target_url ?? '',
      log_url: fields.log_url ?? fields.target_url ?? '',
      environment_url: fields.environment_url ?? '',
      created_at: this.tick(),
    };
    deployment.statuses.push(status);
    return status;
  }

  /** GitHub's auto_inactive: earlier successful non-transient, non-production deployments of the environment become inactive. */
  private inactivatePrior(current: DeploymentRecord): void {
    for (const deployment of this.deployments) {
      if (
        deployment === current ||
        deployment.environment !== current.environment ||
        deployment.owner !== current.owner ||
        deployment.repo !== current.repo
      )
        continue;
      if (deployment.transient_environment || deployment.production_environment) continue;
      if (deployment.statuses.at(-1)?.state === 'success') this.addStatus(deployment, 'inactive');
    }
  }

  /** Seeds a finished deployment: a ref (tag) in an environment with its final state. */
  /** A deployment of `ref` a deploy step started and has not finished (as redeploy-tag leaves it for smoke-test). */
  inProgress(owner: string, repo: string, environment: string, ref: string): DeploymentRecord {
    const deployment = this.addDeployment({
      owner,
      repo,
      ref,
      sha: fakeSha(ref),
      task: 'deploy',
      payload: {},
      environment,
      description: `deploy ${ref}`,
      transient_environment: false,
      production_environment: environment === 'production',
    });
    this.addStatus(deployment, 'in_progress');
    return deployment;
  }

  seed(owner: string, repo: string, environment: string, ref: string, state: DeploymentState): DeploymentRecord {
    const deployment = this.inProgress(owner, repo, environment, ref);
    this.addStatus(deployment, state);
    return deployment;
  }

  deploymentJson(deployment: DeploymentRecord): Record<string, unknown> {
    const base = `${this.server.baseUrl}/repos/${deployment.owner}/${deployment.repo}`;
    return {
      url: `${base}/deployments/${deployment.id}`,
      id: deployment.id,
      node_id: `DE_${deployment.id}`,
      sha: deployment.sha,
      ref: deployment.ref,
      task: deployment.task,
      payload: deployment.payload,
      original_environment: deployment.environment,
      environment: deployment.environment,
      description: deployment.description,
      creator: SIMPLE_USER,
      created_at: deployment.created_at,
      updated_at: deployment.statuses.at(-1)?.created_at ?? deployment.created_at,
      statuses_url: `${base}/deployments/${deployment.id}/statuses`,
      repository_url: base,
      transient_environment: deployment.transient_environment,
      production_environment: deployment.production_environment,
      performed_via_github_app: null,
    };
  }

  statusJson(deployment: DeploymentRecord, status: StatusRecord): Record<string, unknown> {
    const base = `${this.server.baseUrl}/repos/${deployment.owner}/${deployment.repo}`;
    return {
      url: `${base}/deployments/${deployment.id}/statuses/${status.id}`,
      id: status.id,
      node_id: `DES_${status.id}`,
      state: status.state,
      creator: SIMPLE_USER,
      description: status.description,
      environment: status.environment,
      target_url: status.target_url,
      created_at: status.created_at,
      updated_at: status.created_at,
      deployment_url: `${base}/deployments/${deployment.id}`,
      repository_url: base,
      environment_url: status.environment_url,
      log_url: status.log_url,
      performed_via_github_app: null,
    };
  }
}

/** A stable fake commit SHA for a ref name. */
export function fakeSha(ref: string): string {
  let hash = 0n;
  for (const char of ref) hash = (hash * 131n + BigInt(char.charCodeAt(0))) % (1n << 160n);
  return hash.toString(16).padStart(40, '0');
}
