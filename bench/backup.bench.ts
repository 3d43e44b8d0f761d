import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../shared/process.js';
import { runAction, type ActionResult } from '../testkit/action-harness.js';
import { startStandIns } from '../testkit/backup-stand-ins.js';
import { createTestDatabase, pgBin } from '../testkit/database.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * backup-db against a bare `pg_dump -Fc` of the same >= 1 GB database (pgbench -i -s 70), in the
 * same run, interleaved round by round (order reversed every other round) so machine noise hits
 * every contender alike; medians of the rounds are compared:
 *  - custom format, default settings (gzip:6, the same compression as bare -Fc), upload off: the
 *    cost of everything backup-db adds (snapshot, row counts, verification, checksum, metadata,
 *    node start) must stay within 10%;
 *  - directory format, 2 jobs, the fastest compression this pg_dump supports (zstd:1 from
 *    PostgreSQL 16, gzip:1 before): must beat bare -Fc's wall time.
 * One extra custom run uploads to the local artifact service stand-in, reported as a note only (a
 * loopback upload says nothing about GitHub's network).
 */
const SCALE = 70;
/** BENCH_BACKUP_ROUNDS for a quick run (default 7). */
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS ?? 7);

function connectionEnv(url: URL, database: string): Record<string, string> {
  return {
    PGHOST: url.hostname,
    PGPORT: url.port,
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: database,
  };
}

function succeeded(result: ActionResult, what: string): ActionResult {
  if (result.exitCode !== 0) throw new Error(`${what} failed: ${result.errors.join('\n') || result.stderr}`);
  return result;
}

