#!/usr/bin/env bash
# Installs, from Debian/Ubuntu packages, what the tests, benchmarks and `npm run demo` need on a
# fresh machine. Idempotent: installs only what is missing. Run as root or with sudo.
#   PostgreSQL server + client (initdb, pg_dump, pgbench), Docker Engine (docker.io: dockerd, which
#   the tests start privately, and its CLI), docker-registry (a private registry for pull tests),
#   docker-compose, busybox (demo images), openssh-server (redeploy over SSH), pgbackrest (physical backups and
#   point-in-time recovery), zstd, age (opening
#   encrypted backups without this suite, as the README shows), git, curl, jq and unzip (the workflows' scripts, the demo),
#   alembic and python3-psycopg2 (migrations-format: alembic runs the team's own alembic; its graph is read with python3's ast),
#   tmux (the rollback-actions command's tests answer its gate from a real terminal session), procps
#   (pgrep: the tests look for processes left running).
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

wanted=(postgresql postgresql-contrib postgresql-client pgbackrest busybox-static openssh-server openssh-client zstd age git curl ca-certificates jq unzip docker-registry alembic python3-psycopg2 tmux procps)
# The tests start their own dockerd (a private data root, socket and swarm), never the system's:
# docker.io brings dockerd, containerd and runc, whether or not a docker CLI is already installed.
if [ ! -x /usr/sbin/dockerd ] && [ ! -x /usr/bin/dockerd ]; then wanted+=(docker.io); fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then wanted+=(docker-compose); fi

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-test-env: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
else
  echo "setup-test-env: all packages present"
fi

for tool in pg_dump initdb busybox sshd docker age pgbackrest dockerd containerd runc docker-registry alembic; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin/$tool" ] || [ -x "/usr/sbin/$tool" ] || {
    echo "setup-test-env: $tool is still missing after installation" >&2
    exit 1
  }
done
echo "setup-test-env: ready"
