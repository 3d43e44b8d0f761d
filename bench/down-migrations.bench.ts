import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDatabase } from '../shared/migrations/runner.js';
import { pgToolEnv } from '../shared/postgres/connection.js';
import { runProcess } from '../shared/process.js';
import { runAction } from '../testkit/action-harness.js';
import { databaseUrl, dropDatabase, pgBin, targetOfUrl, withAdmin } from '../testkit/database.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * Reverting 200 migrations with the bundled action (node start, lock, one transaction per migration
 * with its golang-migrate history update, all statements sent one by one) against the plainest way
 * to run the same down files: `psql -1 -f <file>` once per file, newest first, no history at all.
 * Each trial starts from a copy of the same template database migrated up to 200.
 */
const COUNT = 200;
const TRIALS = 3;

function generateMigrations(dir: string): void {
  for (let i = 1; i <= COUNT; i++) {
    const base = `${String(i).padStart(4, '0')}_step_${i}`;
    let up: string;
    let down: string;
    if (i % 4 === 0) {
      // Every fourth migration changes an earlier table: a column with a default, a check, an index.
      const table = `bench_${i - 1}`;
      up = `ALTER TABLE ${table} ADD COLUMN score_${i} integer NOT NULL DEFAULT 0;\nALTER TABLE ${table} ADD CONSTRAINT ${table}_score_${i}_check CHECK (score_${i} >= 0);\nCREATE INDEX ${table}_score_${i}_idx ON ${table} (score_${i});\n`;
      down = `DROP INDEX ${table}_score_${i}_idx;\nALTER TABLE ${table} DROP CONSTRAINT ${table}_score_${i}_check;\nALTER TABLE ${table} DROP COLUMN score_${i};\n`;
    } else {
      up = `CREATE TABLE bench_${i} (
  id bigserial PRIMARY KEY,
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bench_${i}_created_idx ON bench_${i} (created_at);
INSERT INTO bench_${i} (payload) SELECT md5(g::text) FROM generate_series(1, 200) g;
`;
      down = `DROP TABLE bench_${i};\n`;
    }
    writeFileSync(path.join(dir, `${base}.up.sql`), up);
    writeFileSync(path.join(dir, `${base}.down.sql`), down);
  }
}

async function copyOf(template: string, name: string): Promise<string> {
  await dropDatabase(name);
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return databaseUrl(name);
}

const benchmark: Benchmark = {
  name: 'down-migrations',
  description: `apply-down-migrations reverting ${COUNT} generated migrations vs the same down files run with \`psql -1 -f\` in a loop, median of ${TRIALS}`,
  async run(log) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-down-'));
    generateMigrations(dir);
    const template = `bench_down_template_${process.pid}`;
    const psql = pgBin('psql');
    const downFiles = Array.from({ length: COUNT }, (_, index) => COUNT - index).map((i) =>
      path.join(dir, `${String(i).padStart(4, '0')}_step_${i}.down.sql`),
    );
    const databases: string[] = [template];
    try {
      await dropDatabase(template);
      await withAdmin((client) => client.query(`CREATE DATABASE "${template}"`));
      const setup = await timed(() =>
        migrateDatabase(targetOfUrl(databaseUrl(template)), { migrationsDir: dir, format: 'golang-migrate' }),
      );
      log(`template migrated up to ${COUNT} in ${(setup.ms / 1000).toFixed(1)}s`);

      const baseline: number[] = [];
      const action: number[] = [];
      const actionInternal: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        // Alternate which goes first, so neither always gets the warmer cache.
        const order = trial % 2 === 0 ? ['psql', 'action'] : ['action', 'psql'];
        for (const which of order) {
          const name = `bench_down_${which}_${trial}_${process.pid}`;
          databases.push(name);
          const url = await copyOf(template, name);
          if (which === 'psql') {
            const env = pgToolEnv(targetOfUrl(url));
            const { ms } = await timed(async () => {
              for (const file of downFiles)
                await runProcess(psql, ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', file], { env });
            });
            baseline.push(ms);
            log(`trial ${trial + 1}: psql -1 -f loop ${(ms / 1000).toFixed(2)}s`);
          } else {
            const { ms, value: result } = await timed(() =>
              runAction('apply-down-migrations', {
                inputs: {
                  'database-url': url,
                  'migrations-dir': dir,
                  'migrations-format': 'golang-migrate',
                  'target-version': '0',
                  'skip-backup-check': true,
                },
              }),
            );
            if (result.exitCode !== 0) throw new Error(`apply-down-migrations failed:\n${result.log}`);
            const reverted = JSON.parse(result.outputs.reverted) as unknown[];
            if (reverted.length !== COUNT)
              throw new Error(`expected ${COUNT} reverted migrations, got ${reverted.length}`);
            action.push(ms);
            actionInternal.push(Number(result.outputs['duration-ms']));
            log(
              `trial ${trial + 1}: apply-down-migrations ${(ms / 1000).toFixed(2)}s (its own duration-ms: ${result.outputs['duration-ms']})`,
            );
          }
          await dropDatabase(name);
        }
      }
      const ratio = median(action) / median(baseline);
      return {
        metrics: [
          { name: `psql -1 -f loop, ${COUNT} files`, value: median(baseline), unit: 'ms' },
          { name: 'apply-down-migrations (whole step, node start included)', value: median(action), unit: 'ms' },
          { name: 'apply-down-migrations duration-ms output', value: median(actionInternal), unit: 'ms' },
          { name: 'ratio action / psql loop', value: ratio, unit: 'x' },
        ],
        targets: [
          {
            description: `reverting ${COUNT} migrations costs at most 1.2x the psql -1 -f loop`,
            met: ratio <= 1.2,
            actual: `${ratio.toFixed(3)}x`,
          },
        ],
        notes: [
          'The psql loop runs only the down files: no lock, no history updates. The action also takes the advisory lock, reads and checks the history, and updates schema_migrations in each transaction.',
          'The psql loop pays one process start and one connection (scram-sha-256) per file; the action pays one node start and one connection for the whole run.',
        ],
      };
    } finally {
      for (const name of databases) await dropDatabase(name).catch(() => undefined);
    }
  },
};
export default benchmark;
