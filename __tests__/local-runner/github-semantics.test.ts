import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { ConcurrencyRegistry } from '../../scripts/local-runner/concurrency.js';
import { runWorkflow } from '../../scripts/local-runner/runner.js';
import type { RunOptions, WorkflowRun } from '../../scripts/local-runner/types.js';
import { GIT_ENV } from '../../testkit/fixture-repo.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';

/**
 * The local runner behaves as GitHub documents, on the points the workflows depend on: status
 * functions over every ancestor job, the caller's event in a called workflow, environment-scoped
 * secrets and variables, per-job token permissions, calls GitHub would refuse, job-level
 * continue-on-error, masks, timeouts that stop a step with SIGINT then SIGTERM, concurrency groups
 * and the commit a called workflow runs at. Each case runs a fixture workflow for real.
 */
const FIXTURE = path.join(REPO_ROOT, '__tests__', 'fixtures', 'local-runner');

function options(workflow: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    workflowPath: path.join(FIXTURE, '.github', 'workflows', workflow),
    workflowRepository: { name: 'acme/fixture', dir: FIXTURE },
    repository: 'acme/fixture',
    eventName: 'workflow_dispatch',
    repositories: { 'acme/fixture': { dir: FIXTURE, checkout: 'link', linkEntries: ['.github'] } },
    runRoot: mkdtempSync(path.join(os.tmpdir(), 'local-runner-')),
    ...extra,
  };
}

function results(run: WorkflowRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.jobs).map(([id, job]) => [id, job.result]));
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 12);

describe('jobs and status functions', () => {
  it('runs independent jobs at the same time and needs-chained ones after each other', async () => {
    const run = await runWorkflow(options('ancestors.yml', { inputs: { fail: false } }));
    expect(results(run)).toEqual({
      a: 'success',
      b: 'success',
      'after-failure': 'skipped',
      'after-success': 'success',
      always: 'success',
      beside: 'success',
    });
    const { a, beside, b } = run.jobs;
    // beside needs nothing: it ran while a did; b waited for a.
    expect(beside.startedAt).toBeLessThan(a.startedAt + a.durationMs);
    expect(b.startedAt).toBeGreaterThanOrEqual(a.startedAt + a.durationMs);
  });

  it('evaluates failure() and success() over every ancestor, not only the jobs listed in needs', async () => {
    const run = await runWorkflow(options('ancestors.yml', { inputs: { fail: true } }));
    // a failed, so b (default success()) was skipped; a is not in the needs of the jobs below, but it is their ancestor.
    expect(results(run)).toEqual({
      a: 'failure',
      b: 'skipped',
      'after-failure': 'success',
      'after-success': 'skipped',
      always: 'success',
      beside: 'success',
    });
    expect(run.jobs.always.outputs.seen).toBe('skipped');
    expect(run.conclusion).toBe('failure');
  });

  it('applies job-level continue-on-error: the run passes and needs.<job>.result reads success', async () => {
    const run = await runWorkflow(options('continue-on-error.yml'));
    expect(run.jobs.flaky).toMatchObject({ outcome: 'failure', result: 'success' });
    expect(run.jobs.next.outputs.saw).toBe('success');
    expect(run.conclusion).toBe('success');
  });
});

