import { readdirSync } from 'node:fs';
import path from 'node:path';
import { checkWorkflow, formatProblem, REPO_ROOT, workflowFiles } from './references.js';

/**
 * Every workflow parses with GitHub's parser, and its wiring holds: inputs and secrets passed to this
 * repository's actions and reusable workflows are declared (and the required ones given), and every
 * steps.*.outputs.* / needs.*.outputs.* / jobs.*.outputs.* reference points at something that exists.
 */

const FIXTURES = path.join(REPO_ROOT, '__tests__', 'fixtures', 'workflows');

async function problemsOf(file: string, repoRoot = REPO_ROOT): Promise<string[]> {
  return (await checkWorkflow(file, repoRoot)).problems.map(formatProblem);
}

describe("this repository's workflows", () => {
  const files = workflowFiles();

  it('finds the workflows to check', () => {
    expect(files).toEqual(expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/check-dist.yml']));
  });

  it.each(files)('%s parses and its references resolve', async (file) => {
    expect(await problemsOf(file)).toEqual([]);
  });

  it('checks real wiring, not nothing', async () => {
    const reports = await Promise.all(files.map((file) => checkWorkflow(file)));
    const total = (key: 'workflowCalls' | 'stepReferences') =>
      reports.reduce((sum, report) => sum + report.checked[key], 0);
    // ci.yml calls check-dist.yml; check-dist.yml reads steps.diff.outcome.
    expect(total('workflowCalls')).toBeGreaterThanOrEqual(1);
    expect(total('stepReferences')).toBeGreaterThanOrEqual(1);
  });
});

describe('the checker, on a fixture repository', () => {
  it('accepts every correct form: local and remote refs, defaults, secrets: inherit, $GITHUB_OUTPUT heredocs, reusable-workflow outputs', async () => {
    const caller = await checkWorkflow('.github/workflows/caller.yml', FIXTURES);
    expect(caller.problems.map(formatProblem)).toEqual([]);
    expect(caller.checked).toEqual({
      actionSteps: 2,
      workflowCalls: 2,
      stepReferences: 12,
      needsReferences: 7,
      jobReferences: 0,
    });
    const callee = await checkWorkflow('.github/workflows/callee.yml', FIXTURES);
    expect(callee.problems.map(formatProblem)).toEqual([]);
    expect(callee.checked.jobReferences).toBe(2);
  });

  const cases: Record<string, string[]> = {
    'parse-error.yml': ["broken/parse-error.yml:6:5: Unexpected value 'step'"],
    'bad-expression.yml': ["broken/bad-expression.yml:9:13: Unexpected end of expression: '&&'"],
    'unknown-input.yml': [
      'broken/unknown-input.yml:11:11: job "greet", step "hello": input "salutation" is not declared by actions/greet (it declares: who, greeting, loud)',
    ],
    'remote-ref-unknown-input.yml': [
      'broken/remote-ref-unknown-input.yml:10:11: job "greet", step 1: input "volume" is not declared by actions/greet (it declares: who, greeting, loud)',
    ],
    'missing-required-input.yml': [
      'broken/missing-required-input.yml:8:15: job "greet", step 1 ("Say hello"): required input "who" of actions/greet is not provided',
    ],
    'missing-action.yml': [
      'broken/missing-action.yml:8:15: job "greet", step "wave": action actions/wave does not exist (no actions/wave/action.yml)',
    ],
    'undeclared-action-output.yml': [
      'broken/undeclared-action-output.yml:11:14: job "greet", step 2: steps.hello.outputs.greeting: the action ./actions/greet declares no output "greeting"',
    ],
    'unwritten-run-output.yml': [
      'broken/unwritten-run-output.yml:7:16: job "pick", outputs: steps.pick.outputs.version: its run script never writes "version" to $GITHUB_OUTPUT',
    ],
    'unknown-step.yml': [
      'broken/unknown-step.yml:10:13: job "greet", step 2 ("Report"): steps.helo.outcome: no step with id "helo" in job "greet"',
    ],
    'later-step.yml': [
      'broken/later-step.yml:7:14: job "greet", step 1: steps.hello.outputs.message: step "hello" has not run yet here (a step can only read steps before it)',
    ],
    'needs-not-listed.yml': [
      'broken/needs-not-listed.yml:14:14: job "deploy", step 1: needs.plan.outputs.tag: job "plan" is not in the needs of job "deploy"',
    ],
    'needs-unknown-job.yml': [
      'broken/needs-unknown-job.yml:6:9: job "deploy", if: needs.build.result: there is no job "build" in this workflow',
    ],
    'needs-undeclared-output.yml': [
      'broken/needs-undeclared-output.yml:15:14: job "deploy", step 1: needs.plan.outputs.target-tag: job "plan" declares no output "target-tag"',
    ],
    'needs-callee-output.yml': [
      'broken/needs-callee-output.yml:14:14: job "deploy", step 1: needs.plan.outputs.tag: job "plan" declares no output "tag"',
    ],
    'call-unknown-input.yml': [
      'broken/call-unknown-input.yml:8:7: job "plan": input "target" is not declared in on.workflow_call.inputs of .github/workflows/callee.yml',
    ],
    'call-missing-input.yml': [
      'broken/call-missing-input.yml:5:11: job "plan": required input "environment" of .github/workflows/callee.yml is not provided',
    ],
    'call-boolean-input.yml': [
      'broken/call-boolean-input.yml:8:16: job "plan": input "dry-run" of .github/workflows/callee.yml is a boolean; got "yes"',
    ],
    'call-missing-secret.yml': [
      'broken/call-missing-secret.yml:5:11: job "plan": required secret "deploy-token" of .github/workflows/callee.yml is not provided',
    ],
    'call-unknown-secret.yml': [
      'broken/call-unknown-secret.yml:10:7: job "plan": secret "ssh-key" is not declared in on.workflow_call.secrets of .github/workflows/callee.yml',
    ],
    'call-missing-workflow.yml': [
      'broken/call-missing-workflow.yml:5:11: job "plan": reusable workflow .github/workflows/planner.yml does not exist',
    ],
    'workflow-call-output.yml': [
      'broken/workflow-call-output.yml:6:16: on.workflow_call.outputs.target-tag: jobs.plan.outputs.target: job "plan" declares no output "target"',
      'broken/workflow-call-output.yml:8:16: on.workflow_call.outputs.verdict: jobs.verify.outputs.verdict: there is no job "verify" in this workflow',
    ],
  };

  it('has an expectation for every broken fixture', () => {
    expect(readdirSync(path.join(FIXTURES, 'broken')).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.entries(cases))('reports broken/%s precisely', async (file, expected) => {
    expect(await problemsOf(`broken/${file}`, FIXTURES)).toEqual(expected);
  });
});
