import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolateString } from '../../scripts/local-runner/expressions.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * The README's pinning advice holds: a reusable workflow runs the actions it checks out at its
 * `actions-ref` input, at the workflow's own commit (`job.workflow_sha`) when it is empty, so a
 * workflow pinned to a SHA or tag runs the actions of that commit; auto-rollback passes its own on to rollback.yml. The refs are
 * evaluated with GitHub's expression library, as the runner evaluates them.
 */
interface Step {
  id?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Workflow {
  on: { workflow_call: { inputs: Record<string, unknown> } };
  jobs: Record<
    string,
    { steps?: Step[]; uses?: string; with?: Record<string, string>; outputs?: Record<string, string> }
  >;
}

const load = (name: string) =>
  parseYaml(readFileSync(path.join(REPO_ROOT, '.github', 'workflows', name), 'utf8')) as Workflow;
const status = { success: () => true, failure: () => false, cancelled: () => false };
const WORKFLOW_SHA = 'fedcba9876543210fedcba9876543210fedcba98';
const jobContext = { workflow_sha: WORKFLOW_SHA, workflow_repository: 'rollback-actions/rollback-actions' };
const SHA = '0123456789abcdef0123456789abcdef01234567';

/**
 * The ref each checkout of the actions repository uses, for a given actions-ref input. A ref can
 * come from a step that writes "actions-ref=$ACTIONS_REF" from its env, and through job outputs
 * (needs) to later jobs: those are evaluated first, as the runner would.
 */
function actionRefs(workflow: Workflow, actionsRef: string): string[] {
  const inputs = { 'actions-ref': actionsRef, 'actions-repository': '' };
  const steps: Record<string, { outputs: Record<string, string> }> = {};
  const needs: Record<string, { outputs: Record<string, string> }> = {};
  for (const [jobId, job] of Object.entries(workflow.jobs)) {
    for (const step of job.steps ?? []) {
      if (step.id && step.run?.includes('actions-ref=$ACTIONS_REF'))
        steps[step.id] = {
          outputs: { 'actions-ref': interpolateString(step.env!.ACTIONS_REF, { inputs, job: jobContext }, status) },
        };
    }
    const output = job.outputs?.['actions-ref'];
    if (output)
      needs[jobId] = {
        outputs: { 'actions-ref': interpolateString(output, { inputs, steps, job: jobContext }, status) },
      };
  }
  const refs: string[] = [];
  for (const job of Object.values(workflow.jobs)) {
    for (const step of job.steps ?? []) {
      if (!step.uses?.startsWith('actions/checkout@') || !step.with?.repository?.includes('actions-repository'))
        continue;
      refs.push(interpolateString(step.with.ref, { inputs, steps, needs, job: jobContext }, status));
    }
  }
  return refs;
}

describe('pinning the reusable workflows', () => {
  it.each(['rollback.yml', 'rollback-drill.yml'])(
    '%s checks out the actions at actions-ref, at the workflow commit by default',
    (name) => {
      const workflow = load(name);
      expect(Object.keys(workflow.on.workflow_call.inputs)).toContain('actions-ref');
      const byDefault = actionRefs(workflow, '');
      expect(byDefault.length).toBeGreaterThan(0);
      expect(new Set(byDefault)).toEqual(new Set([WORKFLOW_SHA]));
      expect(new Set(actionRefs(workflow, SHA))).toEqual(new Set([SHA]));
    },
  );

  it('auto-rollback.yml passes its actions-ref on to rollback.yml', () => {
    const workflow = load('auto-rollback.yml');
    const call = Object.values(workflow.jobs).find((job) =>
      /(^\.|\/rollback-actions)\/\.github\/workflows\/rollback\.yml(@|$)/.test(job.uses ?? ''),
    );
    expect(call?.with?.['actions-ref']).toBe('${{ inputs.actions-ref }}');
  });
});