describe('called workflows', () => {
  it.each([
    ['push', { ref: 'refs/tags/v1.3.0' }, 'refs/tags/v1.3.0', '', 'refs/tags/v1.3.0'],
    [
      'workflow_run',
      { workflow_run: { name: 'Release', conclusion: 'success', head_branch: 'v1.3.0' } },
      'refs/heads/main',
      'success',
      'v1.3.0',
    ],
  ])(
    "see the caller's event (%s) and payload, as GitHub gives them",
    async (eventName, payload, ref, conclusion, payloadRef) => {
      const run = await runWorkflow(options('events.yml', { eventName, eventPayload: payload, ref }));
      expect(run.conclusion).toBe('success');
      expect(run.jobs.call.outputs).toEqual({
        'event-name': eventName,
        'run-conclusion': conclusion,
        ref,
        'payload-ref': payloadRef,
      });
    },
  );

  it('refuses to run a workflow for an event it does not declare', async () => {
    await expect(runWorkflow(options('missing-input.yml', { eventName: 'push' }))).rejects.toThrow(
      'missing-input.yml does not run on "push" (its triggers: workflow_dispatch)',
    );
  });

  it('refuses, before any job runs, a call that misses a required input', async () => {
    const run = await runWorkflow(options('missing-input.yml'));
    expect(run).toMatchObject({ conclusion: 'failure', jobs: {} });
    expect(run.startupFailure).toMatch(
      /^Error calling workflow 'acme\/fixture\/\.github\/workflows\/event-callee\.yml@[0-9a-f]{40}'\. Input note is required, but not provided while calling\.$/,
    );
  });

  it('refuses, before any job runs, a nested job that asks for more token permissions than its caller grants', async () => {
    const run = await runWorkflow(options('nested-permissions.yml'));
    expect(run.jobs).toEqual({});
    expect(run.startupFailure).toMatch(
      /The nested job 'deploy' is requesting 'deployments: write', but is only allowed 'deployments: read'\.$/,
    );
  });

  it('runs a workflow called at a tag from the commit of that tag, and job.workflow_sha names that commit', async () => {
    const suite = mkdtempSync(path.join(os.tmpdir(), 'suite-repo-'));
    const git = (...args: string[]) =>
      runProcess('git', ['-C', suite, ...args], { env: { ...process.env, ...GIT_ENV } });
    const commit = async (version: string) => {
      mkdirSync(path.join(suite, '.github', 'workflows'), { recursive: true });
      writeFileSync(path.join(suite, 'VERSION'), `${version}\n`);
      writeFileSync(
        path.join(suite, '.github', 'workflows', 'suite-callee.yml'),
        [
          'name: Suite callee',
          'on: workflow_call',
          'permissions: {}',
          'jobs:',
          '  read:',
          '    runs-on: ubuntu-latest',
          '    outputs:',
          `      written-at: ${version}`,
          '      sha: ${{ job.workflow_sha }}',
          '      repository: ${{ job.workflow_repository }}',
          '      version: ${{ steps.version.outputs.version }}',
          '    steps:',
          '      - uses: actions/checkout@v5',
          '        with:',
          '          repository: ${{ job.workflow_repository }}',
          '          ref: ${{ job.workflow_sha }}',
          '          path: suite',
          '      - id: version',
          '        run: echo "version=$(cat suite/VERSION)" >> "$GITHUB_OUTPUT"',
        ].join('\n') + '\n',
      );
      await git('add', '-A');
      await git('commit', '-q', '-m', version);
      return (await git('rev-parse', 'HEAD')).stdout.trim();
    };
    await git('init', '-q', '-b', 'main');
    const v1 = await commit('v1-commit');
    await git('tag', 'v1');
    await commit('later-commit');
    const run = await runWorkflow(
      options('workflow-sha.yml', {
        repositories: {
          'acme/fixture': { dir: FIXTURE, checkout: 'link' },
          'acme/suite': { dir: suite, checkout: 'clone' },
        },
      }),
    );
    expect(run.conclusion).toBe('success');
    expect(run.jobs.call.called!.jobs.read.outputs).toEqual({
      'written-at': 'v1-commit',
      sha: v1,
      repository: 'acme/suite',
      version: 'v1-commit',
    });
  });
});

