import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/actions.js';
import { createDemoWorld, type DemoWorld } from '../../scripts/demo/world.js';
import { runProcess } from '../../shared/process.js';
import type { LedgerEntry } from '../../shared/ledger/ledger.js';
import { runAction } from '../../testkit/action-harness.js';
import { dockerEnv } from '../../testkit/demo-app.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';
import { RELEASE_SCHEMA } from '../../testkit/fixtures/demo-app/versions.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { buildPostgresServiceImage } from '../../testkit/services/postgres-image.js';
import { Terminal } from '../../testkit/terminal.js';

/**
 * Issue 18, break glass: the `rollback-actions` command runs the shipped rollback.yml through the
 * local runner from a terminal. The demo's world (its app repository with release tags, the compose
 * project on the test engine, PostgreSQL, the GitHub stand-in): v1.1.0 and v1.2.0 go out through
 * the example deploy pipeline, which records them in the deployment ledger on the deploy host
 * (vars.ROLLBACK_LEDGER); then v1.3.0, whose /health answers 500, is deployed and left running.
 * The operator, in a tmux session, rolls back and answers the environment gate: with GitHub up
 * (its deployments decide), and with the GitHub stand-in stopped (the ledger decides). `sync` then
 * records on GitHub what was done while it was down.
 */
const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');
const APP_REPOSITORY = 'acme/shop';

let root: string;
let world: DemoWorld;
let terminal: Terminal;
let ledger: string;
let token: string;
let smokeToken: string;
const recordDirs: string[] = [];
/** The schema version each release's deploy left. */
const schemaAt: Record<string, number | undefined> = {};

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A script the operator runs: exports (kept off the screen) and the command. */
function script(name: string, env: Record<string, string>, args: string[], program = CLI): string {
  const file = path.join(root, `${name}.sh`);
  const exports = Object.entries(env).map(([key, value]) => `export ${key}=${shellQuote(value)}`);
  writeFileSync(file, [...exports, `node ${shellQuote(program)} ${args.map(shellQuote).join(' ')}`, ''].join('\n'), {
    mode: 0o700,
  });
  return file;
}

function vars(): Record<string, string> {
  return {
    ROLLBACK_WORKING_DIRECTORY: world.deployHost,
    ROLLBACK_PROJECT_NAME: world.project,
    ROLLBACK_SERVICES: 'app',
    ROLLBACK_BASE_URL: world.baseUrl,
    ROLLBACK_HEALTH_TIMEOUT: '60s',
    ROLLBACK_IMAGE: serviceEnv('demoImage'),
    ROLLBACK_LEDGER: ledger,
  };
}

function secrets(): Record<string, string> {
  return { DATABASE_URL: world.database.url, SMOKE_TOKEN: smokeToken };
}

/** The environment every run gets: where the engine and GitHub are, nothing secret. */
function baseEnv(): Record<string, string> {
  return {
    ...dockerEnv(),
    GITHUB_API_URL: world.github.server.baseUrl,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TMPDIR: os.tmpdir(),
  };
}

/** The operator's environment: the token, and the secrets and variables as ROLLBACK_SECRET_* and ROLLBACK_VAR_*. */
function operatorEnv(): Record<string, string> {
  return {
    ...baseEnv(),
    GITHUB_TOKEN: token,
    ...prefixed('ROLLBACK_SECRET_', secrets()),
    ...prefixed('ROLLBACK_VAR_', vars()),
  };
}

/** A rollback to v1.1.0 approved with --yes, its database handled as `dbPolicy` says, its backups in `backups`. */
function approvedRollback(name: string, records: string, dbPolicy: string, backups: string) {
  return terminal.run(
    script(
      name,
      operatorEnv(),
      rollbackArgs(records, ['--target', 'v1.1.0', '--yes', '--db-policy', dbPolicy, '--backup-dir', backups]),
    ),
  );
}

function recordDir(name: string): string {
  const dir = path.join(root, 'records', name);
  recordDirs.push(dir);
  return dir;
}

function rollbackArgs(records: string, extra: string[] = []): string[] {
  return [
    'rollback',
    '--environment',
    'production',
    '--app-dir',
    world.appRepo,
    '--repository',
    APP_REPOSITORY,
    '--record-dir',
    records,
    ...extra,
  ];
}

