import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolateString, NO_STATUS } from '../../scripts/local-runner/expressions.js';
import { runWorkflowStep, type WorkflowStep } from '../../testkit/workflow-step.js';
import { REPO_ROOT } from './references.js';

/**
 * Where rollback.yml's plan reads the current release when the deployments name none: on a swarm,
 * the first service's image on the manager, which is the runner's engine or, with ssh-host, the
 * deploy host over SSH (the plan environment then needs DEPLOY_SSH_KEY). The settings step's own
 * shell runs here with bash (its env evaluated from the repository variables), and compute's inputs are evaluated with GitHub's expression library.
 */
const workflow = parseYaml(readFileSync(path.join(REPO_ROOT, '.github/workflows/rollback.yml'), 'utf8')) as {
  jobs: Record<'plan' | 'backup' | 'rollback', { steps: WorkflowStep[] }>;
};
const steps = workflow.jobs.plan.steps;
const settings = steps.find((step) => step.id === 'settings') ?? {};
const computeInputs = steps.find((step) => step.uses === './actions/compute-rollback-target')?.with ?? {};

/** The settings step run as the runner runs it: its env evaluated from the repository variables. */
async function settingsOutputs(
  vars: Record<string, string>,
  inputs: Record<string, string> = {},
): Promise<Record<string, string>> {
  const contexts = {
    inputs: { environment: 'production', ...inputs },
    vars,
    secrets: {},
    job: { workflow_repository: 'owner/rollback-actions', workflow_sha: 'abc' },
  };
  return (await runWorkflowStep(settings, contexts)).outputs;
}