describe('environments, secrets and tokens', () => {
  it('gives environment secrets and variables only to jobs that name the environment, and to called jobs only what the caller passed', async () => {
    const run = await runWorkflow(
      options('secrets.yml', {
        secrets: { DATABASE_URL: 'postgres://repo-level' },
        vars: { STAGE: 'repository' },
        environments: {
          production: {
            secrets: { DATABASE_URL: 'postgres://production-only', DEPLOY_SSH_KEY: 'production-key' },
            vars: { STAGE: 'production' },
          },
        },
      }),
    );
    expect(run.conclusion).toBe('success');
    const [repo, prod, key, none] = [
      digest('postgres://repo-level'),
      digest('postgres://production-only'),
      digest('production-key'),
      digest(''),
    ];
    expect(run.jobs.plain.outputs.seen).toBe(`${repo} ${none} repository`);
    expect(run.jobs.production.outputs.seen).toBe(`${prod} ${key} production`);
    expect(run.jobs.production.secretSources).toMatchObject({
      DATABASE_URL: 'environment production',
      DEPLOY_SSH_KEY: 'environment production',
    });
    // secrets: inherit passes every name: the environment's values win inside it.
    expect(run.jobs.inherit.called!.outputs).toEqual({
      outside: `${repo} ${none} repository`,
      inside: `${prod} ${key} production`,
    });
    // Passed by name: only that name; the environment-only key stays empty.
    expect(run.jobs.named.called!.outputs).toEqual({
      outside: `${repo} ${none} repository`,
      inside: `${prod} ${none} production`,
    });
    // Nothing passed: nothing, even inside the environment (GitHub's documented empty string).
    expect(run.jobs.none.called!.outputs).toEqual({
      outside: `${none} ${none} repository`,
      inside: `${none} ${none} production`,
    });
  });

  it('gives each job a token with its own permissions: the GitHub stand-in refuses what they do not allow', async () => {
    const github = await startFakeGitHub();
    try {
      const lines: string[] = [];
      const run = await runWorkflow(
        options('permissions.yml', {
          tokenFor: (permissions) => github.server.grantToken(permissions),
          env: { GITHUB_API_URL: github.server.baseUrl },
          log: (line) => lines.push(line),
        }),
      );
      expect(results(run)).toEqual({ reader: 'failure', writer: 'success' });
      expect(run.jobs.reader.permissions).toMatchObject({ deployments: 'read', contents: 'none' });
      expect(lines.join('\n')).toContain('"message":"Resource not accessible by integration"');
      expect(github.deployments.deployments).toHaveLength(1);
      // Tokens are masked like secrets.
      expect(lines.join('\n')).not.toMatch(/ghs_[0-9a-f]{36}/);
    } finally {
      await github.server.stop();
    }
  });

  it('masks a multi-line secret line by line, and an added mask only as a whole (as the runner does)', async () => {
    const lines: string[] = [];
    const run = await runWorkflow(
      options('masks.yml', {
        secrets: { MULTI_LINE_KEY: 'first-line-of-the-key\nsecond-line-of-the-key' },
        log: (line) => lines.push(line),
      }),
    );
    expect(run.conclusion).toBe('success');
    const log = lines.join('\n');
    expect(log).not.toContain('line-of-the-key');
    expect(log).toContain('second line alone: ***');
    expect(log).toContain('a line of an added multi-line mask: added-second');
  });
});

