import pg from 'pg';
import { cancellation, journal } from '../cancellation.js';
import { ActionError, InputError } from '../errors.js';
import { maskUrlCredentials, maskValue } from '../secrets.js';

/**
 * Where a PostgreSQL database is, from a `database-url` input or the standard PG* variables, and how
 * to reach it from this process (pg) and from pg_dump/psql (environment, never argv: a password on a
 * command line is visible to every user of the machine).
 */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  sslmode?: string;
}

const URL_PROTOCOLS = ['postgres:', 'postgresql:'];

/** Reads a target from a URL (masking its password first) or, when the URL is empty, from PG* env. */
export function resolvePgTarget(databaseUrl: string | undefined, inputName = 'database-url'): PgTarget {
  if (databaseUrl) {
    maskUrlCredentials(databaseUrl);
    let url: URL;
    try {
      url = new URL(databaseUrl);
    } catch {
      throw new InputError(
        inputName,
        'must be a URL such as postgres://user:password@host:5432/dbname; the value given is not a valid URL.',
      );
    }
    if (!URL_PROTOCOLS.includes(url.protocol)) {
      throw new InputError(inputName, `must start with postgres:// or postgresql://; got "${url.protocol}//".`);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!database)
      throw new InputError(inputName, 'must name a database after the host, e.g. postgres://user@host:5432/dbname.');
    const portText = url.port || process.env.PGPORT || '5432';
    const port = Number(portText);
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      throw new InputError(inputName, `has an invalid port "${portText}".`);
    return {
      host:
        decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) ||
        url.searchParams.get('host') ||
        process.env.PGHOST ||
        'localhost',
      port,
      user: decodeURIComponent(url.username) || process.env.PGUSER || 'postgres',
      password: url.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD,
      database,
      sslmode: url.searchParams.get('sslmode') ?? process.env.PGSSLMODE,
    };
  }
  if (!process.env.PGHOST && !process.env.PGDATABASE) {
    throw new InputError(
      inputName,
      'is required unless the PGHOST/PGDATABASE (and PGUSER, PGPASSWORD, PGPORT) environment variables are set.',
    );
  }
  maskValue(process.env.PGPASSWORD);
  return {
    host: process.env.PGHOST || 'localhost',
    port: Number(process.env.PGPORT || 5432),
    user: process.env.PGUSER || 'postgres',
    password: process.env.PGPASSWORD,
    database: process.env.PGDATABASE || process.env.PGUSER || 'postgres',
    sslmode: process.env.PGSSLMODE,
  };
}

/** The same server, another database (scratch databases, restores into a new database). */
export function withDatabase(target: PgTarget, database: string): PgTarget {
  return { ...target, database };
}

/** How the target is shown to people: never with its password. */
export function describeTarget(target: PgTarget): string {
  return `${target.user}@${target.host}:${target.port}/${target.database}`;
}

/**
 * How often a session checks that its client is still there while it runs a statement
 * (client_connection_check_interval, PostgreSQL 14+): a runner killed with -9 cannot cancel its
 * statements, and without the check the server runs them to the end, holding their locks.
 */
export const CLIENT_CHECK_INTERVAL_MS = 1000;
const CLIENT_CHECK_MIN_VERSION = 140000;

/** server_version_num per host:port, learnt at connect, for the settings the client programs get. */
const serverVersions = new Map<string, number>();
const serverKey = (target: PgTarget) => `${target.host}:${target.port}`;

/**
 * Environment for pg_dump, pg_restore and psql; replaces any PG* the runner had. Their sessions
 * get the same connection check as ours, once a connection has told us the server is 14 or newer.
 */
export function pgToolEnv(
  target: PgTarget,
  settings: { applicationName?: string; options?: string } = {},
): Record<string, string | undefined> {
  const options = [
    process.env.PGOPTIONS,
    settings.options,
    (serverVersions.get(serverKey(target)) ?? 0) >= CLIENT_CHECK_MIN_VERSION
      ? `-c client_connection_check_interval=${CLIENT_CHECK_INTERVAL_MS}`
      : undefined,
  ].filter(Boolean);
  return {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGPASSWORD: target.password,
    PGDATABASE: target.database,
    PGSSLMODE: target.sslmode,
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10',
    PGAPPNAME: settings.applicationName ?? 'rollback-actions',
    PGOPTIONS: options.length ? options.join(' ') : undefined,
  };
}