/** The one run's incident record in a --record-dir (which holds the run's four files, and `more`). */
function readRecord(dir: string, more: string[] = []): string {
  const [run, ...others] = readdirSync(dir).filter((name) => name !== 'backups');
  expect(others).toEqual([]);
  expect(readdirSync(path.join(dir, run)).sort()).toEqual(
    ['incident-record.md', 'log.txt', 'run.json', 'timeline.txt', ...more].sort(),
  );
  return readFileSync(path.join(dir, run, 'incident-record.md'), 'utf8');
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesBelow(file) : [file];
  });
}

function ledgerEntries(): LedgerEntry[] {
  return readFileSync(ledger, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LedgerEntry);
}

/** v1.3.0 goes out (its health check fails; left running, as a deploy whose rollback could not run leaves it). */
async function deployBrokenRelease(withGitHub: boolean): Promise<void> {
  const result = await runAction('redeploy-tag', {
    inputs: {
      tag: 'v1.3.0',
      'working-directory': world.deployHost,
      'project-name': world.project,
      services: 'app',
      'health-timeout': '15s',
      'on-failure': 'leave',
      environment: 'production',
      ledger,
    },
    env: { ...dockerEnv(), GITHUB_API_URL: world.github.server.baseUrl, GITHUB_REPOSITORY: APP_REPOSITORY },
    githubToken: withGitHub ? token : '',
  });
  expect(result.outputs.outcome).toBe('failed');
  expect(await world.appState()).toMatchObject({ runningTag: 'v1.3.0', healthStatus: 500 });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'rollback-cli-'));
  world = await createDemoWorld({ root: path.join(root, 'world'), log: () => undefined });
  ledger = path.join(world.deployHost, 'ops', 'deployments.jsonl');
  token = world.github.server.requiredToken!;
  smokeToken = /^OPERATOR_TOKEN=(.*)$/m.exec(readFileSync(path.join(world.deployHost, '.env'), 'utf8'))![1];
  for (const tag of ['v1.1.0', 'v1.2.0']) {
    const run = await world.run(
      'deploy.yml',
      { tag, environment: 'production' },
      { vars: { ROLLBACK_LEDGER: ledger } },
    );
    expect(run.conclusion).toBe('success');
    schemaAt[tag] = (await world.appState()).schemaVersion;
  }
  // The example deploy pipeline recorded both deploys, their smoke verdicts and backups in the ledger.
  expect(
    ledgerEntries().map(
      (entry) =>
        `${entry.type} ${entry.type === 'deploy' ? entry.tag : entry.type === 'smoke' ? entry.result : entry.type === 'backup' ? entry.appVersion : ''}`,
    ),
  ).toEqual(['backup v1.1.0', 'deploy v1.1.0', 'smoke pass', 'backup v1.2.0', 'deploy v1.2.0', 'smoke pass']);
  await deployBrokenRelease(true);
  terminal = new Terminal(path.join(root, 'tty'));
  await terminal.start();
}, 900_000);

