import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolateString, NO_STATUS } from '../../scripts/local-runner/expressions.js';
import type { WorkflowFile } from '../../scripts/local-runner/types.js';
import { REPO_ROOT, workflowFiles } from './references.js';

/**
 * What the README promises about the shipped workflows' shape, read from the files themselves:
 * every job has a time limit, deploys and rollbacks of an environment share one concurrency
 * group, the reusable workflows run the actions of their own commit, and the drill's schedule
 * lives in the caller, not here. (How they behave is the scenario tests' job.)
 */
const load = (file: string) =>
  parseYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as WorkflowFile & { on: Record<string, unknown> };

describe('the shipped workflows', () => {
  it.each(workflowFiles())('%s: every job that runs on a runner has timeout-minutes', (file) => {
    const workflow = load(file);
    const missing = Object.entries(workflow.jobs)
      .filter(([, job]) => !job.uses && job['timeout-minutes'] === undefined)
      .map(([id]) => id);
    expect(missing).toEqual([]);
  });

  it("gives the rollback's jobs the time limits the README states", () => {
    const { jobs } = load('.github/workflows/rollback.yml');
    expect([jobs.plan['timeout-minutes'], jobs.report['timeout-minutes']]).toEqual([15, 10]);
    expect(jobs.backup['timeout-minutes']).toBe('${{ fromJSON(needs.plan.outputs.timeout-minutes) }}');
    expect(jobs.rollback['timeout-minutes']).toBe('${{ fromJSON(needs.plan.outputs.timeout-minutes) }}');
    expect(jobs.plan.steps![0].env).toMatchObject({
      TIMEOUT_MINUTES: "${{ inputs.timeout-minutes || vars.ROLLBACK_TIMEOUT_MINUTES || '60' }}",
    });
  });

  it('deploys and rollbacks of an environment share one concurrency group: the deploy job holds it, rollback.yml takes it for its whole run', () => {
    const rollback = load('.github/workflows/rollback.yml');
    const deploy = load('action-docs/examples/deploy.yml');
    const group = (spec: unknown, inputs: Record<string, string>) =>
      interpolateString((spec as { group: string }).group, { inputs }, NO_STATUS);
    expect(group(rollback.concurrency, { environment: 'production' })).toBe('deploy-production');
    expect(group(deploy.jobs.deploy.concurrency, { environment: 'production' })).toBe('deploy-production');
    expect(group(deploy.jobs.deploy.concurrency, {})).toBe('deploy-production');
    expect(rollback.concurrency).toMatchObject({ 'cancel-in-progress': false });
    // At job level in the caller: a workflow-level group there would deadlock the rollback it calls.
    expect(deploy.concurrency).toBeUndefined();
    expect(load('.github/workflows/rollback-drill.yml').jobs.staging.concurrency).toMatchObject({
      group: 'deploy-${{ inputs.staging-environment || vars.DRILL_STAGING_ENVIRONMENT }}',
    });
  });

  it('the reusable workflows check out the actions of their own commit (job.workflow_sha), overridable by actions-ref', () => {
    for (const file of [
      '.github/workflows/rollback.yml',
      '.github/workflows/auto-rollback.yml',
      '.github/workflows/rollback-drill.yml',
    ]) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      expect(text).not.toMatch(/'v1'/);
      expect(text).toMatch(/inputs\.actions-ref \|\| job\.workflow_sha/);
      expect(text).toMatch(/inputs\.actions-repository \|\| job\.workflow_repository/);
    }
    // auto-rollback calls rollback.yml from its own repository and commit.
    expect(load('.github/workflows/auto-rollback.yml').jobs.rollback.uses).toBe('./.github/workflows/rollback.yml');
  });

  it('asks for the token permissions each job needs, and no more', () => {
    const rollback = load('.github/workflows/rollback.yml');
    expect(rollback.permissions).toEqual({});
    expect(Object.fromEntries(Object.entries(rollback.jobs).map(([id, job]) => [id, job.permissions]))).toEqual({
      plan: { contents: 'read', deployments: 'read' },
      backup: { contents: 'read' },
      rollback: { contents: 'read', actions: 'read', deployments: 'write' },
      report: { contents: 'read' },
    });
    const drill = load('.github/workflows/rollback-drill.yml');
    expect(drill.jobs.report.permissions).toEqual({ contents: 'read', issues: 'write' });
    expect(drill.jobs.staging.permissions).toEqual({ contents: 'read', deployments: 'write' });
    // The staging redeploys read staging's own host, key and variables.
    expect(drill.jobs.staging.environment).toBe('${{ inputs.staging-environment || vars.DRILL_STAGING_ENVIRONMENT }}');
  });

  it('the drill has no schedule of its own: the example caller in the app repository has it', () => {
    expect(Object.keys(load('.github/workflows/rollback-drill.yml').on).sort()).toEqual([
      'workflow_call',
      'workflow_dispatch',
    ]);
    expect(load('action-docs/examples/rollback-drill.yml').on).toMatchObject({ schedule: [{ cron: '0 4 1 * *' }] });
  });

  it('DATABASE_URL reaches the rollback as an environment secret: nothing requires it as a repository secret, and the callers pass secrets on', () => {
    for (const file of ['.github/workflows/rollback.yml', '.github/workflows/auto-rollback.yml']) {
      const secrets = (load(file).on.workflow_call as { secrets: Record<string, { required: boolean }> }).secrets;
      expect(secrets.DATABASE_URL.required).toBe(false);
    }
    for (const file of ['action-docs/examples/rollback.yml', 'action-docs/examples/rollback-drill.yml'])
      expect(load(file).jobs).toMatchObject({ [Object.keys(load(file).jobs)[0]]: { secrets: 'inherit' } });
    const rollback = load('.github/workflows/rollback.yml');
    expect(rollback.jobs.plan.environment).toBe(
      "${{ inputs.plan-environment || vars.ROLLBACK_PLAN_ENVIRONMENT || format('{0}-plan', inputs.environment) }}",
    );
    expect(rollback.jobs.rollback.environment).toMatchObject({ name: '${{ inputs.environment }}' });
    expect(rollback.jobs.report.environment).toBeUndefined();
  });
});
