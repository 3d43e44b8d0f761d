import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runProcess } from '../../shared/process.js';
import { freePort, waitFor } from './free-port.js';

/**
 * A real PostgreSQL server for tests: the one DATABASE_URL (or PGHOST...) points at, or a throwaway
 * cluster made with initdb in a temp dir. Tests never share a database: see createDatabase().
 */
export interface PostgresService {
  /** Superuser URL of the maintenance database ("postgres"). */
  adminUrl: string;
  /** Directory with initdb, pg_ctl, pg_dump... of the server's version. */
  binDir: string;
  /** Server data directory when we own the cluster (for tests that need to stop/start it). */
  dataDir?: string;
  stop(): Promise<void>;
}

export function serverBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const versions = existsSync(base)
    ? readdirSync(base).filter((name) => existsSync(path.join(base, name, 'bin', 'initdb')))
    : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error(
      'No PostgreSQL server found under /usr/lib/postgresql/*/bin and DATABASE_URL is not set. Run scripts/setup-test-env.sh.',
    );
  }
  return path.join(base, versions[0], 'bin');
}

function urlFromEnvironment(): string | undefined {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (!process.env.PGHOST) return undefined;
  const url = new URL('postgres://localhost/postgres');
  url.hostname = process.env.PGHOST;
  url.port = process.env.PGPORT ?? '5432';
  url.username = process.env.PGUSER ?? 'postgres';
  if (process.env.PGPASSWORD) url.password = process.env.PGPASSWORD;
  url.pathname = `/${process.env.PGDATABASE ?? 'postgres'}`;
  return url.toString();
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs a server binary as the postgres OS user when we are root (initdb refuses root). */
export async function asPostgresUser(command: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await runProcess('runuser', ['-u', 'postgres', '--', command, ...args]);
  else await runProcess(command, args);
}

/** The postgres OS user's uid and gid: the files of a cluster we run as root must be its own. */
export async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    runProcess('id', ['-u', 'postgres']),
    runProcess('id', ['-g', 'postgres']),
  ]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * initdb of a throwaway cluster in <root>/data, owned by the postgres OS user when we are root:
 * trust on the socket, the superuser "postgres" with `password` over TCP, UTF8 and the C locale,
 * no fsync (it lives for one test run). Returns the data directory.
 */
export async function initThrowawayCluster(root: string, binDir: string, password: string): Promise<string> {
  const dataDir = path.join(root, 'data');
  const pwfile = path.join(root, 'pwfile');
  writeFileSync(pwfile, `${password}\n`);
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds();
    for (const owned of [root, pwfile]) chownSync(owned, uid, gid);
  }
  chmodSync(root, 0o700);
  await asPostgresUser(path.join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  return dataDir;
}

export async function startPostgres(): Promise<PostgresService> {
  const binDir = serverBinDir();
  const external = urlFromEnvironment();
  if (external) {
    if (!(await answers(external))) throw new Error(`The PostgreSQL server in DATABASE_URL/PGHOST does not answer.`);
    return { adminUrl: external, binDir, stop: async () => undefined };
  }

  const root = mkdtempSync(path.join(os.tmpdir(), 'rollback-pg-'));
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const port = await freePort();
  const dataDir = await initThrowawayCluster(root, binDir, password);
  // Durability settings off: these clusters live for one test run. Prepared transactions on: the
  // fault tests hold locks with one, as an application using two-phase commit does.
  const serverOptions = [
    `-p ${port}`,
    `-k ${root}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
    '-c shared_buffers=256MB',
    '-c max_prepared_transactions=10',
  ].join(' ');
  await asPostgresUser(path.join(binDir, 'pg_ctl'), [
    '-D',
    dataDir,
    '-l',
    path.join(root, 'server.log'),
    '-o',
    serverOptions,
    '-w',
    '-t',
    '60',
    'start',
  ]);
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await waitFor('the throwaway PostgreSQL server', async () => ((await answers(adminUrl)) ? true : undefined), 30_000);
  return {
    adminUrl,
    binDir,
    dataDir,
    async stop() {
      await asPostgresUser(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
        () => undefined,
      );
      rmSync(root, { recursive: true, force: true });
    },
  };
}
