import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCalled } from '../../scripts/demo/scenario.js';
import { createDemoWorld, type DemoWorld, type RunSettings } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import type { LedgerEntry } from '../../shared/ledger/ledger.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';

/**
 * rollback.yml on the demo app with the deploy host reached over SSH on a port other than 22 (vars
 * ROLLBACK_SSH_HOST, _PORT, _USER, ROLLBACK_KNOWN_HOSTS and the DEPLOY_SSH_KEY secret), and the
 * deployment ledger kept there (ROLLBACK_LEDGER), through the local runner against a real sshd on
 * 127.0.0.1 whose sessions reach the test engine. Every step that goes to the host must be given the
 * port: without it ssh would knock on port 22, where nothing listens.
 */
describe('rollback.yml with the deploy host over SSH on another port, and the ledger there', () => {
  let world: DemoWorld;
  let sshd: TestSshServer;
  let settings: RunSettings;
  let ledgerFile: string;
  let rollback: WorkflowRun;
  const lines: string[] = [];

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'deploy-host-ssh-'));
    ledgerFile = path.join(root, 'ops', 'rollback-ledger.jsonl');
    sshd = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
    world = await createDemoWorld({ root, log: (line) => lines.push(line) });
    settings = { vars: { ROLLBACK_LEDGER: ledgerFile } };
    // The deploys run on the runner (the deploy host's self-hosted runner, as the example pipeline says).
    for (const tag of ['v1.1.0', 'v1.2.0']) {
      const deploy = await world.run('deploy.yml', { tag, environment: 'production' }, settings);
      if (deploy.conclusion !== 'success')
        throw new Error(`deploy of ${tag}: ${deploy.conclusion}\n${lines.slice(-40).join('\n')}`);
    }
    expect(sshd.port).not.toBe(22);
    const caller = await world.run(
      'rollback.yml',
      { environment: 'production', 'target-tag': 'v1.1.0', reason: 'deploy host over ssh' },
      {
        vars: {
          ROLLBACK_LEDGER: ledgerFile,
          ROLLBACK_SSH_HOST: sshd.host,
          ROLLBACK_SSH_PORT: String(sshd.port),
          ROLLBACK_SSH_USER: sshd.user,
          ROLLBACK_KNOWN_HOSTS: sshd.knownHosts,
        },
        secrets: { DEPLOY_SSH_KEY: sshd.privateKey },
      },
    );
    if (caller.conclusion !== 'success')
      throw new Error(`rollback: ${caller.conclusion}\n${lines.slice(-60).join('\n')}`);
    rollback = findCalled(caller, 'rollback');
  }, 1_200_000);

  afterAll(async () => {
    await world?.stop();
    await sshd?.stop();
  });

  it('rolls back over SSH on that port: the last good release runs again', async () => {
    expect(rollback.jobs.plan.outputs['ssh-port']).toBe(String(sshd.port));
    // redeploy-tag names where it ran: the SSH host on that port.
    expect(rollback.jobs.rollback.summary).toContain(`${sshd.host}:${sshd.port}`);
    const app = await world.appState();
    expect({ runningTag: app.runningTag, healthStatus: app.healthStatus }).toEqual({
      runningTag: 'v1.1.0',
      healthStatus: 200,
    });
  });

  it("records the rollback's dump backup, its redeploy and its smoke verdict in the host's ledger", () => {
    const entries = readFileSync(ledgerFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LedgerEntry);
    const since = entries.findLastIndex((entry) => entry.type === 'smoke' && entry.tag === 'v1.2.0') + 1;
    const ofRollback = entries.slice(since);
    const backup = ofRollback.find((entry) => entry.type === 'backup');
    expect(backup).toMatchObject({
      type: 'backup',
      method: 'dump',
      label: 'production-pre-rollback',
      appVersion: 'v1.2.0',
      checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(ofRollback.map((entry) => entry.type)).toEqual(['backup', 'deploy', 'smoke']);
    expect(ofRollback.slice(1)).toEqual([
      expect.objectContaining({ type: 'deploy', tag: 'v1.1.0', success: true }),
      expect.objectContaining({ type: 'smoke', tag: 'v1.1.0', result: 'pass' }),
    ]);
  });
});
