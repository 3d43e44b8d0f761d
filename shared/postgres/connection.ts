import pg from 'pg';
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
      throw new InputError(inputName, 'must be a URL such as postgres://user:password@host:5432/dbname; the value given is not a valid URL.');
    }
    if (!URL_PROTOCOLS.includes(url.protocol)) {
      throw new InputError(inputName, `must start with postgres:// or postgresql://; got "${url.protocol}//".`);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!database) throw new InputError(inputName, 'must name a database after the host, e.g. postgres://user@host:5432/dbname.');
    const portText = url.port || process.env.PGPORT || '5432';
    const port = Number(portText);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new InputError(inputName, `has an invalid port "${portText}".`);
    return {
      host: decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || url.searchParams.get('host') || process.env.PGHOST || 'localhost',
      port,
      user: decodeURIComponent(url.username) || process.env.PGUSER || 'postgres',
      password: url.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD,
      database,
      sslmode: url.searchParams.get('sslmode') ?? process.env.PGSSLMODE,
    };
  }
  if (!process.env.PGHOST && !process.env.PGDATABASE) {
    throw new InputError(inputName, 'is required unless the PGHOST/PGDATABASE (and PGUSER, PGPASSWORD, PGPORT) environment variables are set.');
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

/** Environment for pg_dump, pg_restore and psql; replaces any PG* the runner had. */
export function pgToolEnv(target: PgTarget): Record<string, string | undefined> {
  return {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGPASSWORD: target.password,
    PGDATABASE: target.database,
    PGSSLMODE: target.sslmode,
    PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10',
    PGAPPNAME: 'rollback-actions',
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
      return new ActionError(`Cannot reach PostgreSQL at ${where}: connection refused (is the server running and listening on that port?).`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ActionError(`Cannot reach PostgreSQL at ${where}: host "${target.host}" could not be resolved.`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ActionError(`Cannot reach PostgreSQL at ${where}: ${code}.`);
    default:
      if (/timeout/i.test(message)) return new ActionError(`Cannot reach PostgreSQL at ${where}: connection timed out.`);
      return new ActionError(`Cannot connect to PostgreSQL at ${where} as "${target.user}": ${message}`);
  }
}

export interface ConnectOptions {
  applicationName?: string;
  connectTimeoutMs?: number;
}

export async function connect(target: PgTarget, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: sslOption(target.sslmode),
    application_name: options.applicationName ?? 'rollback-actions',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // A dropped connection after connect must surface through the failing query, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw explainConnectionError(target, error);
  }
  return client;
}

/** Runs fn with a connected client and always closes it. */
export async function withClient<T>(target: PgTarget, fn: (client: pg.Client) => Promise<T>, options?: ConnectOptions): Promise<T> {
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
