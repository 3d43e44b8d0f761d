import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolateString, NO_STATUS } from '../../scripts/local-runner/expressions.js';
import { demoImage } from '../../testkit/demo-app.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';
import { runWorkflowStep, type WorkflowStep } from '../../testkit/workflow-step.js';
import { REPO_ROOT } from './references.js';

/**
 * The drill's image check (.github/scripts/image-present.sh) on a deploy host whose sshd listens on
 * another port than 22 (ROLLBACK_SSH_PORT), against a real sshd whose sessions reach the test engine;
 * and the drill's steps that reach that host all given the port.
 */
const drill = parseYaml(readFileSync(path.join(REPO_ROOT, '.github/workflows/rollback-drill.yml'), 'utf8')) as {
  jobs: Record<string, { steps?: WorkflowStep[] }>;
};
const steps = Object.entries(drill.jobs).flatMap(([job, { steps = [] }]) =>
  steps.map((step) => ({ name: `${job}.${step.id ?? step.uses}`, step })),
);

describe('rollback-drill.yml: the deploy host on another SSH port', () => {
  let sshd: TestSshServer;
  beforeAll(async () => {
    sshd = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('every step given ssh-host (or SSH_HOST) is given the port too', () => {
    const missing = steps
      .filter(
        ({ step }) =>
          (step.with?.['ssh-host'] !== undefined && step.with['ssh-port'] === undefined) ||
          (step.env?.SSH_HOST !== undefined && step.env.SSH_PORT === undefined),
      )
      .map(({ name }) => name);
    expect(missing).toEqual([]);
    // The ledger's readers (compute, the dump restore) go to the deploy host only with a ledger.
    const vars = {
      ROLLBACK_SSH_PORT: '2222',
      ROLLBACK_SSH_HOST: 'deploy.internal',
      ROLLBACK_LEDGER: 'ops/deployments.jsonl',
    };
    const ports = steps
      .filter(({ step }) => step.with?.['ssh-port']?.includes('ROLLBACK_SSH_PORT') || step.env?.SSH_PORT)
      .map(({ name, step }) => [
        name,
        interpolateString(step.with?.['ssh-port'] ?? step.env!.SSH_PORT, { vars }, NO_STATUS),
      ]);
    expect(ports.length).toBeGreaterThanOrEqual(4);
    expect(ports.filter(([, port]) => port !== '2222')).toEqual([]);
  });

  /** The check's own script, run as its step runs it, with the step's env evaluated from these variables. */
  async function imageCheck(tag: string, vars: Record<string, string>) {
    const check = steps.find(({ step }) => step.env?.SSH_HOST !== undefined)!.step;
    const contexts = {
      vars,
      secrets: { DEPLOY_SSH_KEY: sshd.privateKey },
      needs: { database: { outputs: { 'target-tag': tag } } },
    };
    // The runner reaches no engine: only the SSH session does.
    const result = await runWorkflowStep(check, contexts, {
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      okExitCodes: [0, 1],
    });
    return { exitCode: result.exitCode, output: result.outputText };
  }

  it('image-present.sh checks the image on the host over ssh on ROLLBACK_SSH_PORT', async () => {
    const image = demoImage('v1.1.0');
    const vars = {
      ROLLBACK_IMAGE: image.slice(0, image.lastIndexOf(':')),
      ROLLBACK_SSH_HOST: sshd.host,
      ROLLBACK_SSH_PORT: String(sshd.port),
      ROLLBACK_SSH_USER: sshd.user,
      ROLLBACK_KNOWN_HOSTS: sshd.knownHosts,
    };
    const present = await imageCheck('v1.1.0', vars);
    expect(present).toEqual({
      exitCode: 0,
      output: expect.stringContaining(`result=present\ndetails=present on ${sshd.host}\n`),
    });
    const missing = await imageCheck('v9.9.9', vars);
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toContain(`result=missing\ndetails=missing on ${sshd.host} and not pullable`);
  });
});
