import path from 'node:path';
import { rmSync } from 'node:fs';
import { runProcess } from '../shared/process.js';
import { startAction, runAction } from '../testkit/action-harness.js';
import { startPgBackRestCluster } from '../testkit/pgbackrest-cluster.js';

const gib = Number(process.env.GIB ?? '0.25');
const cluster = await startPgBackRestCluster({ serverSettings: ['max_wal_size = 4GB', 'checkpoint_timeout = 30min'] });
try {
  await cluster.query('postgres', 'CREATE DATABASE bench');
  const env = { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'postgres', PGPASSWORD: cluster.password, PGDATABASE: 'bench' };
  await runProcess(path.join(cluster.binDir, 'pgbench'), ['-i', '-s', String(Math.round(gib * 68)), '-q', 'bench'], { env });
  await cluster.pgbackrest(['backup', '--type=full']);
  await runProcess(path.join(cluster.binDir, 'pgbench'), ['-n', '-T', '5', '-c', '2', 'bench'], { env });
  const b = await runAction('backup-db', { inputs: { ...cluster.inputs('bench'), label: 'p1' } });
  const name = b.outputs['restore-point'], lsn = b.outputs['restore-point-lsn'];
  for (let round = 0; round < Number(process.env.ROUNDS ?? 2); round++) {
    await runProcess('sync', []);
    const t0 = Date.now();
    const c = await timedCheck();
    console.log(`bare pgbackrest check ${c} ms`);
    await runProcess('sync', []);
    const start = Date.now();
    const running = startAction('restore-db', { inputs: { ...cluster.inputs('bench'), 'restore-point': name, 'restore-point-lsn': lsn, 'side-cluster': 'remove', 'recovery-timeout': '60m' } });
    let seen = 0;
    const timer = setInterval(() => {
      const out = running.output();
      const lines = out.slice(seen).split('\n');
      const rest = lines.pop()!;
      seen = out.length - rest.length;
      for (const l of lines) if (!l.startsWith('::set-output') && !l.startsWith('{')) console.log(`${String(Date.now() - start).padStart(6)} ${l.slice(0, 160)}`);
    }, 10);
    const r = await running.result;
    clearInterval(timer);
    console.log(`total ${Date.now() - start} ms exit ${r.exitCode} restore-duration-ms ${r.outputs['restore-duration-ms']} duration-ms ${r.outputs['duration-ms']}`);
    void t0;
  }
  async function timedCheck() { const s = Date.now(); await cluster.pgbackrest(['check']); return Date.now() - s; }
} finally {
  await cluster.destroy();
}
