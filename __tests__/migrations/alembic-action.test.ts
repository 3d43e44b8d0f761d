import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHistoryTable } from '../../shared/migrations/history.js';
import { alembicLockKeys } from '../../shared/migrations/tools/alembic.js';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT, runAction, type ActionResult } from '../../testkit/action-harness.js';
import { schemaOfUrl, withClient, type TestDatabase } from '../../testkit/database.js';
import { sshActionInputs, startSshServer } from '../../testkit/sshd.js';
import { parseMigrateCommand } from '../../shared/migrations/tools/alembic-command.js';
import { freshDatabases, parseJsonOutput } from './helpers.js';

/**
 * apply-down-migrations with migrations-format: alembic, the bundled action run as the runner runs it,
 * with Debian's alembic 1.8 and psycopg2 on real PostgreSQL, on the 10-revision fixture (a branch and
 * a merge).
 */
const FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app');
const database = freshDatabases();

let app: string;
beforeAll(() => {
  // A copy: alembic writes __pycache__ next to the revision files, and one test edits a revision.
  app = mkdtempSync(path.join(os.tmpdir(), 'alembic-action-'));
  cpSync(FIXTURE, app, { recursive: true });
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

async function alembic(url: string, ...args: string[]): Promise<string> {
  return (await runProcess('alembic', args, { cwd: app, env: { DATABASE_URL: url } })).stdout;
}

async function migratedDatabase(prefix: string, to = 'heads'): Promise<TestDatabase> {
  const db = await database(prefix);
  await alembic(db.url, 'upgrade', to);
  return db;
}

async function alembicVersion(db: TestDatabase): Promise<string[]> {
  return (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map(
    (row) => row.version_num,
  );
}

function applyDownAlembic(
  db: TestDatabase,
  inputs: Record<string, string | number | boolean | undefined>,
): Promise<ActionResult> {
  return runAction('apply-down-migrations', {
    inputs: {
      'database-url': db.url,
      'migrations-dir': path.join(app, 'alembic', 'versions'),
      'migrations-format': 'alembic',
      'working-directory': app,
      'skip-backup-check': true,
      ...inputs,
    },
  });
}

describe('apply-down-migrations, migrations-format alembic, local alembic', () => {
  it('reverts to a middle revision with the local alembic; the schema equals a fresh upgrade to it', async () => {
    const db = await migratedDatabase('alembic_action_middle');
    const fresh = await migratedDatabase('alembic_action_fresh', '0006');
    const result = await applyDownAlembic(db, { 'target-version': '0006' });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual([
      '0009',
      '0008',
      '0007',
    ]);
    expect(result.outputs['initial-version']).toBe('0009');
    expect(result.outputs['final-version']).toBe('0006');
    expect(result.outputs['plan-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await alembicVersion(db)).toEqual(['0006']);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
    expect(result.summary).toContain('| Version | 0009 → 0006 |');
    expect(result.summary).toContain('`alembic downgrade` on this runner');
  });

  it('reverts below the merge to both branch heads (target-version "0004a,0004b")', async () => {
    const db = await migratedDatabase('alembic_action_heads');
    const fresh = await migratedDatabase('alembic_action_heads_fresh', '0004a');
    await alembic(fresh.url, 'upgrade', '0004b');
    const result = await applyDownAlembic(db, { 'target-version': '0004a,0004b' });
    expect(result.errors).toEqual([]);
    expect(result.outputs['final-version']).toBe('0004a,0004b');
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual([
      '0009',
      '0008',
      '0007',
      '0006',
      '0005',
    ]);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
  });

  it('runs migrate-command over SSH (the ssh-* inputs redeploy-tag takes) in working-directory on that host', async () => {
    const server = await startSshServer();
    try {
      const db = await migratedDatabase('alembic_action_ssh');
      const fresh = await migratedDatabase('alembic_action_ssh_fresh', '0006');
      const result = await applyDownAlembic(db, { 'target-version': '0006', ...sshActionInputs(server) });
      expect(result.errors).toEqual([]);
      expect(result.outputs['final-version']).toBe('0006');
      expect(result.summary).toContain(`\`alembic downgrade\` on \`${server.user}@${server.host}:${server.port}\``);
      expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
    } finally {
      await server.stop();
    }
  });

  it('splits migrate-command into words as a shell would, and nothing more: quotes group, ; and $ stay literal', () => {
    expect(parseMigrateCommand(`docker compose run --rm -e "GREETING=a b" api alembic`)).toEqual([
      'docker',
      'compose',
      'run',
      '--rm',
      '-e',
      'GREETING=a b',
      'api',
      'alembic',
    ]);
    expect(parseMigrateCommand(`alembic; rm -rf $HOME`)).toEqual(['alembic;', 'rm', '-rf', '$HOME']);
  });

  it("the dry run prints Alembic's own offline SQL and changes nothing", async () => {
    const db = await migratedDatabase('alembic_action_dry');
    const before = await schemaOfUrl(db.url);
    const result = await applyDownAlembic(db, {
      'target-version': '0006',
      'dry-run': true,
      'skip-backup-check': false,
    });
    expect(result.errors).toEqual([]);
    const sql = result.outputs['dry-run-sql'];
    // What alembic downgrade 0009:0006 --sql itself prints, run the same way.
    const offline = await alembic(db.url, 'downgrade', '0009:0006', '--sql');
    expect(sql.trim()).toBe(offline.trim());
    expect(sql).toContain("ALTER TABLE users ADD COLUMN status TEXT DEFAULT 'active' NOT NULL");
    expect(sql).toContain('ALTER TABLE users ALTER COLUMN name DROP NOT NULL');
    expect(sql).toContain("UPDATE alembic_version SET version_num='0006'");
    expect(result.log).toContain('ALTER TABLE users ALTER COLUMN name DROP NOT NULL');
    expect(parseJsonOutput(result, 'reverted')).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(result, 'planned').map((entry) => entry.version)).toEqual([
      '0009',
      '0008',
      '0007',
    ]);
    expect(result.outputs['final-version']).toBe('0006');
    expect(await alembicVersion(db)).toEqual(['0009']);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });
});

describe('apply-down-migrations alembic refuses, with nothing changed', () => {
  it('without a backup proof', async () => {
    const db = await migratedDatabase('alembic_action_nobackup');
    const before = await schemaOfUrl(db.url);
    const result = await applyDownAlembic(db, { 'target-version': '0006', 'skip-backup-check': false });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "backup-checksum" is required to revert migrations');
    expect(await alembicVersion(db)).toEqual(['0009']);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });

  it('while another run holds the migration lock', async () => {
    const db = await migratedDatabase('alembic_action_lock');
    const before = await schemaOfUrl(db.url);
    await withClient(db.url, async (holder) => {
      const [key] = alembicLockKeys(db.name, parseHistoryTable('alembic_version'));
      await holder.query(`SELECT pg_advisory_lock(${key.id})`);
      const result = await applyDownAlembic(db, { 'target-version': '0006', 'lock-timeout': '1s' });
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(/holds the migration lock.*Nothing was changed/s);
    });
    expect(await alembicVersion(db)).toEqual(['0009']);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });

  it('with a dirty alembic_version (a revision listed beside one that follows it)', async () => {
    const db = await migratedDatabase('alembic_action_dirty');
    await db.query("INSERT INTO alembic_version (version_num) VALUES ('0003')");
    const before = await schemaOfUrl(db.url);
    const result = await applyDownAlembic(db, { 'target-version': '0006' });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /alembic_version in the database is inconsistent: 0003 is listed alongside a revision that follows it.*Nothing was changed/,
    );
    expect(await alembicVersion(db)).toEqual(['0003', '0009']);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });

  it('when the plan changed since it was approved (expected-plan-digest), and names the inputs it cannot use', async () => {
    const db = await migratedDatabase('alembic_action_digest');
    const before = await schemaOfUrl(db.url);
    const approved = (await applyDownAlembic(db, { 'target-version': '0006', 'dry-run': true })).outputs['plan-digest'];
    expect(approved).toMatch(/^sha256:/);
    const edited = mkdtempSync(path.join(os.tmpdir(), 'alembic-edited-'));
    try {
      cpSync(path.join(app, 'alembic', 'versions'), edited, { recursive: true });
      appendFileSync(path.join(edited, '0008_users_name_required.py'), '\n# edited after the plan was approved\n');
      const changed = await applyDownAlembic(db, {
        'target-version': '0006',
        'expected-plan-digest': approved,
        'migrations-dir': edited,
      });
      expect(changed.exitCode).toBe(1);
      expect(changed.errors[0]).toContain('expected-plan-digest');
    } finally {
      rmSync(edited, { recursive: true, force: true });
    }
    expect(await alembicVersion(db)).toEqual(['0009']);
    expect(await schemaOfUrl(db.url)).toBe(before);

    for (const [inputs, message] of [
      [{ steps: 2 }, 'Input "steps" is not used with migrations-format alembic'],
      [
        { 'target-version': '0006', 'allow-empty-down': '0007' },
        'Input "allow-empty-down" is not used with migrations-format alembic',
      ],
      [{ 'target-version': '0006', verify: true }, 'Input "verify" is not used with migrations-format alembic'],
      [
        { 'target-version': '0006', 'migrate-command': "docker compose run 'api alembic" },
        'Input "migrate-command" has an unclosed \' quote',
      ],
      [{ 'target-version': 'nope' }, 'Input "target-version" names nope, not a revision'],
    ] as const) {
      const refused = await applyDownAlembic(db, inputs);
      expect(refused.exitCode).toBe(1);
      expect(refused.errors[0]).toContain(message);
    }
    expect(await alembicVersion(db)).toEqual(['0009']);

    // A command that is not alembic for this database: alembic_version is checked after it ran.
    const wrong = await applyDownAlembic(db, { 'target-version': '0006', 'migrate-command': 'true' });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.errors[0]).toContain('After the downgrade alembic_version is 0009, not 0006');
    expect(await schemaOfUrl(db.url)).toBe(before);

    const matching = await applyDownAlembic(db, { 'target-version': '0006', 'expected-plan-digest': approved });
    expect(matching.errors).toEqual([]);
    expect(matching.log).toContain(`The plan is the approved one: ${approved}.`);
    expect(await alembicVersion(db)).toEqual(['0006']);
  });
});