afterAll(async () => {
  await terminal?.stop();
  await world?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('rollback-actions, the break-glass command', () => {
  it('installs from its packed tarball into an empty directory without a registry, and runs --help and a dry run', async () => {
    const packs = path.join(root, 'packs');
    const packed = await runProcess(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/pack.ts', '--out', packs],
      { cwd: REPO_ROOT },
    );
    const tarball = path.join(
      packs,
      readdirSync(packs).find((name) => name.endsWith('.tgz'))!,
    );
    expect(packed.stdout).toContain(tarball);
    const manifest = JSON.parse((await runProcess('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({ bin: { 'rollback-actions': 'dist/cli/index.js' } });
    expect(manifest.dependencies).toBeUndefined();

    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    // --offline: npm may not ask the registry for anything; the package needs nothing from it.
    await runProcess('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: empty,
      env: { npm_config_cache: path.join(root, 'npm-cache') },
    });
    const bin = path.join(empty, 'node_modules', '.bin', 'rollback-actions');
    const help = await runProcess(bin, ['--help'], { cwd: empty });
    expect(help.stdout).toContain('Usage: rollback-actions <command> [options]');
    for (const command of ['rollback', 'drill', 'sync']) {
      const commandHelp = await runProcess(bin, [command, '--help'], { cwd: empty });
      expect(commandHelp.stdout).toContain(`Usage: rollback-actions ${command}`);
      expect(commandHelp.stdout).toContain('3  refused at the environment gate');
    }
    const wrong = await runProcess(bin, ['rollback', '--environment'], { cwd: empty, okExitCodes: [2] });
    expect(wrong.stderr).toContain('--environment needs a value');
    expect(
      (await runProcess(bin, ['rollback', '--target', 'v1.2.0'], { cwd: empty, okExitCodes: [2] })).stderr,
    ).toContain('--environment is required');
    expect((await runProcess(bin, ['rewind'], { cwd: empty, okExitCodes: [2] })).stderr).toContain(
      'unknown command "rewind"',
    );

    const records = recordDir('dry-run');
    const env = operatorEnv();
    const dry = await runProcess(bin, rollbackArgs(records, ['--dry-run']), {
      cwd: empty,
      env,
      okExitCodes: [0, 1, 2, 3],
    });
    expect(dry.stdout).toContain('Rollback production to last known good (dry run)');
    expect(dry.stdout).not.toContain('Environment gate');
    expect(dry.exitCode).toBe(0);
    const record = readRecord(records);
    expect(record).toContain("| Release history | GitHub's deployments");
    expect(record).toContain('v1.2.0');
    // A target that is no release: the plan job fails, and so does the command.
    const failed = await runProcess(bin, rollbackArgs(recordDir('no-such-tag'), ['--target', 'v9.9.9', '--dry-run']), {
      cwd: empty,
      env,
      okExitCodes: [0, 1, 2, 3],
    });
    expect(failed.stdout).toContain('rollback-actions: the workflow failed (exit 1).');
    expect(failed.exitCode).toBe(1);
    // Not a dry run, no terminal to ask (stdin is not one) and no --yes: the gate refuses.
    const unattended = await runProcess(bin, rollbackArgs(recordDir('unattended')), {
      cwd: empty,
      env,
      okExitCodes: [0, 1, 2, 3],
    });
    expect(unattended.stdout).toContain('Environment gate: refused: no terminal to ask and no --yes.');
    expect(unattended.exitCode).toBe(3);
    // Nothing changed.
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.3.0', healthStatus: 500 });
  }, 600_000);

  it("with GitHub reachable: the operator confirms at the gate in a terminal, and GitHub's deployments give the target (secrets and variables from files)", async () => {
    const secretsFile = path.join(root, 'secrets.env');
    writeFileSync(
      secretsFile,
      `# production\n${Object.entries({ ...secrets(), GITHUB_TOKEN: token })
        .map(([name, value]) => `${name}="${value}"`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    const varsFile = path.join(root, 'vars.json');
    writeFileSync(varsFile, JSON.stringify(vars()));
    const records = recordDir('github');
    const before = world.github.deployments.deployments.length;
    const run = await terminal.run(
      script(
        'rollback-github',
        baseEnv(),
        rollbackArgs(records, ['--secrets-file', secretsFile, '--vars-file', varsFile]),
      ),
      { prompt: 'Approve "Roll back to v1.2.0" in production? [y/N]', answer: 'y' },
    );
    expect(run.output).toContain('GitHub: ');
    expect(run.output).toContain('the release history comes from its deployments');
    expect(run.output).toContain('=== Environment gate: production');
    expect(run.exitCode).toBe(0);
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.2.0', healthStatus: 200, healthVersion: 'v1.2.0' });
    const record = readRecord(records);
    expect(record).toContain("| Release history | GitHub's deployments");
    expect(record).toContain('| Environment gate | approved |');
    // The rollback is a GitHub deployment, proven healthy by its smoke test.
    const created = world.github.deployments.deployments.slice(before);
    expect(
      created.map((deployment) => [deployment.ref, deployment.environment, deployment.statuses.at(-1)?.state]),
    ).toEqual([['v1.2.0', 'production', 'success']]);
    // A local run has no page on GitHub: its deployment's statuses link to none.
    expect(created[0].statuses.map((status) => status.log_url)).toEqual(created[0].statuses.map(() => ''));
  }, 600_000);

  it('with the GitHub stand-in stopped: refusing at the gate exits 3 and changes nothing; confirming rolls back to the last known good release from the ledger', async () => {
    await deployBrokenRelease(true);
    await world.github.server.stop();
    const env = operatorEnv();

    const refusedRecords = recordDir('refused');
    const refused = await terminal.run(script('rollback-refused', env, rollbackArgs(refusedRecords)), {
      prompt: 'Approve "Roll back to v1.2.0" in production? [y/N]',
      answer: 'n',
    });
    expect(refused.output).toContain('the release history comes from the deployment ledger');
    expect(refused.output).toContain('Environment gate: refused.');
    expect(refused.exitCode).toBe(3);
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.3.0', healthStatus: 500 });
    expect(readRecord(refusedRecords)).toContain('| Environment gate | refused |');

    const records = recordDir('ledger');
    const run = await terminal.run(
      script('rollback-ledger', env, rollbackArgs(records, ['--reason', 'INC-42: v1.3.0 answers 500'])),
      { prompt: 'Approve "Roll back to v1.2.0" in production? [y/N]', answer: 'y' },
    );
    expect(run.output).toMatch(/GitHub: not used \(http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\)/);
    expect(run.exitCode).toBe(0);
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.2.0', healthStatus: 200, healthVersion: 'v1.2.0' });
    const record = readRecord(records);
    expect(record).toMatch(
      /\| Release history \| the deployment ledger \(GitHub not used: http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\) \|/,
    );
    expect(record).toContain(`deployment ledger ${ledger}`);
    expect(record).toMatch(
      /\| Latest backup \(ledger\) \| \S+ \(v1\.2\.0, schema \d+\): artifact db-backup-production-\S+ .*sha256:[0-9a-f]{64} \|/,
    );
    expect(record).toContain('INC-42: v1.3.0 answers 500');
    // The rollback went into the ledger without a GitHub deployment id, its smoke verdict after it.
    const [deploy, smoke] = ledgerEntries().slice(-2);
    expect(deploy).toMatchObject({
      type: 'deploy',
      tag: 'v1.2.0',
      from: 'v1.3.0',
      success: true,
      environment: 'production',
    });
    expect(deploy).not.toHaveProperty('githubDeploymentId');
    expect(smoke).toMatchObject({ type: 'smoke', tag: 'v1.2.0', result: 'pass' });
  }, 900_000);

  it('sync records on GitHub what was done while it was down; a second sync records nothing', async () => {
    await world.github.server.start();
    const before = world.github.deployments.deployments.length;
    const env = { ...baseEnv(), GITHUB_TOKEN: token };
    const sync = await terminal.run(
      script('sync-1', env, ['sync', '--ledger', ledger, '--repository', APP_REPOSITORY]),
    );
    expect(sync.output).toContain(
      `sync: 1 deployment(s) recorded and 0 verdict(s) written on GitHub for ${APP_REPOSITORY}.`,
    );
    expect(sync.exitCode).toBe(0);
    const created = world.github.deployments.deployments.slice(before);
    expect(
      created.map((deployment) => [
        deployment.ref,
        deployment.environment,
        deployment.statuses.map((status) => status.state),
      ]),
    ).toEqual([['v1.2.0', 'production', ['success']]]);
    expect(sync.output).toContain(`-> GitHub deployment ${created[0].id}, success`);
    // Written back: the ledger names the new deployment.
    expect(ledgerEntries().at(-1)).toMatchObject({ type: 'sync', tag: 'v1.2.0', githubDeploymentId: created[0].id });
    // The deployment of the GitHub-reachable rollback is inactive now: the synced one is the environment's latest success.
    const earlier = world.github.deployments.deployments
      .slice(0, before)
      .filter((deployment) => deployment.ref === 'v1.2.0')
      .at(-1);
    expect(earlier?.statuses.map((status) => status.state)).toEqual(['in_progress', 'success', 'inactive']);
    const again = await terminal.run(
      script('sync-2', env, ['sync', '--ledger', ledger, '--repository', APP_REPOSITORY]),
    );
    expect(again.exitCode).toBe(0);
    expect(again.output).toContain('nothing to record');
    expect(world.github.deployments.deployments.length).toBe(before + 1);
  }, 300_000);

  it('drill, run from the installed package: the restore of a fresh backup into a throwaway database, the revert and the image check pass, and the matrix is kept in the record', async () => {
    const installed = realpathSync(path.join(root, 'empty', 'node_modules', '.bin', 'rollback-actions'));
    expect(installed.startsWith(path.join(root, 'empty'))).toBe(true);
    const records = recordDir('drill');
    const run = await terminal.run(script('drill', await drillEnv(), drillArgs(records), installed));
    const kept = path.join(readdirSync(records).map((name) => path.join(records, name))[0], 'artifacts');
    expect(run.output).toContain(
      `upload-artifact: rollback-drill-matrix (2 file(s)) kept in ${kept}/rollback-drill-matrix`,
    );
    expect(run.exitCode).toBe(0);
    const record = readRecord(records, ['artifacts']);
    expect(record).toContain('## ✅ Rollback drill passed: production');
    expect(record).toContain("| Release history | GitHub's deployments");
    expect(record).toContain('| Conclusion | success |');
    expect(record).toMatch(new RegExp(`Run: local run on ${os.hostname()} at \\S+Z, record ${records}/`));
    const matrixFiles = filesBelow(path.join(kept, 'rollback-drill-matrix'));
    expect(matrixFiles).toHaveLength(2);
    const rows = JSON.parse(readFileSync(path.join(kept, 'rollback-drill-matrix', 'matrix.json'), 'utf8')) as {
      scenario: string;
      result: string;
    }[];
    expect(rows.filter((row) => row.result === 'passed').length).toBeGreaterThan(0);
    expect(rows.filter((row) => row.result === 'failed')).toEqual([]);
  }, 900_000);

  it('drill with the GitHub stand-in stopped: the last known good release comes from the ledger, the drill passes, and the record names the ledger as the source', async () => {
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.2.0', healthStatus: 200 });
    await world.github.server.stop();
    try {
      const records = recordDir('drill-ledger');
      const run = await terminal.run(script('drill-ledger', await drillEnv(), drillArgs(records)));
      expect(run.output).toMatch(/GitHub: not used \(http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\)/);
      expect(run.exitCode).toBe(0);
      const record = readRecord(records, ['artifacts']);
      expect(record).toMatch(
        /\| Release history \| the deployment ledger \(GitHub not used: http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\) \|/,
      );
      expect(record).toContain('## ✅ Rollback drill passed: production');
      // The ledger's history: v1.2.0 runs (rolled back to from v1.3.0), v1.1.0 is the last known good before it.
      expect(record).toContain('Down migrations v1.2.0 → v1.1.0');
      expect(record).toMatch(/Image \S+:v1\.1\.0 available on the target/);
    } finally {
      await world.github.server.start();
    }
  }, 900_000);

  it('with the GitHub stand-in stopped, a rollback that reverts the database (down migrations), approved with --yes, runs to the end: its backup is kept verified in the local backup dir and recorded in the ledger, and the record names the local run', async () => {
    const before = await world.appState();
    expect(before).toMatchObject({ runningTag: 'v1.2.0', healthStatus: 200 });
    expect(schemaAt['v1.1.0']).toBeDefined();
    expect(before.schemaVersion).toBeGreaterThan(schemaAt['v1.1.0']!);
    await world.github.server.stop();
    const records = recordDir('database');
    const backups = path.join(root, 'backups');
    const run = await approvedRollback('rollback-database', records, 'down-migrations', backups);
    expect(run.output).toContain('Environment gate: approved with --yes.');
    expect(run.output).not.toContain('[y/N]');
    expect(run.output).toContain(`Backups: kept in ${backups}`);
    expect(run.output).toContain(`the backup is kept in ${backups} (ROLLBACK_BACKUP_DIR) instead of uploaded`);
    expect(run.exitCode).toBe(0);
    // The schema is at the target's level, and the target runs healthy.
    expect(await world.appState()).toMatchObject({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      healthVersion: 'v1.1.0',
      schemaVersion: schemaAt['v1.1.0'],
    });
    // The backup is in the backup dir, with the checksum its metadata (and the ledger) record.
    const metadataFiles = readdirSync(backups).filter((name) => name.endsWith('.metadata.json'));
    expect(metadataFiles).toHaveLength(1);
    const metadata = JSON.parse(readFileSync(path.join(backups, metadataFiles[0]), 'utf8')) as {
      checksum: { algorithm: string; value: string };
      schemaVersion?: { version: string };
    };
    const backupFile = path.join(backups, metadataFiles[0].replace(/\.metadata\.json$/, ''));
    const sha256 = (await runProcess('sha256sum', [backupFile])).stdout.split(' ')[0];
    expect(metadata.checksum).toEqual({ algorithm: 'sha256', value: sha256 });
    expect(metadata.schemaVersion?.version).toBe(String(before.schemaVersion));
    const backup = ledgerEntries().find(
      (entry) => entry.type === 'backup' && entry.label === 'production-pre-rollback',
    );
    expect(backup).toMatchObject({
      type: 'backup',
      appVersion: 'v1.2.0',
      checksum: `sha256:${sha256}`,
      location: backupFile,
    });
    // apply-down-migrations found that backup before reverting.
    expect(run.output).toContain(`Backup verified: metadata file ${backups}/`);
    const record = readRecord(records);
    expect(record).toContain('| Conclusion | success |');
    expect(record).toMatch(
      new RegExp(`Run: +local run on ${os.hostname()} at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, record ${records}/`),
    );
    expect(record).not.toContain('/actions/runs/');
  }, 900_000);

  it('with the GitHub stand-in stopped, a restore-backup rollback restores the pre-deploy backup the ledger names from the local backup dir: the data comes back, and the record names the source', async () => {
    expect(await world.appState()).toMatchObject({ runningTag: 'v1.1.0', schemaVersion: schemaAt['v1.1.0'] });
    const backups = path.join(root, 'backups');
    const rows = async () =>
      (
        await world.database.query(
          // The smoke tests' own users (smoke-*) come and go with every run.
          "SELECT u.email, p.title FROM users u LEFT JOIN projects p ON p.owner_id = u.id WHERE u.email NOT LIKE 'smoke-%' ORDER BY u.email, p.title",
        )
      ).rows;
    await world.database.query(
      "INSERT INTO users (email, password_hash) VALUES ('ops@example.com', 'x'); INSERT INTO projects (owner_id, title) SELECT id, 'runbook' FROM users WHERE email = 'ops@example.com'",
    );
    const before = await rows();
    expect(before).toContainEqual({ email: 'ops@example.com', title: 'runbook' });
    // A deploy without GitHub: its pre-deploy backup kept in the backup dir and recorded in the ledger, its migrations (to v1.2.0's schema), then v1.3.0.
    const preDeploy = await runAction('backup-db', {
      inputs: { 'database-url': world.database.url, label: 'production', 'app-version': 'v1.1.0', ledger },
      env: { ROLLBACK_BACKUP_DIR: backups },
    });
    expect(preDeploy.errors).toEqual([]);
    await migrateDemoSchema(world.database.url, RELEASE_SCHEMA['v1.2.0']);
    await deployBrokenRelease(false);
    // The bad release loses data.
    await world.database.query("DELETE FROM users WHERE email = 'ops@example.com'");

    const records = recordDir('restore');
    const run = await approvedRollback('rollback-restore', records, 'restore-backup', backups);
    expect(run.output).toMatch(/GitHub: not used \(http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\)/);
    expect(run.exitCode).toBe(0);
    expect(await world.appState()).toMatchObject({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      schemaVersion: schemaAt['v1.1.0'],
    });
    expect(await rows()).toEqual(before);
    const source = `${path.basename(preDeploy.outputs.path)} in the local backup dir ${backups} (ROLLBACK_BACKUP_DIR), the latest backup of label "production" in the deployment ledger ${ledger}`;
    expect(run.output).toContain(`Backup: ${source} (`);
    const record = readRecord(records);
    expect(record).toContain('| Conclusion | success |');
    expect(record).toContain(`| Database restored from | ${source} (`);
    expect(record).toContain(`sha256:${preDeploy.outputs.checksum}) |`);
  }, 900_000);

  it('GitHub lost mid-run (the stand-in stopped while the operator reads the plan): the plan read GitHub, the rollback still runs, and its deploy waits in the ledger for sync, as the record says', async () => {
    await world.github.server.start();
    const env = { ...operatorEnv(), GITHUB_API_URL: world.github.server.baseUrl };
    // GitHub catches up with the rollbacks done while it was down, so its deployments know the last good release.
    const catchUp = await terminal.run(
      script('sync-catch-up', env, ['sync', '--ledger', ledger, '--repository', APP_REPOSITORY]),
    );
    expect(catchUp.exitCode).toBe(0);
    await deployBrokenRelease(true);
    const target = 'v1.1.0';
    const before = world.github.deployments.deployments.length;
    const records = recordDir('mid-run');
    const run = await terminal.run(script('rollback-mid-run', env, rollbackArgs(records)), {
      prompt: `Approve "Roll back to ${target}" in production? [y/N]`,
      answer: 'y',
      whilePrompted: () => world.github.server.stop(),
    });
    expect(run.output).toContain('the release history comes from its deployments');
    // redeploy-tag could not make the GitHub deployment: an outage, not a permission to fix.
    expect(run.output).toContain(
      `GitHub did not answer: the deploy is recorded in the deployment ledger ${ledger} without a GitHub deployment, and \`rollback-actions sync\` records it on GitHub when GitHub answers again.`,
    );
    expect(run.output).toMatch(
      /GitHub: lost during the run \(http:\/\/127\.0\.0\.1:\d+ did not answer \(ECONNREFUSED\)\)/,
    );
    expect(run.exitCode).toBe(0);
    expect(await world.appState()).toMatchObject({ runningTag: target, healthStatus: 200, healthVersion: target });
    const record = readRecord(records);
    expect(record).toContain("| Release history | GitHub's deployments");
    expect(record).toMatch(
      new RegExp(
        `\\| Rollback recorded \\| in the deployment ledger ${ledger} only, for \`rollback-actions sync\`: GitHub was lost during the run \\(at its end: http://127\\.0\\.0\\.1:\\d+ did not answer \\(ECONNREFUSED\\)\\) \\|`,
      ),
    );
    expect(record).toContain('| Conclusion | success |');
    const [deploy, smoke] = ledgerEntries().slice(-2);
    expect(deploy).toMatchObject({ type: 'deploy', tag: target, from: 'v1.3.0', success: true });
    expect(deploy).not.toHaveProperty('githubDeploymentId');
    expect(smoke).toMatchObject({ type: 'smoke', tag: target, result: 'pass' });
    expect(world.github.deployments.deployments.length).toBe(before);

    await world.github.server.start();
    const sync = await terminal.run(
      script('sync-mid-run', { ...env, GITHUB_API_URL: world.github.server.baseUrl }, [
        'sync',
        '--ledger',
        ledger,
        '--repository',
        APP_REPOSITORY,
      ]),
    );
    expect(sync.exitCode).toBe(0);
    expect(sync.output).toContain(
      `sync: 1 deployment(s) recorded and 0 verdict(s) written on GitHub for ${APP_REPOSITORY}.`,
    );
    expect(
      world.github.deployments.deployments
        .slice(before)
        .map((deployment) => [deployment.ref, deployment.statuses.map((status) => status.state)]),
    ).toEqual([[target, ['success']]]);
  }, 900_000);

  it('never shows a secret, given by environment or by file, in the terminal or the written records', () => {
    const values = [token, smokeToken, new URL(world.database.url).password, world.database.url];
    const places = [
      ['the terminal', terminal.output()] as const,
      ...recordDirs.flatMap((dir) => filesBelow(dir)).map((file) => [file, readFileSync(file, 'utf8')] as const),
    ];
    // The records exist (eleven runs: dry run, no such tag, unattended, GitHub, refused, ledger, drill, drill from the ledger, database, restore, mid-run), and the secrets reached the workflow (it needed them to roll back).
    expect(places.length).toBeGreaterThan(8 * 4);
    const leaks = places.flatMap(([where, text]) =>
      values.filter((value) => text.includes(value)).map((value) => `${where} shows ${value.slice(0, 4)}…`),
    );
    expect(leaks).toEqual([]);
  });
});

/** The drill's environment: a fresh backup of the demo database is restored into a throwaway one. */
async function drillEnv(): Promise<Record<string, string>> {
  return {
    ...baseEnv(),
    GITHUB_TOKEN: token,
    ...prefixed('ROLLBACK_SECRET_', { ...secrets(), DRILL_SOURCE_DATABASE_URL: world.database.url }),
    ...prefixed('ROLLBACK_VAR_', {
      ...vars(),
      // The throwaway database's service image, as the engine here has it (no registry to pull postgres:16 from).
      DRILL_POSTGRES_IMAGE: await buildPostgresServiceImage(dockerEnv().DOCKER_HOST, serviceEnv('pgBinDir')),
    }),
  };
}

function drillArgs(records: string): string[] {
  return ['drill', '--app-dir', world.appRepo, '--repository', APP_REPOSITORY, '--record-dir', records];
}

function prefixed(prefix: string, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [`${prefix}${name}`, value]));
}