describe('timeouts', () => {
  it('ends a job past its timeout-minutes: SIGINT to the hung step, SIGTERM 7.5 s later, always() steps still run to their end', async () => {
    const lines: string[] = [];
    const run = await runWorkflow(options('timeouts.yml', { log: (line) => lines.push(line) }));
    const { hung, after } = run.jobs;
    expect(hung.result).toBe('cancelled');
    expect(hung.errors[0]).toBe('The job has exceeded the maximum execution time of 0m3s');
    const [hang, cleanup, onCancel, onSuccess] = hung.steps;
    expect(hang.outcome).toBe('cancelled');
    expect(hang.signals.map((sent) => sent.signal)).toEqual(['SIGINT', 'SIGTERM']);
    // 3 s after the job started: the job's clock is read just after its timer is set, and a loaded
    // machine puts tens of milliseconds between the two (2947 ms was seen), so 100 ms are allowed.
    expect(hang.startedAt + hang.signals[0].atMs - hung.startedAt).toBeGreaterThanOrEqual(2900);
    expect(hang.signals[1].atMs - hang.signals[0].atMs).toBeGreaterThanOrEqual(7400);
    expect(lines.join('\n')).toMatch(/SIGINT received: ignored[\s\S]*SIGTERM received: exiting/);
    expect([cleanup.outcome, onCancel.outcome, onSuccess.outcome]).toEqual(['success', 'success', 'skipped']);
    expect(hung.outputs.cleanup).toBe('yes');
    expect(after.outputs.saw).toBe('cancelled');
    // An always() step running when its job times out is not stopped: it runs to its end (the job is still cancelled).
    expect(run.jobs['always-runs-on'].result).toBe('cancelled');
    expect(run.jobs['always-runs-on'].steps[0]).toMatchObject({ outcome: 'success', signals: [] });
    // A step past its own timeout fails (and the job goes on): the step after it handles the failure.
    expect(run.jobs['slow-step'].steps[0]).toMatchObject({
      outcome: 'failure',
      errors: ['The action has timed out after 0.02 minutes.'],
    });
    expect(run.jobs['slow-step'].outputs.handled).toBe('yes');
    expect(run.conclusion).toBe('failure');
  }, 60_000);
});

describe('concurrency', () => {
  it('keeps one run and one pending per group: a third arrival cancels the pending second; the group name ignores case', async () => {
    const registry = new ConcurrencyRegistry();
    const start = (label: string, seconds: number) =>
      runWorkflow(
        options('queue.yml', {
          inputs: { label, seconds },
          vars: { TARGET: label === 'B' ? 'PRODUCTION' : 'production' },
          concurrency: registry,
        }),
      );
    const first = start('A', 3);
    await waitUntil(() => registry.state('deploy-production').running === 'Queue A');
    const second = start('B', 1);
    await waitUntil(() => registry.state('deploy-production').pending === 'Queue B');
    const third = start('C', 1);
    const [a, b, c] = await Promise.all([first, second, third]);
    expect([a.conclusion, b.conclusion, c.conclusion]).toEqual(['success', 'cancelled', 'success']);
    expect(b.cancelledBecause).toBe("Canceling since a higher priority waiting request for 'Deploy-production' exists");
    expect(b.jobs).toEqual({});
    expect(c.startedAt).toBeGreaterThanOrEqual(a.startedAt);
    expect(c.jobs.work.startedAt).toBeGreaterThanOrEqual(a.startedAt + a.durationMs - 50);
    expect(registry.events.map(({ holder, event }) => `${holder} ${event}`)).toEqual([
      'Queue A running',
      'Queue B pending',
      'Queue B cancelled',
      'Queue C pending',
      'Queue A released',
      'Queue C running',
      'Queue C released',
    ]);
  }, 60_000);

  it('with cancel-in-progress, cancels the running run: its step gets SIGINT', async () => {
    const registry = new ConcurrencyRegistry();
    const first = runWorkflow(
      options('queue.yml', { inputs: { label: 'long', seconds: 30 }, vars: { TARGET: 'x' }, concurrency: registry }),
    );
    await waitUntil(() => registry.state('deploy-x').running === 'Queue long');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await runWorkflow(
      options('queue.yml', {
        inputs: { label: 'urgent', seconds: 0, cancel: true },
        vars: { TARGET: 'x' },
        concurrency: registry,
      }),
    );
    const long = await first;
    expect(long.conclusion).toBe('cancelled');
    expect(long.jobs.work.steps[0].signals[0].signal).toBe('SIGINT');
    expect(second.conclusion).toBe('success');
  }, 60_000);

  it('cancels a called workflow that needs the group its caller holds, as GitHub cancels a deadlock', async () => {
    const run = await runWorkflow(options('deadlock.yml'));
    expect(run.conclusion).toBe('cancelled');
    expect(run.jobs.call.errors).toEqual([
      "Canceling since a deadlock for concurrency group 'DEPLOY-production' was detected between 'top level workflow' and 'call'",
    ]);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
