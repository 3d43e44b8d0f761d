#!/usr/bin/env bash
# Installs, from Debian/Ubuntu packages, what the tests, benchmarks and `npm run demo` need on a
# fresh machine. Idempotent: installs only what is missing. Run as root or with sudo.
#   PostgreSQL server + client (initdb, pg_dump, pgbench), a Docker-API container engine (podman
#   with runc when no Docker engine is present), docker-compose, busybox (demo images), openssh-server
#   (redeploy over SSH), pgbackrest (physical backups and point-in-time recovery), zstd, git, curl, jq and unzip (the workflows' scripts, the demo).
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

wanted=(postgresql postgresql-contrib postgresql-client pgbackrest busybox-static openssh-server openssh-client zstd git curl ca-certificates jq unzip)
# A container engine: an existing Docker engine is used as is; otherwise podman's API service.
if ! docker version >/dev/null 2>&1; then wanted+=(podman runc); fi
if ! command -v docker >/dev/null 2>&1; then wanted+=(docker.io); fi
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

# docker.io's daemon is not needed (podman serves the API) and cannot run in most sandboxes.
for tool in pg_dump initdb busybox sshd docker pgbackrest; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin/$tool" ] || [ -x "/usr/sbin/$tool" ] || {
    echo "setup-test-env: $tool is still missing after installation" >&2
    exit 1
  }
done
echo "setup-test-env: ready"
