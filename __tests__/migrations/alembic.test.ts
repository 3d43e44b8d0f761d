import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localExecutor } from '../../shared/engine/executor.js';
import { classifySql } from '../../shared/migrations/classify.js';
import { parseHistoryTable } from '../../shared/migrations/history.js';
import { directorySource } from '../../shared/migrations/sources.js';
import { classifyAlembicOps } from '../../shared/migrations/tools/alembic-ops.js';
import {
  downgradePlan,
  heads,
  readAlembicRevisions,
  revisionsToRevert,
  type AlembicRevision,
} from '../../shared/migrations/tools/alembic-revisions.js';
import { alembicLockKeys, readAlembicVersion, revertWithAlembic } from '../../shared/migrations/tools/alembic.js';
import { offlineAlembicSql } from '../../shared/migrations/tools/alembic-command.js';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl, withClient } from '../../testkit/database.js';
import { freshDatabases } from './helpers.js';

/** Alembic with the real tool (Debian's alembic 1.8 and psycopg2) on real PostgreSQL. */
const FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app');
const TABLE = parseHistoryTable('alembic_version');
const database = freshDatabases();

let app: string;
let revisions: AlembicRevision[];
beforeAll(async () => {
  // A copy: alembic writes __pycache__ next to the revision files.
  app = mkdtempSync(path.join(os.tmpdir(), 'alembic-app-'));
  cpSync(FIXTURE, app, { recursive: true });
  const source = directorySource(path.join(app, 'alembic', 'versions'));
  revisions = await readAlembicRevisions(source, await source.listFiles());
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

async function alembic(url: string, ...args: string[]): Promise<string> {
  return (await runProcess('alembic', args, { cwd: app, env: { DATABASE_URL: url } })).stdout;
}

async function migratedDatabase(prefix: string, to = 'heads') {
  const db = await database(prefix);
  await alembic(db.url, 'upgrade', to);
  return db;
}

describe('the Alembic revision graph', () => {
  it("reads revision, down_revision (merge tuples), branch_labels with python's parser, as alembic itself sees them", async () => {
    expect(revisions).toHaveLength(10);
    const merge = revisions.find((revision) => revision.revision === '0005')!;
    expect(merge.downRevisions).toEqual(['0004a', '0004b']);
    expect(revisions.find((revision) => revision.revision === '0004a')!.branchLabels).toEqual(['billing']);
    // The real tool agrees on heads and on each revision's parents.
    const toolHeads = (await alembic('postgresql://unused/unused', 'heads'))
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    expect(heads(revisions)).toEqual(toolHeads.sort());
    const history = await alembic('postgresql://unused/unused', 'history');
    for (const revision of revisions) {
      const parents = revision.downRevisions.length ? revision.downRevisions.join(', ') : '<base>';
      expect(history).toContain(`${parents} -> ${revision.revision}`);
    }
  });

  it('orders what to revert so each revision goes after everything that follows it, across the merge', () => {
    // Like alembic downgrade 0004b: what follows 0004b goes; the billing branch beside it stays.
    expect(downgradePlan(revisions, ['0009'], ['0004b'])).toEqual({
      revert: ['0009', '0008', '0007', '0006', '0005'],
      after: ['0004a', '0004b'],
    });
    expect(downgradePlan(revisions, ['0009'], ['0004a', '0004b']).after).toEqual(['0004a', '0004b']);
    expect(downgradePlan(revisions, ['0009'], ['0006'])).toEqual({ revert: ['0009', '0008', '0007'], after: ['0006'] });
    expect(revisionsToRevert(revisions, ['0009'], ['0009'])).toEqual([]);
  });

  it('classifies each op.* kind the fixture uses', async () => {
    const classOf = async (id: string) =>
      (await classifyAlembicOps(revisions.find((revision) => revision.revision === id)!.upgradeOps, id)).class;
    expect(await classOf('0001')).toBe('additive'); // create_table
    expect(await classOf('0002')).toBe('additive'); // add_column nullable
    expect(await classOf('0004b')).toBe('additive'); // add_column NOT NULL with a server default
    expect(await classOf('0005')).toBe('additive'); // a merge has no ops
    expect(await classOf('0006')).toBe('additive'); // create_index
    expect(await classOf('0008')).toBe('breaking'); // alter_column nullable=False
    expect(await classOf('0009')).toBe('data-loss'); // drop_column
    // op.execute: the SQL classifier's verdict on the SQL inside.
    expect(await classOf('0007')).toBe((await classifySql('UPDATE users SET name = email WHERE name IS NULL')).class);
    const required = await classifyAlembicOps(
      [
        {
          name: 'add_column',
          args: ['users', null],
          kwargs: {},
          column: { name: 'x', type: 'sa.Text', kwargs: { nullable: false } },
          line: 1,
        },
      ],
      'x',
    );
    expect(required.class).toBe('breaking');
  });
});

describe("reverting with the team's alembic, inside our lock", () => {
  it('reverts to a middle revision; the schema equals a fresh upgrade to it', async () => {
    const db = await migratedDatabase('alembic_middle');
    const fresh = await migratedDatabase('alembic_middle_fresh', '0006');
    const result = await withClient(db.url, (client) =>
      revertWithAlembic({
        client,
        database: db.name,
        table: TABLE,
        revisions,
        target: ['0006'],
        command: ['alembic'],
        executor: localExecutor,
        cwd: app,
        env: { DATABASE_URL: db.url },
        lockTimeoutMs: 5000,
      }),
    );
    expect(result).toEqual(
      expect.objectContaining({
        before: ['0009'],
        after: ['0006'],
        reverted: ['0009', '0008', '0007'],
        commands: [['alembic', 'downgrade', '0006']],
      }),
    );
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
  });

  it('reverts below the merge to the release whose heads were the two branches', async () => {
    const db = await migratedDatabase('alembic_revert');
    const fresh = await migratedDatabase('alembic_fresh', '0004a');
    await alembic(fresh.url, 'upgrade', '0004b');
    const result = await withClient(db.url, (client) =>
      revertWithAlembic({
        client,
        database: db.name,
        table: TABLE,
        revisions,
        target: ['0004a', '0004b'],
        command: ['alembic'],
        executor: localExecutor,
        cwd: app,
        env: { DATABASE_URL: db.url },
        lockTimeoutMs: 5000,
      }),
    );
    expect(result.before).toEqual(['0009']);
    expect(result.after).toEqual(['0004a', '0004b']);
    // One downgrade leaves both branch heads; the second head has nothing above it left.
    expect(result.commands).toEqual([['alembic', 'downgrade', '0004a']]);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
    expect(await withClient(db.url, (client) => readAlembicVersion(client, TABLE))).toEqual(['0004a', '0004b']);
  });

  it("the dry run is alembic's own offline SQL for the same downgrade", async () => {
    const sql = await offlineAlembicSql(['alembic'], localExecutor, 'downgrade', '0009:0004b', {
      cwd: app,
      env: { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' },
    });
    expect(sql).toContain("ALTER TABLE users ADD COLUMN status TEXT DEFAULT 'active' NOT NULL");
    expect(sql).toContain('DROP INDEX ix_orders_user_id');
    // Below the merge Alembic re-opens both branch heads in alembic_version.
    expect(sql).toContain("INSERT INTO alembic_version (version_num) VALUES ('0004a')");
    expect(sql).toMatch(/UPDATE alembic_version SET version_num='0004b'/);
    expect(sql).not.toContain('DROP COLUMN total');
  });

  it('refuses a dirty alembic_version, and a held lock, with nothing changed', async () => {
    const db = await migratedDatabase('alembic_dirty');
    const before = await schemaOfUrl(db.url);
    await db.query("INSERT INTO alembic_version (version_num) VALUES ('0003')");
    const run = () =>
      withClient(db.url, (client) =>
        revertWithAlembic({
          client,
          database: db.name,
          table: TABLE,
          revisions,
          target: ['0002'],
          command: ['alembic'],
          executor: localExecutor,
          cwd: app,
          env: { DATABASE_URL: db.url },
          lockTimeoutMs: 300,
        }),
      );
    await expect(run()).rejects.toThrow(
      /alembic_version in the database is inconsistent: 0003 is listed alongside a revision that follows it.*Nothing was changed/,
    );
    expect(await schemaOfUrl(db.url)).toBe(before);

    await db.query("DELETE FROM alembic_version WHERE version_num = '0003'");
    const clean = await schemaOfUrl(db.url);
    await withClient(db.url, async (holder) => {
      const [key] = alembicLockKeys(db.name, TABLE);
      await holder.query(`SELECT pg_advisory_lock(${key.id})`);
      await expect(run()).rejects.toThrow(/holds the migration lock.*Nothing was changed/);
    });
    expect(await schemaOfUrl(db.url)).toBe(clean);
    expect(await withClient(db.url, (client) => readAlembicVersion(client, TABLE))).toEqual(['0009']);
  });
});
