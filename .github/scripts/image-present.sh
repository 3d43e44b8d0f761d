#!/usr/bin/env bash
# Is IMAGE:TAG still on the deploy target? On SSH_HOST when set (with SSH_PORT / SSH_KEY /
# KNOWN_HOSTS, which come from the same environment as the host), otherwise on the engine this
# runner reaches; when not present there, whether the registry still serves it (a rollback can
# pull it). Sets the outputs image, result (present, pullable, missing or not-configured) and details.
set -uo pipefail
reference="${IMAGE:-}:${TAG}"
answer() { # result details
  {
    echo "image=$reference"
    echo "result=$1"
    echo "details=$2"
  } >> "$GITHUB_OUTPUT"
  echo "$1: $2"
}
if [ -z "${IMAGE:-}" ]; then
  answer not-configured "set the ROLLBACK_IMAGE variable (e.g. ghcr.io/acme/shop) to check it"
  exit 0
fi
if [ -n "${SSH_HOST:-}" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  printf '%s\n' "${SSH_KEY:-}" > "$dir/key" && chmod 600 "$dir/key"
  printf '%s\n' "${KNOWN_HOSTS:-}" > "$dir/known_hosts"
  remote() { ssh -p "${SSH_PORT:-22}" -i "$dir/key" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$dir/known_hosts" "${SSH_USER:+$SSH_USER@}$SSH_HOST" "$@"; }
  where="on $SSH_HOST"
else
  remote() { "$@"; }
  where="on the runner's engine"
fi
if remote docker image inspect --format '{{.Id}}' "$reference" > /dev/null 2>&1; then
  answer present "present $where"
elif remote docker manifest inspect "$reference" > /dev/null 2>&1; then
  answer pullable "not present $where, but the registry serves it (a rollback pulls it)"
else
  answer missing "missing $where and not pullable: a rollback to $TAG would fail"
  exit 1
fi
