import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { findExecutable, runProcess } from '../process.js';

/**
 * Finds PostgreSQL client programs (pg_dump, pg_restore, psql) whose major version is at least the
 * server's: pg_dump refuses newer servers ("aborting because of server version mismatch"), and
 * finding that out before anything is dumped is the whole point.
 */
export interface PgClientTool {
  path: string;
  /** "15.4" */
  version: string;
  major: number;
}

export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall';

/** Directories searched when no pg-bin-dir is given: PATH, then every /usr/lib/postgresql/<major>/bin, newest first. */
export function candidateDirectories(root = '/usr/lib/postgresql'): string[] {
  const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const versioned = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
        .map((name) => path.join(root, name, 'bin'))
    : [];
  return [...new Set([...pathDirs, ...versioned])];
}

/** Debian's /usr/bin/pg_dump -> ../share/postgresql-common/pg_wrapper. */
function isWrapper(executable: string): boolean {
  try {
    return path.basename(realpathSync(executable)) === 'pg_wrapper';
  } catch {
    return false;
  }
}

// restore-db looks up pg_restore for the archive and again for the safety backup: one process
// start per executable is enough. Only answers are kept; a probe that found no version (a timeout,
// an exit code 1) is run again next time, as it was before there was a cache.
const probes = new Map<string, Promise<PgClientTool | undefined>>();

export function probeVersion(executable: string): Promise<PgClientTool | undefined> {
  const cached = probes.get(executable);
  if (cached) return cached;
  const probe = runProbe(executable);
  probes.set(executable, probe);
  const forget = () => {
    if (probes.get(executable) === probe) probes.delete(executable);
  };
  probe.then((tool) => {
    if (!tool) forget();
  }, forget);
  return probe;
}

async function runProbe(executable: string): Promise<PgClientTool | undefined> {
  const result = await runProcess(executable, ['--version'], { okExitCodes: [0, 1], timeoutMs: 10_000 }).catch(
    () => undefined,
  );
  const match = result?.exitCode === 0 ? /(\d+)(?:\.(\d+))?/.exec(result.stdout.replace(/^[^)]*\)/, '')) : null;
  if (!match) return undefined;
  return {
    path: executable,
    version: match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`,
    major: Number(match[1]),
  };
}

/**
 * The newest `tool` found, which must be at least `serverMajor`. With `binDir`, only that
 * directory is used (the pg-bin-dir input). Throws an ActionError that says what to install.
 */
export async function findPgTool(tool: PgToolName, serverMajor: number, binDir?: string): Promise<PgClientTool> {
  const dirs = binDir ? [binDir] : candidateDirectories();
  const all = dirs
    .map((dir) => findExecutable(path.join(dir, tool)))
    .filter((file): file is string => file !== undefined);
  // Debian's pg_wrapper (/usr/bin/pg_dump) is a Perl script that runs one of the
  // /usr/lib/postgresql/*/bin binaries, which are candidates themselves: probing it would only
  // cost a Perl start per probe and per call.
  const real = all.filter((file) => !isWrapper(file));
  const executables = real.length > 0 ? real : all;
  // Probed concurrently: each probe is a process start.
  const found = (await Promise.all(executables.map((executable) => probeVersion(executable)))).filter(
    (probed): probed is PgClientTool => probed !== undefined,
  );
  const suitable = found.filter((candidate) => candidate.major >= serverMajor).sort((a, b) => b.major - a.major)[0];
  if (suitable) return suitable;
  const seen = found.length
    ? `found ${found.map((candidate) => `${candidate.path} (${candidate.version})`).join(', ')}`
    : `no ${tool} found`;
  throw new ActionError(
    `The server runs PostgreSQL ${serverMajor}, which needs ${tool} ${serverMajor} or newer; ${seen}${binDir ? ` in pg-bin-dir "${binDir}"` : ''}.`,
    {
      hint:
        `On ubuntu runners, add a step before this one: ` +
        `sudo apt-get install -y postgresql-common && sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && ` +
        `sudo apt-get install -y postgresql-client-${serverMajor}` +
        ` (it installs to /usr/lib/postgresql/${serverMajor}/bin, which is searched), or point pg-bin-dir at a matching client.`,
    },
  );
}
