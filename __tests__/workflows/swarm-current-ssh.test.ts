import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runProcess } from '../../shared/process.js';
import { interpolateString, NO_STATUS } from '../../scripts/local-runner/expressions.js';
import { REPO_ROOT } from './references.js';

/**
 * Where rollback.yml's plan reads the current release when the deployments name none: on a swarm,
 * the first service's image on the manager, which is the runner's engine or, with ssh-host, the
 * deploy host over SSH (the plan environment then needs DEPLOY_SSH_KEY). The settings step's own
 * shell runs here with bash (its env evaluated from the repository variables), and compute's inputs are evaluated with GitHub's expression library.
 */
interface Step {
  id?: string;
  env?: Record<string, string>;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}
const workflow = parseYaml(readFileSync(path.join(REPO_ROOT, '.github/workflows/rollback.yml'), 'utf8')) as {
  jobs: { plan: { steps: Step[] } };
};
const steps = workflow.jobs.plan.steps;
const settings = steps.find((step) => step.id === 'settings') ?? {};
const computeInputs = steps.find((step) => step.uses === './actions/compute-rollback-target')?.with ?? {};

/** The settings step run as the runner runs it: its env evaluated from the repository variables. */
async function settingsOutputs(vars: Record<string, string>): Promise<Record<string, string>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollback-test-settings-'));
  try {
    const output = path.join(dir, 'output');
    writeFileSync(output, '');
    const contexts = {
      inputs: { environment: 'production' },
      vars,
      secrets: {},
      job: { workflow_repository: 'owner/rollback-actions', workflow_sha: 'abc' },
    };
    const env = Object.fromEntries(
      Object.entries(settings.env ?? {}).map(([name, value]) => [name, interpolateString(value, contexts, NO_STATUS)]),
    );
    await runProcess('bash', ['-e', '-c', settings.run ?? 'exit 1'], { env: { ...env, GITHUB_OUTPUT: output } });
    const lines = readFileSync(output, 'utf8').split('\n');
    return Object.fromEntries(
      lines
        .filter((line) => /^[a-z-]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function computeSsh(outputs: Record<string, string>): Record<string, string> {
  const contexts = { steps: { settings: { outputs } }, secrets: { DEPLOY_SSH_KEY: 'PRIVATE KEY' } };
  return Object.fromEntries(
    ['current-from-swarm-service', 'ssh-host', 'ssh-user', 'ssh-key'].map((name) => [
      name,
      interpolateString(computeInputs[name], contexts, NO_STATUS),
    ]),
  );
}

const SWARM = {
  ROLLBACK_REDEPLOY_STRATEGY: 'swarm',
  ROLLBACK_STACK: 'shop',
  ROLLBACK_SERVICES: 'api,worker',
  ROLLBACK_SSH_USER: 'deploy',
};

const NO_SSH = { 'ssh-host': '', 'ssh-user': '', 'ssh-key': '' };

describe("rollback.yml's plan: the current release from a swarm service", () => {
  it('reads <stack>_<first service> on the manager over SSH when ssh-host is set, with the deploy key', async () => {
    const outputs = await settingsOutputs({ ...SWARM, ROLLBACK_SSH_HOST: 'manager.internal' });
    expect(computeSsh(outputs)).toEqual({
      'current-from-swarm-service': 'shop_api',
      'ssh-host': 'manager.internal',
      'ssh-user': 'deploy',
      'ssh-key': 'PRIVATE KEY',
    });
  });

  it("reads it on the runner's engine without ssh-host, and passes no SSH input", async () => {
    const outputs = await settingsOutputs(SWARM);
    expect(computeSsh(outputs)).toEqual({ 'current-from-swarm-service': 'shop_api', ...NO_SSH });
  });

  it('opens no SSH connection for compose, even with ssh-host set', async () => {
    const outputs = await settingsOutputs({
      ...SWARM,
      ROLLBACK_REDEPLOY_STRATEGY: 'compose',
      ROLLBACK_SSH_HOST: 'deploy.internal',
    });
    expect(computeSsh(outputs)).toEqual({ 'current-from-swarm-service': '', ...NO_SSH });
  });
});