const benchmark: Benchmark = {
  name: 'backup',
  description: `backup-db (custom; directory with 2 jobs) vs bare pg_dump -Fc of a pgbench -s ${SCALE} database, median of ${ROUNDS} interleaved rounds`,
  async run(log) {
    // Every harness run registers an exit hook that removes its temp files.
    process.setMaxListeners(Math.max(process.getMaxListeners(), 100));
    const db = await createTestDatabase('bench_backup');
    const database = db.name;
    const dbUrl = new URL(db.url);
    const env = connectionEnv(dbUrl, database);
    const work = mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
    try {
      log(`generating pgbench -i -s ${SCALE} in ${database}...`);
      const generated = await timed(() =>
        runProcess(pgBin('pgbench'), ['-i', '-s', String(SCALE), '-q', database], { env }),
      );
      const [{ bytes }] = (await db.query<{ bytes: string }>(`SELECT pg_database_size(current_database()) AS bytes`))
        .rows;
      const sizeGb = Number(bytes) / 1024 ** 3;
      log(`database: ${(Number(bytes) / 1024 ** 2).toFixed(0)} MiB, generated in ${(generated.ms / 1000).toFixed(1)}s`);
      if (Number(bytes) < 1000 * 1024 ** 2)
        throw new Error(`the generated database is only ${bytes} bytes; the benchmark needs at least 1 GB`);

      const pgDump = pgBin('pg_dump');
      const { stdout: version } = await runProcess(pgDump, ['--version']);
      const major = Number(/(\d+)/.exec(version.replace(/^[^)]*\)/, ''))![1]);
      const fastest = major >= 16 ? 'zstd:1' : 'gzip:1';
      // Warm-up, not measured: hint bits, caches, and the bundles' first load.
      await runProcess(pgDump, ['-Fc', '-f', path.join(work, 'warmup.dump')], { env });
      rmSync(path.join(work, 'warmup.dump'), { force: true });

      const bare: number[] = [];
      const custom: number[] = [];
      const directory: number[] = [];
      let lastCustom: ActionResult | undefined;
      // Where each custom round's time went: node's start and exit (wall minus the action's own
      // duration-ms), its pg_dump (the metadata's dump phase), and everything else it adds.
      const customDump: number[] = [];
      const customNode: number[] = [];
      const customPhases: Record<string, number>[] = [];
      // Other work on the machine skews every contender; the 1-minute load average after each round says how much there was.
      const loads: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const dir = path.join(work, `round-${round}`);
        const contenders = [
          async () =>
            bare.push(
              (await timed(() => runProcess(pgDump, ['-Fc', '-f', path.join(work, `bare-${round}.dump`)], { env }))).ms,
            ),
          async () => {
            const run = await timed(() =>
              runAction('backup-db', {
                inputs: { 'database-url': dbUrl.toString(), upload: false, 'output-dir': path.join(dir, 'custom') },
              }),
            );
            lastCustom = succeeded(run.value, 'backup-db custom');
            custom.push(run.ms);
            const { timings } = JSON.parse(lastCustom.outputs.metadata) as { timings: Record<string, number> };
            customDump.push(timings.dump);
            customNode.push(run.ms - Number(lastCustom.outputs['duration-ms']));
            customPhases.push(timings);
          },
          async () => {
            const run = await timed(() =>
              runAction('backup-db', {
                inputs: {
                  'database-url': dbUrl.toString(),
                  upload: false,
                  format: 'directory',
                  jobs: 2,
                  compression: fastest,
                  'output-dir': path.join(dir, 'directory'),
                },
              }),
            );
            succeeded(run.value, 'backup-db directory');
            directory.push(run.ms);
          },
        ];
        // Odd rounds in one order, even rounds reversed: a drift in machine load favours no one.
        for (const contender of round % 2 ? contenders : [...contenders].reverse()) await contender();
        log(
          `round ${round}: bare -Fc ${(bare.at(-1)! / 1000).toFixed(2)}s, backup-db custom ${(custom.at(-1)! / 1000).toFixed(2)}s, directory/${fastest} ${(directory.at(-1)! / 1000).toFixed(2)}s (load average ${os.loadavg()[0].toFixed(2)})`,
        );
        loads.push(os.loadavg()[0]);
        rmSync(dir, { recursive: true, force: true });
        rmSync(path.join(work, `bare-${round}.dump`), { force: true });
      }

      // Informational: the same custom backup with the upload, to the loopback stand-in.
      const standIns = await startStandIns();
      let uploadMs = 0;
      try {
        const uploaded = await timed(() =>
          runAction('backup-db', {
            inputs: { 'database-url': dbUrl.toString(), 'output-dir': path.join(work, 'upload') },
            env: standIns.env(9001),
          }),
        );
        succeeded(uploaded.value, 'backup-db with upload');
        uploadMs = uploaded.ms;
      } finally {
        await standIns.stop();
      }

      const bareMs = median(bare);
      const customMs = median(custom);
      const directoryMs = median(directory);
      // Each round's contenders ran back to back: their ratio within a round shrugs off load that drifts between rounds.
      const pairedCustom = median(custom.map((ms, index) => ms / bare[index]));
      const pairedDirectory = median(directory.map((ms, index) => ms / bare[index]));
      const customRatio = customMs / bareMs;
      const directoryRatio = directoryMs / bareMs;
      const metadata = JSON.parse(lastCustom!.outputs.metadata) as {
        size: number;
        rowCounts: Record<string, number>;
        estimatedRowCounts?: Record<string, number>;
      };
      // Where backup-db's time goes beyond pg_dump, median over the rounds of each phase (ms; rowCounts
      // runs beside the dump and the checksum beside the TOC check, so those overlap).
      const phaseNames = [...new Set(customPhases.flatMap((timings) => Object.keys(timings)))];
      const phases = phaseNames
        .map((phase) => `${phase} ${median(customPhases.map((timings) => timings[phase] ?? 0)).toFixed(0)}`)
        .join(', ');
      // Its own pg_dump against the bare one in the same round: whether the counting beside it slows the dump.
      const pairedDump = median(customDump.map((ms, index) => ms / bare[index]));
      const beyondDump = median(custom.map((ms, index) => ms - customDump[index]));
      return {
        metrics: [
          { name: 'database size', value: sizeGb, unit: 'GiB' },
          { name: 'bare pg_dump -Fc', value: bareMs, unit: 'ms' },
          { name: 'backup-db custom (gzip:6)', value: customMs, unit: 'ms' },
          { name: `backup-db directory, 2 jobs, ${fastest}`, value: directoryMs, unit: 'ms' },
          { name: 'custom / bare ratio', value: customRatio, unit: 'x' },
          { name: 'directory / bare ratio', value: directoryRatio, unit: 'x' },
          { name: 'custom / bare, median of per-round ratios', value: pairedCustom, unit: 'x' },
          { name: 'directory / bare, median of per-round ratios', value: pairedDirectory, unit: 'x' },
          {
            name: 'backup-db custom: everything beyond its pg_dump (wall minus the dump phase)',
            value: beyondDump,
            unit: 'ms',
          },
          {
            name: 'backup-db custom: node start and exit (wall minus its duration-ms)',
            value: median(customNode),
            unit: 'ms',
          },
          {
            name: 'backup-db custom: its pg_dump / bare pg_dump -Fc, median of per-round ratios',
            value: pairedDump,
            unit: 'x',
          },
          { name: 'custom dump size', value: metadata.size / 1024 ** 2, unit: 'MiB' },
          { name: 'backup-db custom with upload to the stand-in', value: uploadMs, unit: 'ms' },
        ],
        targets: [
          {
            description: 'backup-db custom format costs at most 1.10x bare pg_dump -Fc',
            met: customRatio <= 1.1,
            actual: `${customRatio.toFixed(3)}x (${customMs.toFixed(0)} vs ${bareMs.toFixed(0)} ms)`,
          },
          {
            description: `backup-db directory (2 jobs, ${fastest}) beats bare pg_dump -Fc wall time`,
            met: directoryMs < bareMs,
            actual: `${directoryRatio.toFixed(3)}x (${directoryMs.toFixed(0)} vs ${bareMs.toFixed(0)} ms)`,
          },
        ],
        notes: [
          `${os.cpus().length} CPUs; 1-minute load average after each round: ${loads.map((load) => load.toFixed(2)).join(', ')}`,
          `backup-db custom phases, median of the rounds (ms, from its metadata timings): ${phases}; beyond its pg_dump it adds ${beyondDump.toFixed(0)} ms, ${((beyondDump / bareMs) * 100).toFixed(1)}% of the bare dump's median`,
          `custom rounds' own pg_dump (ms): ${customDump.join(', ')}; node start and exit (ms): ${customNode.map((ms) => ms.toFixed(0)).join(', ')}`,
          `pg_dump ${major}; rounds (ms): bare ${bare.map((ms) => ms.toFixed(0)).join(', ')}; custom ${custom.map((ms) => ms.toFixed(0)).join(', ')}; directory ${directory.map((ms) => ms.toFixed(0)).join(', ')}`,
          `backup-db counted ${Object.values(metadata.rowCounts).reduce((a, b) => a + b, 0)} rows exactly in the dump's snapshot (${Object.keys(metadata.rowCounts).length} table(s) up to row-count-max-size) and estimated ${Object.keys(metadata.estimatedRowCounts ?? {}).join(', ') || 'none'} from pg_class, and verified the archive; pgbench's filler columns compress about 50:1, so the dump is small and pg_dump's time is mostly reading rows`,
          major < 16
            ? 'pg_dump 15 cannot write zstd archives: the directory run uses gzip:1, the fastest compression it has'
            : "the directory run uses pg_dump's own zstd",
        ],
      };
    } finally {
      await db.drop().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  },
};
export default benchmark;
