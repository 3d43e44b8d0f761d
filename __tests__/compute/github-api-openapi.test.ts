import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getOctokit } from '@actions/github';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { startFakeGitHub } from '../../testkit/github-api/index.js';

/**
 * The GitHub REST stand-in checked against GitHub's own published OpenAPI description
 * (@octokit/openapi, api.github.com): every route it serves must exist there with the method, and
 * every response it gives the real Octokit client must match the declared status and schema,
 * required fields, types, enums, nullability and formats included. If the stand-in drifts from
 * the real API (or the description changes under it), this fails.
 */
interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
}

const require = createRequire(import.meta.url);
const SPEC_FILE = require.resolve('@octokit/openapi/generated/api.github.com.json');
const spec = acceptDeclaredDefaults(JSON.parse(readFileSync(SPEC_FILE, 'utf8'))) as OpenApiDocument;

/**
 * GitHub answers an unset URL field with the property's declared `default: ""` (deployment
 * statuses' target_url, log_url, environment_url), which its `format: uri` alone would reject: a
 * declared default is a value the description itself allows.
 */
function acceptDeclaredDefaults(node: unknown): unknown {
  if (Array.isArray(node)) {
    node.forEach(acceptDeclaredDefaults);
  } else if (node !== null && typeof node === 'object') {
    const schema = node as Record<string, unknown>;
    for (const value of Object.values(schema)) acceptDeclaredDefaults(value);
    if (typeof schema.format === 'string' && schema.default === '') {
      const alternatives = { anyOf: [{ const: '' }, { format: schema.format }] };
      if (schema.anyOf === undefined) Object.assign(schema, alternatives);
      else schema.allOf = [...((schema.allOf as unknown[] | undefined) ?? []), alternatives];
      delete schema.format;
    }
  }
  return node;
}

// OpenAPI 3.0 schemas are JSON Schema plus a few keywords (nullable, x-github...): strict mode off,
// formats on.
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
(addFormatsModule as unknown as (instance: Ajv) => void)(ajv);
ajv.addSchema(spec, 'github');

