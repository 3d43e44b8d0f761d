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

  it('opens no SSH connection for compose without a ledger, even with ssh-host set', async () => {
    const outputs = await settingsOutputs({
      ...SWARM,
      ROLLBACK_REDEPLOY_STRATEGY: 'compose',
      ROLLBACK_SSH_HOST: 'deploy.internal',
    });
    expect(computeSsh(outputs)).toEqual({ 'current-from-swarm-service': '', ...NO_SSH });
  });
});

/**
 * The deployment ledger lives where redeploy-tag writes it: on ssh-host when the services run there.
 * The plan reads it there (compute's ssh-* inputs are one deploy host: the swarm manager and the
 * ledger's host), and the rollback's smoke verdict is appended there too, next to its deploy.
 */
describe('rollback.yml: the deployment ledger on the deploy host (ssh-host)', () => {
  const LEDGER = { ROLLBACK_LEDGER: 'ops/deployments.jsonl' };
  const COMPOSE_OVER_SSH = { ...SWARM, ROLLBACK_REDEPLOY_STRATEGY: 'compose', ROLLBACK_SSH_HOST: 'deploy.internal' };
  const rollbackSteps = (
    parseYaml(readFileSync(path.join(REPO_ROOT, '.github/workflows/rollback.yml'), 'utf8')) as {
      jobs: { rollback: { steps: Step[] } };
    }
  ).jobs.rollback.steps;
  const SSH_INPUTS = ['ssh-host', 'ssh-user', 'ssh-key', 'known-hosts', 'ledger'];

  /** A rollback-job step's ledger and SSH inputs, evaluated from the plan's outputs and the variables. */
  function ledgerHost(action: string, vars: Record<string, string>, plan: Record<string, string>) {
    const step = rollbackSteps.find((candidate) => candidate.uses === `./actions/${action}`)?.with ?? {};
    const contexts = {
      vars,
      needs: {
        plan: { outputs: { ...plan, 'known-hosts': plan['ssh-host'] ? 'deploy.internal ssh-ed25519 AAAA' : '' } },
      },
      secrets: { DEPLOY_SSH_KEY: 'PRIVATE KEY' },
    };
    return Object.fromEntries(
      SSH_INPUTS.map((name) => [name, interpolateString(step[name] ?? '', contexts, NO_STATUS)]),
    );
  }

  it('compute reads the ledger on ssh-host with the deploy key, for compose too', async () => {
    const outputs = await settingsOutputs({ ...COMPOSE_OVER_SSH, ...LEDGER });
    expect(computeSsh(outputs)).toEqual({
      'current-from-swarm-service': '',
      'ssh-host': 'deploy.internal',
      'ssh-user': 'deploy',
      'ssh-key': 'PRIVATE KEY',
    });
    expect(interpolateString(computeInputs.ledger, { vars: LEDGER }, NO_STATUS)).toBe(LEDGER.ROLLBACK_LEDGER);
  });

  it('without ssh-host the ledger is read on the runner, and no SSH input is passed', async () => {
    const outputs = await settingsOutputs({ ...SWARM, ROLLBACK_REDEPLOY_STRATEGY: 'compose', ...LEDGER });
    expect(computeSsh(outputs)).toEqual({ 'current-from-swarm-service': '', ...NO_SSH });
  });

  it("the rollback's smoke verdict goes into the ledger on the host redeploy-tag writes its deploy to", async () => {
    const plan = await settingsOutputs({ ...COMPOSE_OVER_SSH, ...LEDGER });
    const deploy = ledgerHost('redeploy-tag', LEDGER, plan);
    expect(deploy).toEqual({
      'ssh-host': 'deploy.internal',
      'ssh-user': 'deploy',
      'ssh-key': 'PRIVATE KEY',
      'known-hosts': 'deploy.internal ssh-ed25519 AAAA',
      ledger: LEDGER.ROLLBACK_LEDGER,
    });
    expect(ledgerHost('smoke-test', LEDGER, plan)).toEqual(deploy);
    // On the runner without ssh-host; and with no ledger, smoke-test gets no SSH input at all (it refuses ssh-host without a ledger).
    const runner = await settingsOutputs({ ...SWARM, ROLLBACK_REDEPLOY_STRATEGY: 'compose', ...LEDGER });
    const local = { 'ssh-host': '', 'ssh-user': '', 'ssh-key': '', 'known-hosts': '', ledger: LEDGER.ROLLBACK_LEDGER };
    expect(ledgerHost('smoke-test', LEDGER, runner)).toEqual(local);
    expect(ledgerHost('smoke-test', {}, plan)).toEqual({ ...local, ledger: '' });
  });
});
