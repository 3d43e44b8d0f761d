import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { runWorkflow } from '../../scripts/local-runner/runner.js';

/** The local runner executes workflow files with GitHub's semantics for the features our workflows use. */
const fixture = path.join(REPO_ROOT, '__tests__', 'fixtures', 'local-runner');
const probe = path.join(REPO_ROOT, '__tests__', 'fixtures');

async function run(inputs: Record<string, string | boolean>) {
  return runWorkflow({
    workflowPath: path.join(fixture, '.github', 'workflows', 'caller.yml'),
    workflowRepository: { name: 'acme/fixture', dir: fixture },
    repository: 'acme/fixture',
    eventName: 'workflow_dispatch',
    inputs,
    repositories: { 'acme/fixture': { dir: probe, checkout: 'link', linkEntries: ['harness-probe'] } },
    runRoot: mkdtempSync(path.join(os.tmpdir(), 'local-runner-')),
  });
}

describe('local workflow runner', () => {
  it('wires inputs, step outputs, GITHUB_ENV, job outputs and reusable workflow outputs', async () => {
    const result = await run({ greeting: 'hi' });
    expect(result.conclusion).toBe('success');
    expect(result.jobs.first.outputs.echoed).toBe('hi\nworld');
    expect(result.jobs.first.steps.find((step) => step.id === 'shell')?.outputs.value).toBe('HI');
    expect(result.jobs.first.steps.find((step) => step.id === 'on-failure')?.conclusion).toBe('skipped');
    expect(result.jobs.called.outputs.upper).toBe('HI\nWORLD');
    expect(result.jobs['after-failure'].result).toBe('skipped');
  });

  it('runs failure() steps and jobs, skips dependants of a failed job', async () => {
    const result = await run({ greeting: 'hi', fail: true });
    expect(result.conclusion).toBe('failure');
    expect(result.jobs.first.result).toBe('failure');
    expect(result.jobs.first.steps.find((step) => step.id === 'on-failure')?.outputs.handled).toBe('yes');
    expect(result.jobs.called.result).toBe('skipped');
    expect(result.jobs['after-failure'].result).toBe('success');
  });
});