/** The response schema for an operation and status, with local refs pointed into the spec. */
function responseValidator(template: string, method: string, status: number): ValidateFunction {
  const operation = spec.paths[template]?.[method];
  if (!operation)
    throw new Error(`${method.toUpperCase()} ${template} is not in GitHub's OpenAPI description ${spec.info.version}`);
  let response = operation.responses[String(status)];
  if (!response)
    throw new Error(
      `${method.toUpperCase()} ${template} does not declare status ${status} (declared: ${Object.keys(operation.responses).join(', ')})`,
    );
  if (response.$ref) response = spec.components.responses[response.$ref.replace('#/components/responses/', '')];
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method.toUpperCase()} ${template} ${status} declares no JSON body`);
  const pointed = JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"github#/'));
  return ajv.compile(pointed);
}

/** Checks one response; returns the schema errors, readable. */
function conformanceErrors(template: string, method: string, status: number, body: unknown): string[] {
  const validate = responseValidator(template, method, status);
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `${method.toUpperCase()} ${template} ${status}: ${error.instancePath || '(body)'} ${error.message} ${JSON.stringify(error.params)}`,
  );
}

describe("the GitHub REST stand-in conforms to GitHub's OpenAPI description", () => {
  const TOKEN = 'ghs_openapi_conformance';
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  const api = () => getOctokit(TOKEN, { baseUrl: fake.server.baseUrl });
  const repo = { owner: 'acme', repo: 'conformance' };

  beforeAll(async () => {
    fake = await startFakeGitHub({ token: TOKEN });
  });
  afterAll(() => fake.server.stop());

  it('serves only routes the description has', () => {
    for (const template of [
      '/repos/{owner}/{repo}/deployments',
      '/repos/{owner}/{repo}/deployments/{deployment_id}',
      '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      '/repos/{owner}/{repo}/releases',
      '/repos/{owner}/{repo}/tags',
    ]) {
      expect(Object.keys(spec.paths[template] ?? {})).toEqual(expect.arrayContaining(['get']));
    }
    expect(Object.keys(spec.paths['/repos/{owner}/{repo}/deployments'])).toContain('post');
    expect(Object.keys(spec.paths['/repos/{owner}/{repo}/deployments/{deployment_id}/statuses'])).toContain('post');
  });

  it('deployments and statuses, as created, listed and fetched by Octokit', async () => {
    const errors: string[] = [];
    const created = await api().rest.repos.createDeployment({
      ...repo,
      ref: 'v1.2.0',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { image: 'app:v1.2.0' },
      description: 'deploy v1.2.0',
    });
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/deployments', 'post', created.status, created.data));
    const id = (created.data as { id: number }).id;
    for (const state of ['in_progress', 'success'] as const) {
      const status = await api().rest.repos.createDeploymentStatus({
        ...repo,
        deployment_id: id,
        state,
        environment_url: 'https://staging.example.com',
        log_url: 'https://ci.example.com/run/1',
      });
      errors.push(
        ...conformanceErrors(
          '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
          'post',
          status.status,
          status.data,
        ),
      );
    }
    // A second success makes GitHub (and the stand-in) add an "inactive" status to the first.
    const second = await api().rest.repos.createDeployment({
      ...repo,
      ref: 'v1.3.0',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
    });
    await api().rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: (second.data as { id: number }).id,
      state: 'success',
    });
    fake.deployments.seed('acme', 'conformance', 'production', 'v1.1.0', 'failure');

    const list = await api().rest.repos.listDeployments({ ...repo });
    expect(list.data).toHaveLength(3);
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/deployments', 'get', list.status, list.data));
    const one = await api().rest.repos.getDeployment({ ...repo, deployment_id: id });
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/deployments/{deployment_id}', 'get', one.status, one.data));
    const statuses = await api().rest.repos.listDeploymentStatuses({ ...repo, deployment_id: id });
    expect(statuses.data.map((status) => status.state)).toEqual(['inactive', 'success', 'in_progress']);
    errors.push(
      ...conformanceErrors(
        '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
        'get',
        statuses.status,
        statuses.data,
      ),
    );

    const missing = await api()
      .rest.repos.getDeployment({ ...repo, deployment_id: 999_999 })
      .catch((error: { status: number; response: { data: unknown } }) => error);
    expect((missing as { status: number }).status).toBe(404);
    errors.push(
      ...conformanceErrors(
        '/repos/{owner}/{repo}/deployments/{deployment_id}',
        'get',
        404,
        (missing as { response: { data: unknown } }).response.data,
      ),
    );
    expect(errors).toEqual([]);
  });

  it('releases (published, pre-release, draft) and tags, paginated', async () => {
    const errors: string[] = [];
    fake.releases.addRelease('acme', 'conformance', 'v1.0.0');
    fake.releases.addRelease('acme', 'conformance', 'v1.1.0-rc.1', { prerelease: true });
    fake.releases.addRelease('acme', 'conformance', 'v1.1.0', { draft: true });
    fake.releases.addTag('acme', 'conformance', 'nightly');
    const releases = await api().rest.repos.listReleases({ ...repo, per_page: 2 });
    expect(releases.headers.link).toMatch(/rel="next"/);
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/releases', 'get', releases.status, releases.data));
    const allReleases = await api().paginate(api().rest.repos.listReleases, { ...repo, per_page: 2 });
    expect(allReleases.map((release) => release.tag_name).sort()).toEqual(['v1.0.0', 'v1.1.0', 'v1.1.0-rc.1']);
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/releases', 'get', 200, allReleases));
    const tags = await api().rest.repos.listTags({ ...repo });
    expect(tags.data.map((tag) => tag.name).sort()).toEqual(['nightly', 'v1.0.0', 'v1.1.0', 'v1.1.0-rc.1']);
    errors.push(...conformanceErrors('/repos/{owner}/{repo}/tags', 'get', tags.status, tags.data));
    expect(errors).toEqual([]);
  });

  it('the check itself catches drift: a response missing a required field or with a wrong type fails', () => {
    const deployment = fake.deployments.deploymentJson(fake.deployments.deployments[0]);
    expect(conformanceErrors('/repos/{owner}/{repo}/deployments/{deployment_id}', 'get', 200, deployment)).toEqual([]);
    const { creator: _creator, ...withoutCreator } = deployment;
    expect(conformanceErrors('/repos/{owner}/{repo}/deployments/{deployment_id}', 'get', 200, withoutCreator)).toEqual([
      expect.stringMatching(/must have required property 'creator'/),
    ]);
    expect(
      conformanceErrors('/repos/{owner}/{repo}/deployments/{deployment_id}', 'get', 200, {
        ...deployment,
        id: String(deployment.id),
      }),
    ).toEqual([expect.stringMatching(/\/id must be integer/)]);
    expect(() => responseValidator('/repos/{owner}/{repo}/deployments/{deployment_id}', 'put', 200)).toThrow(
      /is not in GitHub's OpenAPI description/,
    );
  });
});
