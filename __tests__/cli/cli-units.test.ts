import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, UsageError } from '../../cli/args.js';
import { readSettings } from '../../cli/settings.js';
import { succeeded, unsyncedDeploys } from '../../cli/sync.js';
import { historyLine, localRunReference } from '../../cli/run-workflow.js';
import type { JobRun } from '../../scripts/local-runner/types.js';
import { ledgerBackup } from '../../actions/compute-rollback-target/ledger-source.js';
import { workflowRunUrl } from '../../shared/github/deployments.js';
import { LOCAL_RUN_ENV, workflowRunReference } from '../../shared/github/run-reference.js';
import type { LedgerEntry } from '../../shared/ledger/ledger.js';

/** The parts of the rollback-actions command that need no services (the command itself: rollback-cli.test.ts). */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cli-units-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('settings from files and the environment', () => {
  it('reads dotenv (comments, export, quotes) and JSON; the environment wins; the secrets are masked whole and line by line', () => {
    const secretsFile = path.join(dir, 'secrets.env');
    writeFileSync(
      secretsFile,
      '# prod\nexport DATABASE_URL="postgres://app:s3cr3t-pw@db/app"\nSMOKE_TOKEN=\'tok en\'\nKEY=first\n',
    );
    const varsFile = path.join(dir, 'vars.json');
    writeFileSync(varsFile, JSON.stringify({ ROLLBACK_BASE_URL: 'http://app', ROLLBACK_SERVICES: 'web' }));
    const settings = readSettings(
      {
        ROLLBACK_SECRET_KEY: 'line one\nline two',
        ROLLBACK_VAR_ROLLBACK_SERVICES: 'app',
        GITHUB_TOKEN: 'ghs_x',
        PATH: '/bin',
        DOCKER_HOST: 'unix:///d.sock',
      },
      { secretsFile, varsFile },
    );
    expect(settings.secrets).toEqual({
      DATABASE_URL: 'postgres://app:s3cr3t-pw@db/app',
      SMOKE_TOKEN: 'tok en',
      KEY: 'line one\nline two',
      GITHUB_TOKEN: 'ghs_x',
    });
    expect(settings.vars).toEqual({ ROLLBACK_BASE_URL: 'http://app', ROLLBACK_SERVICES: 'app' });
    // The steps' environment holds neither the secrets nor the variables given this way.
    expect(settings.processEnv).toEqual({ PATH: '/bin', DOCKER_HOST: 'unix:///d.sock' });
    expect(settings.mask('url postgres://app:s3cr3t-pw@db/app, token tok en, ghs_x; line two')).toBe(
      'url ***, token ***, ***; ***',
    );
  });

  it('refuses a file that is not NAME=value lines or a JSON object of strings, naming the option and line', () => {
    const bad = path.join(dir, 'bad.env');
    writeFileSync(bad, 'A=1\nnot a setting\n');
    expect(() => readSettings({}, { secretsFile: bad })).toThrow(
      new UsageError(`--secrets-file: ${bad} line 2 is not NAME=value`),
    );
    const json = path.join(dir, 'bad.json');
    writeFileSync(json, '{"A": 1}');
    expect(() => readSettings({}, { varsFile: json })).toThrow(`--vars-file: ${json}: the value of A must be a string`);
  });
});

describe('arguments', () => {
  it('parses options with and without =, and refuses unknown ones and missing values', () => {
    expect(parseArgs(['rollback', '--environment=production', '--target', 'v1.2.0', '--dry-run'])).toEqual({
      command: 'rollback',
      help: false,
      options: { environment: 'production', target: 'v1.2.0', 'dry-run': true },
    });
    expect(parseArgs(['sync', '--help'])).toMatchObject({ command: 'sync', help: true });
    expect(() => parseArgs(['rollback', '--target', '--yes'])).toThrow('rollback: --target needs a value (<tag>)');
    expect(() => parseArgs(['rollback', '--yes=no'])).toThrow('rollback: --yes takes no value');
    expect(() => parseArgs(['sync', '--target', 'v1'])).toThrow('sync: unknown option "--target"');
  });
});

