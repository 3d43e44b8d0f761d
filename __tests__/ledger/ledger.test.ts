import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localExecutor } from '../../shared/engine/executor.js';
import { openSshExecutor, type SshExecutor } from '../../shared/engine/ssh.js';
import {
  appendLedger,
  currentFromLedger,
  deployHistory,
  latestBackup,
  readLedger,
  type LedgerEntry,
} from '../../shared/ledger/ledger.js';
import { runAction } from '../../testkit/action-harness.js';
import { REPO_ROOT } from '../../scripts/actions.js';
import { runProcess } from '../../shared/process.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { dockerEnv } from '../../testkit/demo-app.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { sshActionInputs, startSshServer, type TestSshServer } from '../../testkit/sshd.js';
import { createDemoRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectRefused, expectSuccess } from '../compute/support.js';
import { createComposeProject, projectInputs, type ComposeProject } from '../../testkit/compose-project.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';

/**
 * The deployment ledger (issue 18's foundation): JSON lines on the deploy host that redeploy-tag
 * and smoke-test append to on every deploy and rollback and backup-db on every backup, written
 * through the same executor (this runner, or a real sshd), and read back by compute-rollback-target
 * when GitHub is not asked.
 */
let server: TestSshServer;
let scratch: string;
beforeAll(async () => {
  server = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'ledger-'));
});
afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const readLines = (file: string): LedgerEntry[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LedgerEntry);

/**
 * What the restore describes share: a database of their own with an orders table (`rows` inserted
 * at the start, dropped after the describe), their ledger and backup dir in the scratch dir (names
 * relative to it), and backup-db of label production on that database, kept where `env` says.
 */
function ordersSetup(name: string, files: { ledger: string; backupDir?: string }, rows = '') {
  let database: TestDatabase | undefined;
  const setup = {
    get database(): TestDatabase {
      if (!database) throw new Error(`the ${name} database is made in beforeAll`);
      return database;
    },
    ledger: '',
    backupDir: '',
    /** The rows of the orders table. */
    items: async () =>
      (await setup.database.query('SELECT item FROM orders ORDER BY id')).rows.map((row) => String(row.item)),
    backup: (inputs: Record<string, string>, env: Record<string, string>) =>
      runAction('backup-db', {
        inputs: { 'database-url': setup.database.url, label: 'production', ...inputs },
        env,
      }),
    /** A backup that must succeed. */
    backedUp: async (inputs: Record<string, string>, env: Record<string, string>) => {
      const result = await setup.backup(inputs, env);
      expect(result.errors).toEqual([]);
      return result;
    },
  };
  beforeAll(async () => {
    database = await createTestDatabase(name);
    setup.ledger = path.join(scratch, files.ledger);
    if (files.backupDir) setup.backupDir = path.join(scratch, files.backupDir);
    await database.query(`CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL); ${rows}`);
  });
  afterAll(() => database?.drop());
  return setup;
}

/** restore-db of the latest backup of label production, in place, as from a terminal (no artifact service, no token). */
const restoreLatest = (database: TestDatabase, env: Record<string, string>, inputs: Record<string, string>) =>
  runAction('restore-db', {
    inputs: {
      'database-url': database.url,
      'artifact-name': 'latest',
      label: 'production',
      mode: 'replace',
      'safety-backup': 'false',
      ...inputs,
    },
    env,
    githubToken: '',
  });

