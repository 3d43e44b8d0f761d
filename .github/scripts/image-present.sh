#!/usr/bin/env bash
# Is IMAGE:TAG still on the deploy target? On SSH_HOST when set (with SSH_KEY / KNOWN_HOSTS),
# otherwise on the engine this runner reaches; when not present there, whether the registry still
# serves it (a rollback can pull it). Sets the `rows` output: one matrix row as JSON.
set -uo pipefail
source "$(dirname "$0")/drill-rows.sh"
row() {
  drill_row "Image ${IMAGE:-?}:${TAG} available on the target" "$1" "" "$2" | emit_rows
  echo "$1: $2"
}
if [ -z "${IMAGE:-}" ]; then
  row "not run" "set the ROLLBACK_IMAGE variable (e.g. ghcr.io/acme/shop) to check it"
  exit 0
fi
reference="$IMAGE:$TAG"
if [ -n "${SSH_HOST:-}" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  printf '%s\n' "${SSH_KEY:-}" > "$dir/key" && chmod 600 "$dir/key"
  printf '%s\n' "${KNOWN_HOSTS:-}" > "$dir/known_hosts"
  remote() { ssh -i "$dir/key" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$dir/known_hosts" "${SSH_USER:+$SSH_USER@}$SSH_HOST" "$@"; }
  where="on $SSH_HOST"
else
  remote() { "$@"; }
  where="on the runner's engine"
fi
if remote docker image inspect --format '{{.Id}}' "$reference" > /dev/null 2>&1; then
  row passed "present $where"
elif remote docker manifest inspect "$reference" > /dev/null 2>&1; then
  row passed "not present $where, but the registry serves it (a rollback pulls it)"
else
  row failed "missing $where and not pullable: a rollback to $TAG would fail"
  exit 1
fi