describe('what sync records', () => {
  const deploy = (time: string, tag: string, extra: Partial<LedgerEntry> = {}): LedgerEntry =>
    ({
      type: 'deploy',
      time,
      tag,
      environment: 'production',
      outcome: 'deployed',
      success: true,
      services: ['app'],
      ...extra,
    }) as LedgerEntry;
  it('picks the deploys without a GitHub deployment and not yet synced, each with the smoke verdict that followed it', () => {
    const entries: LedgerEntry[] = [
      deploy('t1', 'v1.1.0', { githubDeploymentId: 7 } as Partial<LedgerEntry>),
      deploy('t2', 'v1.3.0', { outcome: 'failed', success: false } as Partial<LedgerEntry>),
      { type: 'smoke', time: 't3', environment: 'production', tag: 'v1.3.0', result: 'fail', checks: 5, failed: 5 },
      deploy('t4', 'v1.2.0'),
      { type: 'smoke', time: 't5', environment: 'production', tag: 'v1.2.0', result: 'pass', checks: 5, failed: 0 },
      deploy('t6', 'v1.2.1', { outcome: 'refused', success: false } as Partial<LedgerEntry>),
      deploy('t7', 'v1.0.0', { environment: 'staging' } as Partial<LedgerEntry>),
      { type: 'sync', time: 't8', environment: 'staging', deployTime: 't7', tag: 'v1.0.0', githubDeploymentId: 9 },
    ];
    const pending = unsyncedDeploys(entries);
    expect(pending.map(({ deploy: entry, smoke }) => `${entry.tag} ${entry.outcome} ${smoke?.result ?? '-'}`)).toEqual([
      'v1.3.0 failed fail',
      'v1.2.0 deployed pass',
    ]);
    expect(pending.map(succeeded)).toEqual([false, true]);
    // A successful deploy whose smoke test failed is a failed deployment; one without a smoke test stands on its own outcome.
    expect(succeeded({ deploy: pending[1].deploy, smoke: { ...pending[1].smoke!, result: 'fail' } })).toBe(false);
    expect(succeeded({ deploy: pending[1].deploy })).toBe(true);
    expect(unsyncedDeploys(entries, 'staging')).toEqual([]);
  });
});

describe("a local run's reference and the ledger's latest backup", () => {
  it('a run from the terminal has no GitHub link: the reports name the host, the time and the record folder', () => {
    const onGitHub = {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_RUN_ID: '42',
      GITHUB_RUN_ATTEMPT: '1',
    };
    expect(workflowRunReference(onGitHub)).toBe('https://github.com/acme/shop/actions/runs/42/attempts/1');
    const local = localRunReference(new Date('2026-11-27T01:02:03.000Z'), '/srv/records/run-1');
    expect(local).toBe(`local run on ${os.hostname()} at 2026-11-27T01:02:03.000Z, record /srv/records/run-1`);
    const localEnv = { ...onGitHub, [LOCAL_RUN_ENV]: local };
    expect(workflowRunReference(localEnv)).toBe(local);
    // Nor do the deployments it records on GitHub carry a log_url: the run id names no page there.
    expect(workflowRunUrl(onGitHub)).toBe('https://github.com/acme/shop/actions/runs/42/attempts/1');
    expect(workflowRunUrl(localEnv)).toBeUndefined();
  });

  it('the record names where the plan read the releases: GitHub, the ledger with GitHub down, or the ledger after GitHub went away mid-run', () => {
    const planReading = (source?: string): JobRun => ({
      id: 'plan',
      name: 'plan',
      result: 'success',
      outcome: 'success',
      outputs: {},
      steps: source
        ? [
            {
              id: 'target',
              name: 'compute',
              outcome: 'success',
              conclusion: 'success',
              outputs: { 'history-source': source },
              startedAt: 0,
              durationMs: 0,
              errors: [],
              signals: [],
            },
          ]
        : [],
      startedAt: 0,
      durationMs: 0,
      summary: '',
      errors: [],
    });
    const apiUrl = 'http://127.0.0.1:1/api';
    const answered = { apiUrl, reachable: true, reason: '' };
    const down = { apiUrl, reachable: false, reason: 'connect ECONNREFUSED 127.0.0.1:1' };
    expect(historyLine(planReading('github'), answered)).toBe(`GitHub's deployments (${apiUrl})`);
    expect(historyLine(planReading('ledger'), down)).toBe(
      'the deployment ledger (GitHub not used: connect ECONNREFUSED 127.0.0.1:1)',
    );
    expect(historyLine(planReading('ledger'), answered)).toBe(
      'the deployment ledger (GitHub answered when the command started, but not when the plan read the history: the plan below says why)',
    );
    expect(historyLine(planReading(), down)).toBe(
      'not read (the plan did not get that far; GitHub: connect ECONNREFUSED 127.0.0.1:1)',
    );
    expect(historyLine(undefined, answered)).toBe('not read (the plan did not get that far; GitHub: reachable)');
  });

  it("the environment's latest backup is the newest one that is not a rollback's pre-rollback backup", () => {
    const backup = (location: string, label?: string): LedgerEntry => ({
      type: 'backup',
      time: location,
      ...(label ? { label } : {}),
      location,
      database: 'shop',
      method: 'dump',
    });
    const entries = [
      backup('/b/old'),
      backup('/b/deploy', 'production'),
      backup('/b/rollback', 'production-pre-rollback'),
    ];
    const latest = (list: LedgerEntry[], environment?: string) =>
      ledgerBackup({ path: 'ledger', entries: list, environment })?.location;
    expect(latest(entries, 'production')).toBe('/b/deploy');
    expect(latest([...entries, backup('/b/unlabelled')], 'production')).toBe('/b/unlabelled');
    // backup-db's default label, or a team's own, counts as before labels were recorded.
    expect(latest([...entries, backup('/b/nightly', 'nightly')], 'production')).toBe('/b/nightly');
    // Without an environment every backup counts.
    expect(latest(entries)).toBe('/b/rollback');
  });
});
