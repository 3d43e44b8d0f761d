import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runProcess, type RunResult } from '../shared/process.js';
import { initThrowawayCluster, postgresIds, serverBinDir } from './services/postgres.js';
import { freePort, waitFor } from './services/free-port.js';

/**
 * A PostgreSQL cluster of its own with WAL archiving into a pgBackRest stanza (Debian's pgbackrest,
 * a posix repository in a temp dir): what a team that runs pgBackRest has, for the tests of method
 * "pgbackrest". Everything (data directory, repository, pgbackrest.conf, logs, locks) lives in one
 * temp dir owned by the postgres OS user, which runs the server and pgBackRest, as in production.
 */
export interface PgBackRestCluster {
  root: string;
  dataDir: string;
  config: string;
  stanza: string;
  port: number;
  binDir: string;
  password: string;
  /** The command prefix the actions get (pgbackrest-via): run as the postgres OS user. */
  via: string[];
  /** A superuser URL of `database` over TCP (password authentication). */
  url(database?: string): string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** pgbackrest with this stanza and config, as the postgres user. */
  pgbackrest(args: string[], okExitCodes?: number[]): Promise<RunResult>;
  /** pg_ctl as the postgres user. */
  pgCtl(args: string[], okExitCodes?: number[]): Promise<RunResult>;
  running(): Promise<boolean>;
  /** The inputs backup-db and restore-db need to reach this stanza (method pgbackrest). */
  inputs(database?: string): Record<string, string>;
  /** stop-command / start-command for mode "replace", as JSON arrays. */
  stopCommand: string;
  startCommand: string;
  /** archive_command fails from now on (as when the repository is unreachable), until repairArchiving. */
  breakArchiving(): Promise<void>;
  repairArchiving(): Promise<void>;
  destroy(): Promise<void>;
}

const RUN_AS_POSTGRES = ['runuser', '-u', 'postgres', '--'];

export async function startPgBackRestCluster(
  options: { stanza?: string; serverSettings?: string[]; repositoryOptions?: string[] } = {},
): Promise<PgBackRestCluster> {
  if (process.getuid?.() !== 0)
    throw new Error('The pgBackRest tests run the cluster as the postgres OS user, which needs root (runuser).');
  const binDir = serverBinDir();
  const ids = await postgresIds();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ra-pgbackrest-'));
  // initThrowawayCluster's data directory.
  const dataDir = path.join(root, 'data');
  const config = path.join(root, 'pgbackrest.conf');
  const stanza = options.stanza ?? 'app';
  const port = await freePort();
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  for (const dir of ['repo', 'log', 'lock', 'spool']) mkdirSync(path.join(root, dir));
  writeFileSync(
    config,
    [
      '[global]',
      `repo1-path=${path.join(root, 'repo')}`,
      'repo1-retention-full=99',
      `log-path=${path.join(root, 'log')}`,
      `lock-path=${path.join(root, 'lock')}`,
      `spool-path=${path.join(root, 'spool')}`,
      'log-level-file=off',
      'start-fast=y',
      'compress-type=lz4',
      ...(options.repositoryOptions ?? []),
      `[${stanza}]`,
      `pg1-path=${dataDir}`,
      `pg1-port=${port}`,
      `pg1-socket-path=${root}`,
      '',
    ].join('\n'),
  );
  for (const entry of ['repo', 'log', 'lock', 'spool', 'pgbackrest.conf'])
    chownSync(path.join(root, entry), ids.uid, ids.gid);
  const archiveCommand = `pgbackrest --config=${config} --stanza=${stanza} archive-push %p`;
  const pgbackrest = (args: string[], okExitCodes = [0]) =>
    runProcess(
      RUN_AS_POSTGRES[0],
      [...RUN_AS_POSTGRES.slice(1), 'pgbackrest', `--config=${config}`, `--stanza=${stanza}`, ...args],
      { okExitCodes },
    );
  const pgCtl = (args: string[], okExitCodes = [0]) =>
    runProcess(RUN_AS_POSTGRES[0], [...RUN_AS_POSTGRES.slice(1), path.join(binDir, 'pg_ctl'), ...args], {
      okExitCodes,
    });
  const url = (database = 'postgres') =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  };
  const start = ['-D', dataDir, '-l', path.join(root, 'server.log'), '-w', '-t', '60', 'start'];

  await initThrowawayCluster(root, binDir, password);
  const settings = [
    `port = ${port}`,
    `unix_socket_directories = '${root}'`,
    "listen_addresses = '127.0.0.1'",
    'wal_level = replica',
    'archive_mode = on',
    `archive_command = '${archiveCommand}'`,
    'max_connections = 50',
    'fsync = off',
    'synchronous_commit = off',
    'shared_buffers = 64MB',
    ...(options.serverSettings ?? []),
  ];
  writeFileSync(path.join(dataDir, 'postgresql.conf'), `${settings.join('\n')}\n`, { flag: 'a' });
  await pgCtl(start);
  await waitFor(
    'the pgBackRest test cluster',
    async () => ((await query('postgres', 'SELECT 1')).rowCount === 1 ? true : undefined),
    30_000,
    100,
  );
  await pgbackrest(['stanza-create']);

  const cluster: PgBackRestCluster = {
    root,
    dataDir,
    config,
    stanza,
    port,
    binDir,
    password,
    via: RUN_AS_POSTGRES,
    url,
    query,
    pgbackrest,
    pgCtl,
    async running() {
      return (await pgCtl(['status', '-D', dataDir], [0, 3])).exitCode === 0;
    },
    inputs(database = 'postgres') {
      return {
        method: 'pgbackrest',
        'database-url': url(database),
        'pgbackrest-stanza': stanza,
        'pgbackrest-config': config,
        'pgbackrest-via': RUN_AS_POSTGRES.join(' '),
        'archive-timeout': '20s',
      };
    },
    stopCommand: JSON.stringify([
      ...RUN_AS_POSTGRES,
      path.join(binDir, 'pg_ctl'),
      '-D',
      dataDir,
      '-m',
      'fast',
      '-w',
      'stop',
    ]),
    startCommand: JSON.stringify([...RUN_AS_POSTGRES, path.join(binDir, 'pg_ctl'), ...start]),
    async breakArchiving() {
      // As when the repository is gone or unreachable: archive-push runs and fails.
      await query(
        'postgres',
        `ALTER SYSTEM SET archive_command = '${archiveCommand.replace('archive-push', `--repo1-path=${path.join(root, 'missing-repo')} archive-push`)}'`,
      );
      await query('postgres', 'SELECT pg_reload_conf()');
    },
    async repairArchiving() {
      await query('postgres', 'ALTER SYSTEM RESET archive_command');
      await query('postgres', 'SELECT pg_reload_conf()');
    },
    async destroy() {
      await pgCtl(['-D', dataDir, '-m', 'immediate', '-w', 'stop'], [0, 1]).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
