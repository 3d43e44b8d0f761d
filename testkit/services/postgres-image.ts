import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findExecutable, runProcess } from '../../shared/process.js';
import {
  copyLibraries,
  hashInputs,
  imageBuildLabel,
  installBusybox,
  rootfsTarball,
  sharedLibraries,
} from './demo-images.js';

/**
 * A PostgreSQL server image built from this machine's own PostgreSQL installation, for workflow
 * `services:` containers run by the local runner (there is no registry to pull postgres:16 from).
 * It behaves like the official image where workflows rely on it: POSTGRES_PASSWORD, POSTGRES_USER,
 * POSTGRES_DB, and the port in PGPORT (host networking), and it answers pg_isready once ready.
 */
export const POSTGRES_SERVICE_IMAGE = 'localhost/rollback-postgres-service';
const BUILD_LABEL = 'io.rollback-actions.postgres-build';

const ENTRYPOINT = `#!/bin/sh
set -e
export PGDATA=/tmp/pgdata
export PATH="$PG_BIN:$PATH"
: "\${POSTGRES_USER:=postgres}"
: "\${POSTGRES_DB:=$POSTGRES_USER}"
: "\${PGPORT:=5432}"
if [ -z "$POSTGRES_PASSWORD" ]; then echo "POSTGRES_PASSWORD is required" >&2; exit 1; fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-sync >/tmp/initdb.log
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    postgres --single -D "$PGDATA" -c listen_addresses='' postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB";
SQL
  fi
fi
exec postgres -D "$PGDATA" -p "$PGPORT" -k /tmp -c listen_addresses='*' -c fsync=off -c synchronous_commit=off
`;

async function librariesOf(binaries: string[]): Promise<string[]> {
  const libraries = new Set<string>();
  for (const binary of binaries) for (const library of await sharedLibraries(binary)) libraries.add(library);
  return [...libraries].sort();
}

/** Builds (once per machine and PostgreSQL build) and returns the image reference. */
export async function buildPostgresServiceImage(dockerHost: string, pgBinDir: string): Promise<string> {
  const env = { DOCKER_HOST: dockerHost };
  const major = path.basename(path.dirname(pgBinDir));
  const reference = `${POSTGRES_SERVICE_IMAGE}:${major}`;
  const binaries = ['postgres', 'initdb', 'pg_ctl', 'pg_isready', 'psql', 'pg_dump'].map((name) =>
    path.join(pgBinDir, name),
  );
  const libraries = await librariesOf(binaries);
  // ENTRYPOINT + 'path-env-pghost', then each file's (absolute) path and contents: the label images built before carry.
  const hash = hashInputs([...binaries, ...libraries], `${ENTRYPOINT}path-env-pghost`);
  if ((await imageBuildLabel(reference, env, BUILD_LABEL)) === hash) return reference;

  const busybox = findExecutable('busybox', ['/bin', '/usr/bin']);
  if (!busybox)
    throw new Error('busybox is not installed (Debian package busybox-static). Run scripts/setup-test-env.sh.');
  const tarball = await rootfsTarball(`postgres-${major}`, hash, async (root) => {
    const installRoot = path.dirname(pgBinDir);
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    chmodSync(path.join(root, 'tmp'), 0o1777);
    installBusybox(root, busybox, ['sh', 'cat', 'echo', 'rm', 'ls', 'sleep', 'mkdir']);
    cpSync(installRoot, path.join(root, installRoot), { recursive: true, dereference: true });
    const shareDir = `/usr/share/postgresql/${major}`;
    cpSync(shareDir, path.join(root, shareDir), { recursive: true, dereference: true });
    cpSync('/usr/share/zoneinfo', path.join(root, 'usr/share/zoneinfo'), { recursive: true, dereference: true });
    copyLibraries(root, libraries);
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    writeFileSync(
      path.join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/tmp:/bin/sh\n',
    );
    writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\npostgres:x:999:\n');
    writeFileSync(path.join(root, 'entrypoint.sh'), ENTRYPOINT, { mode: 0o755 });
  });
  await runProcess(
    'docker',
    [
      'import',
      '--change',
      `ENV PG_BIN=${pgBinDir}`,
      // Healthchecks (--health-cmd pg_isready) and `docker exec ... psql` run with the image's PATH,
      // and find the server's socket in /tmp, as the official image's tools find theirs.
      '--change',
      `ENV PATH=${pgBinDir}:/bin`,
      '--change',
      'ENV PGHOST=/tmp',
      '--change',
      `LABEL ${BUILD_LABEL}=${hash}`,
      '--change',
      'USER 999',
      '--change',
      'CMD ["/bin/sh", "/entrypoint.sh"]',
      tarball,
      reference,
    ],
    { env, timeoutMs: 300_000 },
  );
  return reference;
}