function computeSsh(outputs: Record<string, string>): Record<string, string> {
  const contexts = { steps: { settings: { outputs } }, secrets: { DEPLOY_SSH_KEY: 'PRIVATE KEY' } };
  return Object.fromEntries(
    ['current-from-swarm-service', 'ssh-host', 'ssh-user', 'ssh-port', 'ssh-key'].map((name) => [
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

const NO_SSH = { 'ssh-host': '', 'ssh-user': '', 'ssh-port': '22', 'ssh-key': '' };

describe("rollback.yml's plan: the current release from a swarm service", () => {
  it('reads <stack>_<first service> on the manager over SSH when ssh-host is set, with the deploy key', async () => {
    const outputs = await settingsOutputs({ ...SWARM, ROLLBACK_SSH_HOST: 'manager.internal' });
    expect(computeSsh(outputs)).toEqual({
      'current-from-swarm-service': 'shop_api',
      'ssh-host': 'manager.internal',
      'ssh-user': 'deploy',
      'ssh-port': '22',
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
  const COMPOSE_OVER_SSH = {
    ...SWARM,
    ROLLBACK_REDEPLOY_STRATEGY: 'compose',
    ROLLBACK_SSH_HOST: 'deploy.internal',
    ROLLBACK_KNOWN_HOSTS: 'deploy.internal ssh-ed25519 AAAA',
  };
  const SSH_INPUTS = ['ssh-host', 'ssh-user', 'ssh-port', 'ssh-key', 'known-hosts', 'ledger'];

  /** A step's ledger and SSH inputs (the first step of `action` in `job`), evaluated from the plan's outputs and the variables. */
  function ledgerHost(
    action: string,
    vars: Record<string, string>,
    plan: Record<string, string>,
    job: 'rollback' | 'backup' = 'rollback',
  ) {
    const step = workflow.jobs[job].steps.find((candidate) => candidate.uses === `./actions/${action}`)?.with ?? {};
    const contexts = {
      vars,
      needs: { plan: { outputs: plan } },
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
      'ssh-port': '22',
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
      'ssh-port': '22',
      'ssh-key': 'PRIVATE KEY',
      'known-hosts': 'deploy.internal ssh-ed25519 AAAA',
      ledger: LEDGER.ROLLBACK_LEDGER,
    });
    expect(ledgerHost('smoke-test', LEDGER, plan)).toEqual(deploy);
    // On the runner without ssh-host; and with no ledger, smoke-test gets no SSH input at all (it refuses ssh-host without a ledger).
    const runner = await settingsOutputs({ ...SWARM, ROLLBACK_REDEPLOY_STRATEGY: 'compose', ...LEDGER });
    const local = {
      'ssh-host': '',
      'ssh-user': '',
      'ssh-port': '22',
      'ssh-key': '',
      'known-hosts': '',
      ledger: LEDGER.ROLLBACK_LEDGER,
    };
    expect(ledgerHost('smoke-test', LEDGER, runner)).toEqual(local);
    expect(ledgerHost('smoke-test', {}, plan)).toEqual({ ...local, ledger: '' });
  });

  it("the dump backups (the rollback's and the image-only one alongside) record in the ledger on the host redeploy-tag writes to, and the dump restore reads it there", async () => {
    const plan = await settingsOutputs({ ...COMPOSE_OVER_SSH, ...LEDGER });
    const deploy = ledgerHost('redeploy-tag', LEDGER, plan);
    expect(ledgerHost('backup-db', LEDGER, plan)).toEqual(deploy);
    expect(ledgerHost('backup-db', LEDGER, plan, 'backup')).toEqual(deploy);
    // restore-db reads there which backup is the latest of the label (from a terminal, in the local backup dir).
    expect(ledgerHost('restore-db', LEDGER, plan)).toEqual(deploy);
    // The dump is taken on the runner either way: only with a ledger and ssh-host does it get SSH inputs.
    const runner = await settingsOutputs({ ...SWARM, ROLLBACK_REDEPLOY_STRATEGY: 'compose', ...LEDGER });
    const local = { ...NO_SSH, 'known-hosts': '', ledger: LEDGER.ROLLBACK_LEDGER };
    expect(ledgerHost('backup-db', LEDGER, runner)).toEqual(local);
    expect(ledgerHost('backup-db', {}, plan, 'backup')).toEqual({ ...local, ledger: '' });
    expect(ledgerHost('restore-db', LEDGER, runner)).toEqual(local);
    expect(ledgerHost('restore-db', {}, plan)).toEqual({ ...local, ledger: '' });
  });
});

/** A deploy host whose sshd listens on another port than 22: ROLLBACK_SSH_PORT (or the ssh-port input). */
describe('rollback.yml: the deploy host on another SSH port', () => {
  const OVER_SSH = { ...SWARM, ROLLBACK_SSH_HOST: 'deploy.internal', ROLLBACK_LEDGER: 'ops/deployments.jsonl' };

  it('every step given ssh-host is given an ssh-port too', () => {
    const missing = Object.entries(workflow.jobs).flatMap(([job, { steps }]) =>
      steps
        .filter((step) => step.with?.['ssh-host'] !== undefined && step.with['ssh-port'] === undefined)
        .map((step) => `${job}.${step.id ?? step.uses}`),
    );
    expect(missing).toEqual([]);
  });

  it.each([
    ['the variable', { ROLLBACK_SSH_PORT: '2222' }, {}],
    ['the ssh-port input over the variable', { ROLLBACK_SSH_PORT: '2200' }, { 'ssh-port': '2222' }],
  ])('%s reaches compute, the stop, the redeploy, the smoke verdict and the dump backup', async (_, vars, inputs) => {
    const outputs = await settingsOutputs({ ...OVER_SSH, ...vars }, inputs);
    expect(outputs['ssh-port']).toBe('2222');
    expect(computeSsh(outputs)['ssh-port']).toBe('2222');
    const needs = { plan: { outputs } };
    const contexts = { vars: { ...OVER_SSH, ...vars }, needs, secrets: { DEPLOY_SSH_KEY: 'PRIVATE KEY' } };
    const ports = Object.entries(workflow.jobs).flatMap(([job, { steps }]) =>
      steps
        .filter((step) => step.with?.['ssh-port'] !== undefined && !step.with['ssh-port'].includes('PGBACKREST'))
        .map((step) => [
          `${job}.${step.id ?? step.uses}`,
          interpolateString(step.with!['ssh-port'], { ...contexts, steps: { settings: { outputs } } }, NO_STATUS),
        ]),
    );
    expect(ports).toEqual([
      ['plan.target', '2222'],
      ['backup.backup', '2222'],
      ['rollback.backup', '2222'],
      ['rollback.stop', '2222'],
      ['rollback.restore', '2222'],
      ['rollback.restart', '2222'],
      ['rollback.redeploy', '2222'],
      ['rollback.smoke', '2222'],
    ]);
  });
});

/**
 * The drill reads what a rollback reads, where rollback.yml reads it: the last known good release
 * (compute) and the latest backup of the label (restore-db, from a terminal's local backup dir)
 * come from the deployment ledger on the deploy host when GitHub does not answer.
 */
describe('rollback-drill.yml: the deployment ledger on the deploy host (ssh-host)', () => {
  const drill = parseYaml(readFileSync(path.join(REPO_ROOT, '.github/workflows/rollback-drill.yml'), 'utf8')) as {
    jobs: { database: { steps: WorkflowStep[] } };
  };
  const LEDGER_HOST = {
    ROLLBACK_LEDGER: 'ops/deployments.jsonl',
    ROLLBACK_SSH_HOST: 'deploy.internal',
    ROLLBACK_SSH_USER: 'deploy',
    ROLLBACK_KNOWN_HOSTS: 'deploy.internal ssh-ed25519 AAAA',
  };
  const INPUTS = ['ledger', 'ssh-host', 'ssh-user', 'ssh-port', 'ssh-key', 'known-hosts'];

  /** The ledger and SSH inputs of the database job's compute and restore-db steps, evaluated from the variables. */
  function ledgerInputs(vars: Record<string, string>): Record<string, Record<string, string>> {
    const contexts = { vars, secrets: { DEPLOY_SSH_KEY: 'PRIVATE KEY' } };
    return Object.fromEntries(
      drill.jobs.database.steps
        .filter((step) => step.id === 'target' || step.id === 'restore')
        .map((step) => [
          step.id!,
          Object.fromEntries(
            INPUTS.map((name) => [name, interpolateString(step.with?.[name] ?? '', contexts, NO_STATUS)]),
          ),
        ]),
    );
  }

  it('compute and the dump restore read the ledger on ssh-host with the deploy key, on its port', () => {
    const onHost = {
      ledger: 'ops/deployments.jsonl',
      'ssh-host': 'deploy.internal',
      'ssh-user': 'deploy',
      'ssh-port': '22',
      'ssh-key': 'PRIVATE KEY',
      'known-hosts': 'deploy.internal ssh-ed25519 AAAA',
    };
    expect(ledgerInputs(LEDGER_HOST)).toEqual({ target: onHost, restore: onHost });
    const onPort = { ...onHost, 'ssh-port': '2222' };
    expect(ledgerInputs({ ...LEDGER_HOST, ROLLBACK_SSH_PORT: '2222' })).toEqual({ target: onPort, restore: onPort });
  });

  it('without ssh-host the ledger is read on the runner; without a ledger no SSH input is passed', () => {
    const { ROLLBACK_LEDGER, ...hostOnly } = LEDGER_HOST;
    const local = { ...NO_SSH, 'known-hosts': '' };
    expect(ledgerInputs({ ROLLBACK_LEDGER })).toEqual({
      target: { ...local, ledger: ROLLBACK_LEDGER },
      restore: { ...local, ledger: ROLLBACK_LEDGER },
    });
    expect(ledgerInputs({ ...hostOnly, ROLLBACK_SSH_PORT: '2222' })).toEqual({
      target: { ...local, ledger: '' },
      restore: { ...local, ledger: '' },
    });
  });
});