describe('the ledger file, through the local and the SSH executor', () => {
  let ssh: SshExecutor;
  beforeAll(async () => {
    ssh = await openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: server.privateKey,
      knownHosts: server.knownHosts,
    });
  });
  afterAll(() => ssh?.close());

  it.each([
    ['this runner', () => localExecutor],
    ['ssh', () => ssh],
  ] as const)(
    '%s: creates the directory, appends whole lines from concurrent writers, reads them back',
    async (name, executor) => {
      const file = path.join(scratch, name.replace(/ /g, '-'), 'ops', 'rollback-ledger.jsonl');
      const ledger = { path: file, executor: executor() };
      expect(await readLedger(ledger)).toEqual([]); // no file yet: an empty ledger
      // "Strings that need quoting": the path and values cross ssh as data.
      const writes = Array.from({ length: 20 }, (_, index) =>
        appendLedger(ledger, {
          type: 'deploy',
          tag: `v1.${index}.0`,
          outcome: 'deployed',
          success: true,
          services: ['api'],
          image: `x'; touch ${scratch}/pwned; '$(id)`,
        }),
      );
      await Promise.all(writes);
      const entries = await readLedger(ledger);
      expect(entries).toHaveLength(20);
      expect(new Set(entries.map((entry) => (entry.type === 'deploy' ? entry.tag : '')))).toEqual(
        new Set(Array.from({ length: 20 }, (_, index) => `v1.${index}.0`)),
      );
      expect(readLines(file)).toEqual(entries);
      expect(entries.every((entry) => /^\d{4}-\d{2}-\d{2}T/.test(entry.time))).toBe(true);
      expect(readFileSync(file, 'utf8')).not.toContain('uid=');
    },
  );

  it('a damaged line stops the read, naming the line', async () => {
    const file = path.join(scratch, 'damaged.jsonl');
    writeFileSync(
      file,
      '{"type":"backup","time":"2026-01-01T00:00:00Z","location":"a","database":"d","method":"dump"}\nnot json\n',
    );
    await expect(readLedger({ path: file, executor: localExecutor })).rejects.toThrow(
      `The deployment ledger ${file} line 2 is not JSON: "not json".`,
    );
  });

  it('current, known good and latest backup: a failed smoke test disqualifies a release, a restore leaves the previous one running', () => {
    const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`;
    const entries: LedgerEntry[] = [
      { type: 'deploy', time: at(1), tag: 'v1.0.0', outcome: 'deployed', success: true, services: ['api'] },
      { type: 'smoke', time: at(2), result: 'pass', checks: 2, failed: 0 },
      {
        type: 'backup',
        time: at(3),
        location: '/backups/a.dump',
        database: 'shop',
        method: 'dump',
        appVersion: 'v1.0.0',
      },
      { type: 'deploy', time: at(4), tag: 'v1.1.0', outcome: 'deployed', success: true, services: ['api'] },
      { type: 'smoke', time: at(5), tag: 'v1.1.0', result: 'fail', checks: 2, failed: 1 },
      {
        type: 'deploy',
        time: at(6),
        tag: 'v1.2.0',
        outcome: 'deployed',
        success: true,
        services: ['api'],
        environment: 'staging',
      },
      {
        type: 'deploy',
        time: at(7),
        tag: 'v1.3.0',
        from: 'v1.1.0',
        outcome: 'restored',
        success: false,
        services: ['api'],
      },
    ];
    const beforeRestore = entries.slice(0, 6);
    expect(currentFromLedger(beforeRestore)?.tag).toBe('v1.2.0');
    expect(currentFromLedger(beforeRestore, 'production')?.tag).toBe('v1.1.0'); // the staging deploy is another environment's
    const restored = currentFromLedger(entries, 'production');
    expect([restored?.tag, restored?.entry.tag]).toEqual(['v1.1.0', 'v1.3.0']); // v1.3.0 failed and v1.1.0 was restored
    expect(deployHistory(entries, 'production').map((release) => [release.tag, release.smoke?.result])).toEqual([
      ['v1.1.0', 'fail'],
      ['v1.0.0', 'pass'],
    ]);
    expect(latestBackup(entries)?.location).toBe('/backups/a.dump');
  });
});

describe('redeploy-tag, smoke-test and backup-db append to the ledger; compute-rollback-target reads it', () => {
  const TOKEN = 'ghs_ledger_token';
  let database: TestDatabase;
  let project: ComposeProject;
  let repo: FixtureRepo;
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  let ledgerFile: string;

  beforeAll(async () => {
    database = await createTestDatabase('ledger');
    project = await createComposeProject({ databaseUrl: database.url, healthcheck: false });
    await project.up('v1.0.0');
    repo = createDemoRepo();
    fake = await startFakeGitHub({ token: TOKEN });
    ledgerFile = path.join(project.dir, 'ops', 'rollback-ledger.jsonl');
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
    repo?.remove();
    await fake?.server.stop();
  });

  const redeploy = (tag: string, extra: Record<string, string> = {}) =>
    runAction('redeploy-tag', {
      inputs: projectInputs(project, {
        tag,
        ledger: 'ops/rollback-ledger.jsonl',
        'ready-url': `${project.baseUrl}/health`,
        environment: 'production',
        ...extra,
      }),
      env: { ...dockerEnv(), ...fake.server.env() },
      githubToken: TOKEN,
    });
  // The smoke test writes its verdict over SSH to the deploy host's ledger (here the same file).
  const smoke = (tag: string) =>
    runAction('smoke-test', {
      inputs: {
        url: `${project.baseUrl}/health`,
        deadline: '2s',
        'fail-on-error': 'false',
        ledger: ledgerFile,
        'ledger-tag': tag,
        environment: 'production',
        ...sshActionInputs(server),
      },
    });

  it('records deploys (with image, digest and the GitHub deployment id), smoke verdicts and a backup, then plans from the ledger alone', async () => {
    const good = await redeploy('v1.1.0');
    expect(good.errors).toEqual([]);
    expect((await smoke('v1.1.0')).outputs.passed).toBe('true');
    // The schema version backup-db records: golang-migrate's history table, at version 3.
    await database.query(
      'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (3, false)',
    );
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': database.url, upload: false, 'app-version': 'v1.1.0', ledger: ledgerFile },
    });
    expect(backup.errors).toEqual([]);
    // v1.3.0 is broken: left running (on-failure leave), and its smoke test fails.
    const bad = await redeploy('v1.3.0', { 'on-failure': 'leave', 'health-timeout': '5s' });
    expect(bad.exitCode).toBe(1);
    expect((await smoke('v1.3.0')).outputs.passed).toBe('false');

    const lines = readLines(ledgerFile);
    expect(
      lines.map((entry) => [
        entry.type,
        entry.type === 'smoke'
          ? entry.result
          : entry.type === 'deploy'
            ? `${entry.tag} ${entry.outcome}`
            : entry.type === 'backup'
              ? entry.appVersion
              : entry.tag,
      ]),
    ).toEqual([
      ['deploy', 'v1.1.0 deployed'],
      ['smoke', 'pass'],
      ['backup', 'v1.1.0'],
      ['deploy', 'v1.3.0 failed'],
      ['smoke', 'fail'],
    ]);
    const deployed = lines[0];
    expect(deployed).toMatchObject({
      type: 'deploy',
      environment: 'production',
      tag: 'v1.1.0',
      from: 'v1.0.0',
      success: true,
      services: ['api'],
      githubDeploymentId: Number(good.outputs['deployment-id']),
    });
    expect(deployed.type === 'deploy' && deployed.imageId).toBe(good.outputs['image-id']);
    expect(lines[2]).toMatchObject({
      type: 'backup',
      checksum: `sha256:${backup.outputs.checksum}`,
      location: backup.outputs.path,
      schemaVersion: '3',
      method: 'dump',
    });
    expect(backup.outputs['schema-version']).toBe('3');
    expect(lines[4]).toMatchObject({ type: 'smoke', tag: 'v1.3.0', environment: 'production', checks: 1, failed: 1 });

    // No github-token: GitHub is not asked; the ledger says v1.3.0 runs and v1.1.0 was last good.
    const plan = await compute(repo.dir, {
      ledger: ledgerFile,
      environment: 'production',
      target: 'last-successful-deployment',
    });
    expectSuccess(plan);
    expect(plan.outputs).toMatchObject({ 'current-tag': 'v1.3.0', 'target-tag': 'v1.1.0', 'history-source': 'ledger' });
    expect(JSON.parse(plan.outputs['latest-backup'])).toEqual(lines[2]);
    expect(plan.summary).toContain(
      `Deployment history read from the deployment ledger ${ledgerFile} (5 entries), not from GitHub.`,
    );
    expect(plan.summary).toMatch(/\| Target \| v1.1.0 \(deployment ledger .*: deployed .*, smoke test passed .*\) \|/);

    // With GitHub reachable the Deployments API is used, as the workflows do.
    const viaGitHub = await compute(
      repo.dir,
      { ledger: ledgerFile, environment: 'production', target: 'last-successful-deployment', 'github-token': TOKEN },
      { env: fake.server.env() },
    );
    expectSuccess(viaGitHub);
    expect(viaGitHub.outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.1.0',
      'history-source': 'github',
    });
  });

  it('GitHub lost after the command started (the stand-in stopped): the read falls back to the ledger and says so; without a ledger, or on a refusal, it stays an error', async () => {
    const inputs = { ledger: ledgerFile, environment: 'production', target: 'last-successful-deployment' };
    // A refusal is a setting to fix, not an outage: no fallback.
    expectRefused(
      await compute(repo.dir, { ...inputs, 'github-token': 'ghs_wrong' }, { env: fake.server.env() }),
      /^GitHub rejected github-token while /,
    );
    const gone = fake.server.env();
    await fake.server.stop();
    try {
      const plan = await compute(repo.dir, { ...inputs, 'github-token': TOKEN }, { env: gone });
      expectSuccess(plan);
      expect(plan.outputs).toMatchObject({
        'current-tag': 'v1.3.0',
        'target-tag': 'v1.1.0',
        'history-source': 'ledger',
      });
      expect(plan.warnings).toEqual([
        expect.stringMatching(
          /^GitHub did not answer while listing (releases|tags) of \S+: .*ECONNREFUSED.*\. The deployment history is read from the deployment ledger instead\.$/,
        ),
      ]);
      expect(plan.summary).toMatch(
        /GitHub did not answer while .*: the history below comes from the deployment ledger instead\./,
      );
      expect(plan.summary).toContain(
        `Deployment history read from the deployment ledger ${ledgerFile} (5 entries), not from GitHub.`,
      );
      const withoutLedger = await compute(
        repo.dir,
        { environment: 'production', target: 'last-successful-deployment', 'github-token': TOKEN },
        { env: gone },
      );
      expect(withoutLedger.exitCode).toBe(1);
      expect(withoutLedger.errors).toEqual([expect.stringMatching(/^GitHub did not answer while /)]);
    } finally {
      await fake.server.start();
    }
  });

  it('GitHub lost between the redeploy (which made the deployment) and the smoke test: the verdict waits in the ledger, and rollback-actions sync writes it once', async () => {
    const deployed = await redeploy('v1.2.0', { 'complete-deployment': 'false' });
    expect(deployed.errors).toEqual([]);
    const id = Number(deployed.outputs['deployment-id']);
    const statesOf = () =>
      fake.deployments.deployments.find((deployment) => deployment.id === id)?.statuses.map((status) => status.state);
    expect(statesOf()).toEqual(['in_progress']);
    const gone = fake.server.env();
    await fake.server.stop();
    const verdict = await runAction('smoke-test', {
      inputs: {
        url: `${project.baseUrl}/health`,
        'deployment-id': String(id),
        environment: 'production',
        ledger: ledgerFile,
        'ledger-tag': 'v1.2.0',
      },
      env: gone,
      githubToken: TOKEN,
    });
    await fake.server.start();
    expect(verdict.outputs.passed).toBe('true');
    expect(verdict.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Could not mark GitHub deployment ${id} success: .*ECONNREFUSED.*\\. GitHub did not answer: with a ledger, the verdict is kept there and \`rollback-actions sync\` marks the deployment when GitHub answers again\\.$`,
        ),
      ),
    ]);
    expect(readLines(ledgerFile).at(-1)).toMatchObject({
      type: 'smoke',
      result: 'pass',
      githubDeploymentId: id,
      githubStatusPending: true,
    });
    expect(statesOf()).toEqual(['in_progress']);

    const sync = () =>
      runProcess(
        'node',
        [path.join(REPO_ROOT, 'dist', 'cli', 'index.js'), 'sync', '--ledger', ledgerFile, '--repository', 'acme/shop'],
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.server.baseUrl },
        },
      );
    const first = await sync();
    expect(first.stdout).toContain(
      `sync: GitHub deployment ${id} (production v1.2.0) -> success, the smoke verdict of `,
    );
    expect(first.stdout).toContain('sync: 0 deployment(s) recorded and 1 verdict(s) written on GitHub for acme/shop.');
    expect(statesOf()).toEqual(['in_progress', 'success']);
    expect(readLines(ledgerFile).at(-1)).toMatchObject({
      type: 'sync',
      githubDeploymentId: id,
      status: 'success',
      tag: 'v1.2.0',
    });
    const second = await sync();
    expect(second.stdout).toContain('nothing to record');
    expect(statesOf()).toEqual(['in_progress', 'success']);
  });

  it("the rollback over SSH lands in the deploy host's ledger", async () => {
    const remoteLedger = path.join(scratch, 'deploy-host', 'ops', 'rollback-ledger.jsonl');
    const result = await runAction('redeploy-tag', {
      inputs: {
        'working-directory': project.dir,
        services: 'api',
        'health-timeout': '60s',
        tag: 'v1.1.0',
        ledger: remoteLedger,
        ...sshActionInputs(server),
      },
      // The runner has no engine: the redeploy and the ledger line both go through ssh.
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(result.errors).toEqual([]);
    expect(readLines(remoteLedger)).toEqual([
      expect.objectContaining({
        type: 'deploy',
        tag: 'v1.1.0',
        outcome: 'deployed',
        success: true,
        imageId: result.outputs['image-id'],
      }),
    ]);
  });

  it('a ledger that cannot be written is a warning', async () => {
    const result = await runAction('smoke-test', {
      inputs: { url: `${project.baseUrl}/health`, ledger: '/proc/no-such-dir/ledger.jsonl', 'ledger-tag': 'v1.1.0' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.passed).toBe('true');
    expect(result.warnings.join('\n')).toMatch(
      /^Could not append to the deployment ledger \/proc\/no-such-dir\/ledger\.jsonl on this runner: /,
    );
  });

  it('a ledger whose only successful release is the current one has no target, and says why', async () => {
    const file = path.join(scratch, 'only-current.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ type: 'deploy', time: '2026-01-01T00:00:00Z', tag: 'v1.2.0', outcome: 'deployed', success: true, services: ['api'] })}\n`,
    );
    expectRefused(
      await compute(repo.dir, { ledger: file, target: 'last-successful-deployment' }),
      /^Input "target" is "last-successful-deployment", but the deployment ledger .* has no successful deployment of a release older than v1\.2\.0\./,
    );
    expectRefused(
      await compute(repo.dir, { target: 'last-successful-deployment' }),
      /^Input "target" is "last-successful-deployment", which reads the Deployments API: set "environment" and "github-token" too \(or "ledger" to read the deployment ledger\)\./,
    );
  });
});

describe('restore-db from a local backup dir (a run from a terminal): the ledger names the backup', () => {
  const orders = ordersSetup('ledger_restore', { ledger: 'restore-ledger.jsonl', backupDir: 'local-backups' });

  // No artifact service, no token: what the rollback-actions command gives its steps.
  const localEnv = () => ({ ROLLBACK_BACKUP_DIR: orders.backupDir });
  let backups = 0;
  const backup = (appVersion: string) =>
    orders.backedUp(
      {
        'app-version': appVersion,
        ledger: orders.ledger,
        // Default names are per second: two backups in one second would collide.
        'artifact-name': `db-backup-production-${++backups}`,
      },
      localEnv(),
    );
  const restore = () => restoreLatest(orders.database, localEnv(), { ledger: orders.ledger });

  it("restores the backup of the ledger's newest entry for the label, verified by its checksum; refuses an older one or a damaged file", async () => {
    await orders.database.query("INSERT INTO orders VALUES (1, 'first')");
    await backup('v1.1.0');
    await orders.database.query("INSERT INTO orders VALUES (2, 'second')");
    const newest = await backup('v1.2.0');
    expect(newest.outputs.path.startsWith(`${orders.backupDir}/`)).toBe(true);
    // The incident: rows lost.
    await orders.database.query('DELETE FROM orders');

    const restored = await restore();
    expect(restored.errors).toEqual([]);
    expect(await orders.items()).toEqual(['first', 'second']);
    expect(restored.outputs.checksum).toBe(newest.outputs.checksum);
    expect(restored.outputs['backup-source']).toBe(
      `${path.basename(newest.outputs.path)} in the local backup dir ${orders.backupDir} (ROLLBACK_BACKUP_DIR), the latest backup of label "production" in the deployment ledger ${orders.ledger} (${readLines(orders.ledger).at(-1)!.time}, sha256:${newest.outputs.checksum})`,
    );

    // A newer backup the ledger records but the dir does not hold: the older one there is not "the latest".
    await orders.database.query("INSERT INTO orders VALUES (3, 'third')");
    const third = await backup('v1.3.0');
    rmSync(third.outputs.path);
    rmSync(third.outputs['metadata-path']);
    await orders.database.query('DELETE FROM orders');
    const missing = await restore();
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toMatch(
      new RegExp(
        `^The deployment ledger ${orders.ledger} records the latest backup of label "production" as ${third.outputs.path} \\(\\S+, sha256:${third.outputs.checksum}\\), but no metadata in the local backup dir ${orders.backupDir} \\(ROLLBACK_BACKUP_DIR\\) records that checksum \\(2 other backup\\(s\\) of label "production" there\\)\\. Nothing was restored\\.\nHint: Copy that backup`,
      ),
    );
    expect(await orders.items()).toEqual([]);

    // The ledger's entry is there again, but its file was changed: the checksum refuses it, as for an artifact.
    const fourth = await backup('v1.3.0');
    const bytes = readFileSync(fourth.outputs.path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(fourth.outputs.path, bytes);
    const damaged = await restore();
    expect(damaged.exitCode).toBe(1);
    expect(damaged.errors[0]).toMatch(
      new RegExp(
        `^Checksum mismatch: ${path.basename(fourth.outputs.path)} has SHA-256 [0-9a-f]{64}, expected ${fourth.outputs.checksum}\\. `,
      ),
    );
    expect(await orders.items()).toEqual([]);
  });
});

describe('pgBackRest restore points in the ledger on the database host (over SSH), and compute picking the pre-deploy point', () => {
  let cluster: PgBackRestCluster;
  let repo: FixtureRepo;
  beforeAll(async () => {
    cluster = await startPgBackRestCluster({ stanza: 'ledger' });
    repo = createDemoRepo();
  });
  afterAll(async () => {
    await cluster?.destroy();
    repo?.remove();
  });

  it("backup-db records the restore point (name, LSN, time, backup set, app version) in the host's ledger; without GitHub, compute finds <env>-pre-deploy-<current tag> there", async () => {
    const hostLedger = path.join(scratch, 'database-host', 'ops', 'backups.log');
    // The deploy history: v1.2.0 good, v1.3.0 deployed (its pre-deploy restore point follows).
    const ledger = { path: hostLedger, executor: localExecutor };
    await appendLedger(ledger, {
      type: 'deploy',
      tag: 'v1.2.0',
      outcome: 'deployed',
      success: true,
      services: ['api'],
      environment: 'production',
    });
    await appendLedger(ledger, {
      type: 'smoke',
      tag: 'v1.2.0',
      result: 'pass',
      checks: 1,
      failed: 0,
      environment: 'production',
    });
    const backup = await runAction('backup-db', {
      inputs: {
        ...cluster.inputs(),
        ...sshActionInputs(server),
        'backup-type': 'full',
        label: 'production',
        'app-version': 'v1.2.0',
        'restore-point': 'production-pre-deploy-v1.3.0',
        ledger: hostLedger,
      },
    });
    expect(backup.errors).toEqual([]);
    await appendLedger(ledger, {
      type: 'deploy',
      tag: 'v1.3.0',
      from: 'v1.2.0',
      outcome: 'failed',
      success: false,
      services: ['api'],
      environment: 'production',
    });
    const lsn = backup.outputs['restore-point-lsn'];
    expect(lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const entry = readLines(hostLedger)[2];
    expect(entry).toEqual({
      type: 'backup',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      run: 'acme/shop#4242',
      label: 'production',
      appVersion: 'v1.2.0',
      location: `pgbackrest stanza ledger on ${server.user}@${server.host}:${server.port}: restore point production-pre-deploy-v1.3.0 at ${lsn}`,
      database: 'postgres',
      method: 'pgbackrest',
      restorePoint: {
        name: 'production-pre-deploy-v1.3.0',
        lsn,
        time: backup.outputs['restore-point-time'],
        timeline: 1,
      },
      stanza: 'ledger',
      backupLabel: backup.outputs['backup-label'],
    });

    // No github-token: the history and the restore point come from the ledger, on this runner or on the host over SSH.
    const planFrom = async (inputs: Record<string, string>) => {
      const plan = await compute(repo.dir, {
        environment: 'production',
        target: 'last-successful-deployment',
        ...inputs,
      });
      expectSuccess(plan);
      expect(plan.outputs).toMatchObject({
        'current-tag': 'v1.3.0',
        'target-tag': 'v1.2.0',
        'history-source': 'ledger',
        'pre-deploy-restore-point-lsn': lsn,
      });
      return plan;
    };
    const plan = await planFrom({ ledger: hostLedger });
    expect(plan.summary).toContain(
      `Pre-deploy restore point in the ledger: production-pre-deploy-v1.3.0 at ${lsn} (${backup.outputs['restore-point-time']}, backup set ${backup.outputs['backup-label']}, app v1.2.0, schema unknown).`,
    );
    // Over SSH, a path relative to the SSH user's login directory, which on this runner (relative to
    // the workspace) names no file.
    const relative = path.relative(os.homedir(), hostLedger);
    const overSsh = await planFrom({ ledger: relative, ...sshActionInputs(server) });
    expect(overSsh.summary).toContain(
      `Deployment history read from the deployment ledger ${relative} on ${server.user}@${server.host}:${server.port} (4 entries), not from GitHub.`,
    );
    expectRefused(
      await compute(repo.dir, { target: 'v1.2.0', current: 'v1.3.0', ...sshActionInputs(server) }),
      /^Input "ssh-host" is set but neither "current-from-swarm-service" nor "ledger" is: /,
    );
    // Another environment's plan does not take production's point.
    const staging = await compute(repo.dir, {
      ledger: hostLedger,
      environment: 'staging',
      current: 'v1.3.0',
      target: 'v1.2.0',
    });
    expectSuccess(staging);
    expect(staging.outputs['pre-deploy-restore-point-lsn']).toBe('');
  });
});

describe("restore-db without an artifact service: an exact artifact name, and the fallback to backup-db's default dir", () => {
  const orders = ordersSetup('ledger_named', { ledger: 'named-ledger.jsonl' });

  /** A backup named `name` of label production, recorded in the ledger, kept where `env` says (no artifact service). */
  const backup = (name: string, env: Record<string, string>, extra: Record<string, string> = {}) =>
    orders.backedUp({ ledger: orders.ledger, 'artifact-name': name, ...extra }, env);
  const restore = (inputs: Record<string, string>, env: Record<string, string>, githubToken = '') =>
    runAction('restore-db', {
      inputs: { 'database-url': orders.database.url, mode: 'replace', 'safety-backup': 'false', ...inputs },
      env,
      githubToken,
    });

  it('an exact artifact-name restores that backup from ROLLBACK_BACKUP_DIR, not the newest; a name not there restores nothing', async () => {
    const env = { ROLLBACK_BACKUP_DIR: path.join(scratch, 'named-backups') };
    await orders.database.query("INSERT INTO orders VALUES (1, 'first')");
    const older = await backup('db-backup-production-older', env);
    await orders.database.query("INSERT INTO orders VALUES (2, 'second')");
    await backup('db-backup-production-newer', env);
    await orders.database.query('DELETE FROM orders');

    const restored = await restore({ 'artifact-name': 'db-backup-production-older' }, env);
    expect(restored.errors).toEqual([]);
    expect(await orders.items()).toEqual(['first']);
    expect(restored.outputs.checksum).toBe(older.outputs.checksum);
    expect(restored.outputs['backup-source']).toBe(
      `${path.basename(older.outputs.path)} in the local backup dir ${env.ROLLBACK_BACKUP_DIR} (ROLLBACK_BACKUP_DIR)`,
    );

    // A prefix of a kept name is not that name.
    const absent = await restore({ 'artifact-name': 'db-backup-production-old' }, env);
    expect(absent.exitCode).toBe(1);
    expect(absent.errors[0]).toMatch(
      /^No backup named "db-backup-production-old" is in the local backup dir .* \(ROLLBACK_BACKUP_DIR\)\. Nothing was restored\./,
    );
    expect(await orders.items()).toEqual(['first']);
  });

  it("without ROLLBACK_BACKUP_DIR and with GitHub down, restore-db falls back to backup-db's default dir: the latest of a label only as the ledger names it, an exact name as given", async () => {
    // backup-db with upload: false off a runner keeps its backups in $RUNNER_TEMP/rollback-backups, shared here by both steps.
    const runnerTemp = mkdtempSync(path.join(scratch, 'runner-temp-'));
    const defaultDir = path.join(runnerTemp, 'rollback-backups');
    await orders.database.query("DELETE FROM orders; INSERT INTO orders VALUES (1, 'kept')");
    const first = await backup('db-backup-production-first', { RUNNER_TEMP: runnerTemp }, { upload: 'false' });
    expect(path.dirname(first.outputs.path)).toBe(defaultDir);
    await orders.database.query("INSERT INTO orders VALUES (2, 'also kept')");
    const latest = await backup('db-backup-production-latest', { RUNNER_TEMP: runnerTemp }, { upload: 'false' });
    await orders.database.query('DELETE FROM orders');

    const github = await startFakeGitHub({ token: 'ghs_down' });
    const env = { RUNNER_TEMP: runnerTemp, ...github.server.env() };
    await github.server.stop();
    const latestInputs = { 'artifact-name': 'latest', label: 'production' };

    // No ledger: an older backup in the dir could pass for the latest, so the artifact error stands.
    const unnamed = await restore(latestInputs, env, 'ghs_down');
    expect(unnamed.exitCode).toBe(1);
    expect(unnamed.warnings.join('\n')).not.toContain('restoring');
    expect(await orders.items()).toEqual([]);

    const restored = await restore({ ...latestInputs, ledger: orders.ledger }, env, 'ghs_down');
    expect(restored.errors).toEqual([]);
    expect(await orders.items()).toEqual(['kept', 'also kept']);
    expect(restored.outputs.checksum).toBe(latest.outputs.checksum);
    expect(restored.warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^The artifact could not be read \\(.+\\); restoring ${path.basename(latest.outputs.path)} in the local backup dir ${defaultDir} \\(backup-db's default dir\\), the latest backup of label "production" in the deployment ledger ${orders.ledger} .* instead\\.$`,
        ),
      ),
    );

    // An exact name needs no ledger: it is that backup.
    await orders.database.query('DELETE FROM orders');
    const named = await restore({ 'artifact-name': 'db-backup-production-first' }, env);
    expect(named.errors).toEqual([]);
    expect(named.outputs['backup-source']).toBe(
      `${path.basename(first.outputs.path)} in the local backup dir ${defaultDir} (backup-db's default dir)`,
    );
    expect(await orders.items()).toEqual(['kept']);
    expect(named.outputs.checksum).toBe(first.outputs.checksum);
  });
});

/**
 * A dump is taken (and restored) on the runner, but its ledger line belongs on the deploy host
 * (ssh-*), where redeploy-tag writes the deploys and where compute, the break-glass command and
 * restore-db read the latest backup.
 */
describe('a dump backup on the runner, its ledger on the deploy host (backup-db and restore-db with ssh-*)', () => {
  const orders = ordersSetup(
    'ledger_dump_ssh',
    { ledger: path.join('dump-deploy-host', 'ops', 'rollback-ledger.jsonl'), backupDir: 'dump-ssh-backups' },
    "INSERT INTO orders VALUES (1, 'first')",
  );
  /** The backup the deploy host's ledger records, and a newer one in the dir that it does not. */
  let recorded: Awaited<ReturnType<typeof runAction>>;
  let unrecorded: Awaited<ReturnType<typeof runAction>>;

  // No artifact service: the backups are kept in ROLLBACK_BACKUP_DIR, as from the rollback-actions command.
  const env = () => ({ ROLLBACK_BACKUP_DIR: orders.backupDir });
  const dumpBackup = (name: string, inputs: Record<string, string>) =>
    orders.backup({ 'app-version': 'v1.2.0', 'artifact-name': name, ...inputs }, env());

  it('backup-db appends the backup (checksum, label, location) to the ledger on ssh-host; a host that refuses is a warning, the backup stands; ssh-host without a ledger is refused', async () => {
    recorded = await dumpBackup('db-backup-production-recorded', { ledger: orders.ledger, ...sshActionInputs(server) });
    expect(recorded.errors).toEqual([]);
    expect(recorded.warnings).toEqual([]);
    expect(readLines(orders.ledger)).toEqual([
      expect.objectContaining({
        type: 'backup',
        method: 'dump',
        label: 'production',
        appVersion: 'v1.2.0',
        database: orders.database.name,
        checksum: `sha256:${recorded.outputs.checksum}`,
        location: recorded.outputs.path,
      }),
    ]);

    // The line goes over ssh: a host key that is not the host's refuses it, and nothing is appended.
    await orders.database.query("INSERT INTO orders VALUES (2, 'second')");
    unrecorded = await dumpBackup('db-backup-production-unrecorded', {
      ledger: orders.ledger,
      ...sshActionInputs(server),
      'known-hosts': server.wrongKnownHosts,
    });
    expect(unrecorded.errors).toEqual([]);
    expect(unrecorded.outputs.checksum).not.toBe(recorded.outputs.checksum);
    expect(unrecorded.warnings.join('\n')).toMatch(
      new RegExp(
        `^Could not append to the deployment ledger ${orders.ledger} on ${server.host}:${server.port}: ssh to .*Host key verification failed`,
      ),
    );
    expect(readLines(orders.ledger)).toHaveLength(1);

    const noLedger = await dumpBackup('db-backup-production-none', sshActionInputs(server));
    expect(noLedger.exitCode).toBe(1);
    expect(noLedger.errors[0]).toMatch(
      /^Input "ssh-host" with method "dump" only says where the deployment ledger is \(the dump runs on this runner\): set "ledger"/,
    );
    expect(noLedger.outputs.path).toBeUndefined();
  });

  it('restore-db reads the ledger on ssh-host: artifact-name latest restores the backup it names, not the newer one in the dir; a host that refuses restores nothing', async () => {
    await orders.database.query('DELETE FROM orders');
    const restored = await restoreLatest(orders.database, env(), { ledger: orders.ledger, ...sshActionInputs(server) });
    expect(restored.errors).toEqual([]);
    expect(await orders.items()).toEqual(['first']);
    expect(restored.outputs.checksum).toBe(recorded.outputs.checksum);
    expect(restored.outputs['backup-source']).toContain(
      `the latest backup of label "production" in the deployment ledger ${orders.ledger} on ${server.host}:${server.port} (`,
    );

    // Without the ledger the newest of the label in the dir would be taken: the one the ledger lacks.
    await orders.database.query('DELETE FROM orders');
    const refused = await restoreLatest(orders.database, env(), {
      ledger: orders.ledger,
      ...sshActionInputs(server),
      'known-hosts': server.wrongKnownHosts,
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.errors[0]).toMatch(/host key|known-hosts/i);
    expect(await orders.items()).toEqual([]);

    const noLedger = await restoreLatest(orders.database, env(), sshActionInputs(server));
    expect(noLedger.exitCode).toBe(1);
    expect(noLedger.errors[0]).toMatch(
      /^Input "ssh-host" with method "dump" only says where the deployment ledger is \(the restore runs on this runner\): set "ledger"/,
    );
    expect(unrecorded.outputs.path.startsWith(`${orders.backupDir}/`)).toBe(true);
  });
});
