import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localExecutor } from '../shared/engine/executor.js';
import { parseHistoryTable } from '../shared/migrations/history.js';
import { directorySource } from '../shared/migrations/sources.js';
import { graphPython, readAlembicRevisions } from '../shared/migrations/tools/alembic-revisions.js';
import { revertWithAlembic } from '../shared/migrations/tools/alembic.js';
import { runProcess } from '../shared/process.js';
import { REPO_ROOT } from '../testkit/action-harness.js';
import { databaseUrl, dropDatabase, withAdmin, withClient } from '../testkit/database.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * The Alembic revert path (read the revision graph with python's ast, take the advisory lock, check
 * alembic_version, run `alembic downgrade`, check alembic_version again) against a bare
 * `alembic downgrade` of the same revisions, on copies of one template database. The graph is read
 * in one python process, by the interpreter the `alembic` on PATH runs with (graphPython, resolved
 * once): not a version manager's python3 shim.
 */
const TRIALS = 5;
const TARGET = '0004a';

const benchmark: Benchmark = {
  name: 'alembic-revert',
  description: `the Alembic revert path (graph read, lock, alembic_version checks, alembic downgrade ${TARGET}) vs a bare \`alembic downgrade ${TARGET}\` from head, median of ${TRIALS}`,
  async run(log) {
    const app = mkdtempSync(path.join(os.tmpdir(), 'bench-alembic-'));
    cpSync(path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app'), app, { recursive: true });
    const template = `bench_alembic_template_${process.pid}`;
    const databases = [template];
    const alembic = (url: string, ...args: string[]) =>
      runProcess('alembic', args, { cwd: app, env: { DATABASE_URL: url } });
    try {
      await dropDatabase(template);
      await withAdmin((client) => client.query(`CREATE DATABASE "${template}"`));
      await alembic(databaseUrl(template), 'upgrade', 'heads');
      const bare: number[] = [];
      const ours: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        for (const which of trial % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) {
          const name = `bench_alembic_${which}_${trial}_${process.pid}`;
          databases.push(name);
          await dropDatabase(name);
          await withAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
          const url = databaseUrl(name);
          let took: number;
          if (which === 'bare') {
            took = (await timed(() => alembic(url, 'downgrade', TARGET))).ms;
            bare.push(took);
          } else {
            const { ms, value } = await timed(async () => {
              // As apply-down-migrations does: the graph read and the connection at once.
              const source = directorySource(path.join(app, 'alembic', 'versions'));
              const graph = source.listFiles().then((files) => readAlembicRevisions(source, files));
              return withClient(url, async (client) =>
                revertWithAlembic({
                  client,
                  database: name,
                  table: parseHistoryTable('alembic_version'),
                  revisions: await graph,
                  target: [TARGET],
                  command: ['alembic'],
                  executor: localExecutor,
                  cwd: app,
                  env: { DATABASE_URL: url },
                  lockTimeoutMs: 30_000,
                }),
              );
            });
            if (value.after.join(',') !== '0004a,0004b')
              throw new Error(`unexpected alembic_version after the revert: ${value.after.join(',')}`);
            took = ms;
            ours.push(ms);
          }
          log(`trial ${trial + 1}: ${which} ${(took / 1000).toFixed(2)}s`);
          await dropDatabase(name);
        }
      }
      const ratio = median(ours) / median(bare);
      return {
        metrics: [
          { name: `bare alembic downgrade ${TARGET}`, value: median(bare), unit: 'ms' },
          { name: 'Alembic revert path (library)', value: median(ours), unit: 'ms' },
          { name: 'ratio revert path / bare alembic', value: ratio, unit: 'x' },
        ],
        targets: [
          {
            description: 'the Alembic revert path costs at most 1.2x a bare alembic downgrade',
            met: ratio <= 1.2,
            actual: `${ratio.toFixed(3)}x`,
          },
        ],
        notes: [
          `Measured on the library path apply-down-migrations runs for migrations-format alembic (graph read with ${graphPython()}, revertWithAlembic), without the node start of the bundled action.`,
        ],
      };
    } finally {
      for (const name of databases) await dropDatabase(name).catch(() => undefined);
      rmSync(app, { recursive: true, force: true });
    }
  },
};
export default benchmark;