function sslOption(sslmode: string | undefined): pg.ClientConfig['ssl'] {
  if (!sslmode || sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer') return undefined;
  if (sslmode === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true };
}

/** Turns driver errors into sentences that say what to check, without the password. */
export function explainConnectionError(target: PgTarget, error: unknown): ActionError {
  const where = `${target.host}:${target.port}`;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case '28P01':
    case '28000':
      return new ActionError(`PostgreSQL at ${where} rejected user "${target.user}": ${message}.`, {
        hint: 'Check the user and password in database-url (or PGUSER/PGPASSWORD).',
      });
    case '3D000':
      return new ActionError(`Database "${target.database}" does not exist on the PostgreSQL server at ${where}.`, {
        hint: 'Check the database name at the end of database-url.',
      });
    case 'ECONNREFUSED':
      return new ActionError(
        `Cannot reach PostgreSQL at ${where}: connection refused (is the server running and listening on that port?).`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ActionError(`Cannot reach PostgreSQL at ${where}: host "${target.host}" could not be resolved.`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ActionError(`Cannot reach PostgreSQL at ${where}: ${code}.`);
    default:
      if (/timeout/i.test(message))
        return new ActionError(`Cannot reach PostgreSQL at ${where}: connection timed out.`);
      return new ActionError(`Cannot connect to PostgreSQL at ${where} as "${target.user}": ${message}`);
  }
}

export interface ConnectOptions {
  applicationName?: string;
  connectTimeoutMs?: number;
}

/** Every open session of this step, with its backend pid, so a cancellation can cancel its statements. */
const openSessions = new Map<pg.Client, { target: PgTarget; pid: number }>();
let unregisterCanceller: (() => void) | undefined;

/**
 * Cancels the statements our sessions are running (pg_cancel_backend, from a new session on each
 * server): a transaction in progress rolls back, and the code that was waiting on the statement
 * gets error 57014 and goes through its own error handling (rollback, unlock, disconnect).
 */
async function cancelRunningStatements(): Promise<void> {
  const byServer = new Map<string, { target: PgTarget; pids: number[] }>();
  for (const { target, pid } of openSessions.values()) {
    const key = `${serverKey(target)}/${target.user}/${target.database}`;
    const entry = byServer.get(key) ?? { target, pids: [] };
    entry.pids.push(pid);
    byServer.set(key, entry);
  }
  await Promise.allSettled(
    [...byServer.values()].map(async ({ target, pids }) => {
      const client = newClient(target, 'rollback-actions cancel', 3000);
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ pid: number; query: string; cancelled: boolean }>(
          "SELECT pid, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query, pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND state = 'active'",
          [pids],
        );
        for (const row of rows)
          if (row.cancelled)
            journal.cleanup(`cancelled the statement database session ${row.pid} was running (${row.query})`);
      } catch (error) {
        journal.cleanup(
          `could not cancel the statements of database sessions ${pids.join(', ')}: ${(error as Error).message}; they end when this process exits`,
        );
      } finally {
        await client.end().catch(() => undefined);
      }
    }),
  );
}

function newClient(target: PgTarget, applicationName: string, connectTimeoutMs: number): pg.Client {
  return new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: sslOption(target.sslmode),
    application_name: applicationName,
    connectionTimeoutMillis: connectTimeoutMs,
  });
}

export async function connect(target: PgTarget, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = newClient(target, options.applicationName ?? 'rollback-actions', options.connectTimeoutMs ?? 10_000);
  // A dropped connection after connect must surface through the failing query, not crash the process.
  client.on('error', () => undefined);
  let session: { pid: number; version: number };
  try {
    await client.connect();
    // One round trip: the backend pid (to cancel its statements) and the connection check, where the server has it.
    const { rows } = await client.query<{ pid: number; version: number }>(
      `SELECT pg_backend_pid() AS pid, current_setting('server_version_num')::int AS version,
              CASE WHEN current_setting('server_version_num')::int >= ${CLIENT_CHECK_MIN_VERSION} THEN set_config('client_connection_check_interval', '${CLIENT_CHECK_INTERVAL_MS}', false) END AS check_interval`,
    );
    session = rows[0];
  } catch (error) {
    await client.end().catch(() => undefined);
    throw explainConnectionError(target, error);
  }
  serverVersions.set(serverKey(target), session.version);
  openSessions.set(client, { target, pid: session.pid });
  client.once('end', () => openSessions.delete(client));
  unregisterCanceller ??= cancellation.onCancel(cancelRunningStatements);
  return client;
}

/** Runs fn with a connected client and always closes it. */
export async function withClient<T>(
  target: PgTarget,
  fn: (client: pg.Client) => Promise<T>,
  options?: ConnectOptions,
): Promise<T> {
  const client = await connect(target, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Server version as "15.4" and its major number. */
export async function serverVersion(client: pg.Client): Promise<{ text: string; major: number; num: number }> {
  const { rows } = await client.query<{ server_version: string; server_version_num: string }>(
    "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num",
  );
  const num = Number(rows[0].server_version_num);
  return { text: rows[0].server_version.split(' ')[0], major: Math.floor(num / 10000), num };
}

/** Quotes an identifier for SQL text (database names in CREATE/DROP DATABASE cannot be parameters). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
