import { spawn } from 'node:child_process';
import path from 'node:path';
import { migrateDatabase } from '../shared/migrations/runner.js';
import { runAction } from '../testkit/action-harness.js';
import { createFixtureRepo } from '../testkit/fixture-repo.js';
import { createTestDatabase, targetOfUrl } from '../testkit/database.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * Planning a rollback across a long history: compute-rollback-target (the whole step, node start
 * included) on a repository whose current release has 300 migrations and whose target has 100, so
 * 200 are classified, linted, pre-checked and hashed; once from git only, once with database-url
 * (history read, every down file's drops looked up in the database). Against bare `node -e 0`, the
 * floor any step pays.
 */
const COUNT = 300;
const AT_TARGET = 100;
const TRIALS = 3;
const TARGET_MS = 3000;

function migration(i: number): [string, string] {
  if (i % 10 === 0) {
    // A DO block that backfills a column an earlier migration of this release added.
    return [
      `DO $$\nBEGIN\n  UPDATE bench_${i - 1} SET note = payload WHERE note IS NULL;\nEND\n$$;\n`,
      `-- the backfill stays\nSELECT 1;\n`,
    ];
  }
  if (i % 4 === 0) {
    const table = `bench_${i - 1}`;
    return [
      `ALTER TABLE ${table} ADD COLUMN score_${i} integer NOT NULL DEFAULT 0;\nALTER TABLE ${table} ADD CONSTRAINT ${table}_score_${i}_check CHECK (score_${i} >= 0);\nCREATE INDEX ${table}_score_${i}_idx ON ${table} (score_${i});\n`,
      `DROP INDEX ${table}_score_${i}_idx;\nALTER TABLE ${table} DROP CONSTRAINT ${table}_score_${i}_check;\nALTER TABLE ${table} DROP COLUMN score_${i};\n`,
    ];
  }
  return [
    `CREATE TABLE bench_${i} (\n  id bigserial PRIMARY KEY,\n  payload text NOT NULL,\n  note text,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX bench_${i}_created_idx ON bench_${i} (created_at);\n`,
    `DROP TABLE bench_${i};\n`,
  ];
}

function files(from: number, to: number): Record<string, string> {
  const written: Record<string, string> = {};
  for (let i = from; i <= to; i++) {
    const [up, down] = migration(i);
    const base = `db/migrations/${String(i).padStart(4, '0')}_step_${i}`;
    written[`${base}.up.sql`] = up;
    written[`${base}.down.sql`] = down;
  }
  return written;
}

function bareNode(): Promise<unknown> {
  return new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('close', resolve));
}

const benchmark: Benchmark = {
  name: 'compute',
  description: `compute-rollback-target (whole step) planning the revert of ${COUNT - AT_TARGET} of ${COUNT} migrations, from git only and with database-url, median of ${TRIALS}`,
  async run(log) {
    const repo = createFixtureRepo(
      [
        { tag: 'v1.0.0', files: files(1, AT_TARGET) },
        { tag: 'v2.0.0', files: files(AT_TARGET + 1, COUNT) },
      ],
      { prefix: 'bench-compute' },
    );
    const db = await createTestDatabase('bench_compute');
    try {
      const setup = await timed(() =>
        migrateDatabase(targetOfUrl(db.url), {
          migrationsDir: path.join(repo.dir, 'db', 'migrations'),
          format: 'golang-migrate',
        }),
      );
      log(`database migrated up to ${COUNT} in ${(setup.ms / 1000).toFixed(1)}s`);
      const inputs = { current: 'v2.0.0', target: 'v1.0.0', 'migrations-dir': 'db/migrations' };
      const bare: number[] = [];
      const fromGit: number[] = [];
      const withDatabase: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        bare.push((await timed(bareNode)).ms);
        for (const [which, times, extra] of [
          ['git only', fromGit, {}],
          ['database-url', withDatabase, { 'database-url': db.url }],
        ] as const) {
          const { ms, value: result } = await timed(() =>
            runAction('compute-rollback-target', { inputs: { ...inputs, ...extra }, workspace: repo.dir }),
          );
          if (result.exitCode !== 0) throw new Error(`compute-rollback-target failed:\n${result.log}`);
          const planned = (JSON.parse(result.outputs.migrations) as unknown[]).length;
          if (planned !== COUNT - AT_TARGET)
            throw new Error(`expected ${COUNT - AT_TARGET} migrations in the plan, got ${planned}`);
          times.push(ms);
          log(
            `trial ${trial + 1}: ${which} ${(ms / 1000).toFixed(2)}s (strategy ${result.outputs.strategy}, ${result.outputs['plan-source']})`,
          );
        }
      }
      return {
        metrics: [
          { name: 'bare node -e 0', value: median(bare), unit: 'ms' },
          {
            name: `compute-rollback-target, git only, ${COUNT - AT_TARGET} of ${COUNT} migrations`,
            value: median(fromGit),
            unit: 'ms',
          },
          {
            name: `compute-rollback-target, database-url, ${COUNT - AT_TARGET} of ${COUNT} migrations`,
            value: median(withDatabase),
            unit: 'ms',
          },
          { name: 'ratio database-url / bare node', value: median(withDatabase) / median(bare), unit: 'x' },
        ],
        targets: [
          {
            description: `planning from git only takes under ${TARGET_MS / 1000} s for the whole step`,
            met: median(fromGit) < TARGET_MS,
            actual: `${(median(fromGit) / 1000).toFixed(2)} s`,
          },
          {
            description: `planning with database-url takes under ${TARGET_MS / 1000} s for the whole step`,
            met: median(withDatabase) < TARGET_MS,
            actual: `${(median(withDatabase) / 1000).toFixed(2)} s`,
          },
        ],
        notes: [
          'Every 10th migration is a DO block (read with the PL/pgSQL parser); every 4th alters an earlier table (index, check, column: three drops to look up per down file).',
        ],
      };
    } finally {
      await db.drop();
      repo.remove();
    }
  },
};
export default benchmark;
