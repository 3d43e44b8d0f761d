#!/usr/bin/env bash
# The rollback's timeline (each stage's duration, from/to, backup, migrations reverted, smoke
# results) and an incident record ready to paste, from the jobs' outputs in the environment.
# Writes them to the job summary and sets the outcome, detection-to-healthy-seconds and message
# outputs.
set -euo pipefail

seconds_between() { # ISO timestamps -> seconds (one decimal)
  local from to
  from=$(date -d "$1" +%s%3N) to=$(date -d "$2" +%s%3N)
  awk -v ms="$((to - from))" 'BEGIN { printf "%.1f", ms / 1000 }'
}
ms_to_s() { [ -n "${1:-}" ] && awk -v ms="$1" 'BEGIN { printf "%.1f s", ms / 1000 }' || echo "–"; }

if [ "${DRY_RUN:-false}" = "true" ]; then
  outcome=dry-run
elif [ "${PLAN_RESULT}" = "success" ] && [ "${PROCEED:-}" = "false" ]; then
  outcome=nothing-to-do
elif [ "${ROLLBACK_RESULT:-}" = "success" ] && [ "${SMOKE_PASSED:-}" = "true" ]; then
  outcome=rolled-back
else
  outcome=failed
fi

to_healthy=""
if [ "$outcome" = "rolled-back" ] && [ -n "${HEALTHY_AT:-}" ] && [ -n "${DETECTED_AT:-}" ]; then
  to_healthy=$(seconds_between "$DETECTED_AT" "$HEALTHY_AT")
fi

reverted="none"
if [ -n "${REVERTED:-}" ] && [ "${REVERTED}" != "[]" ]; then
  reverted=$(jq -r 'map("\(.version) \(.name)") | join(", ")' <<<"$REVERTED")
fi
smoke="–"
if [ -n "${SMOKE_CHECKS:-}" ]; then
  smoke=$(jq -r '"\(map(select(.passed)) | length) of \(length) checks passed"' <<<"$SMOKE_CHECKS")
fi
database_step="not needed (image-only)"
database_time="–"
case "${STRATEGY:-}" in
  # The versions the executing action read before and after, not the plan's figures.
  down-migrations) database_step="reverted: $reverted (schema ${INITIAL_SCHEMA:-?} → ${FINAL_SCHEMA:-?})"; database_time=$(ms_to_s "${DOWN_MS:-}") ;;
  restore-backup) database_step="restored the latest pre-deploy backup of ${ENVIRONMENT} (schema ${INITIAL_SCHEMA:-?} → ${FINAL_SCHEMA:-?})"; database_time=$(ms_to_s "${RESTORE_MS:-}") ;;
esac

case "$outcome" in
  rolled-back) headline="✅ ${ENVIRONMENT} rolled back from ${CURRENT_TAG} to ${TARGET_TAG}" ;;
  nothing-to-do) headline="ℹ️ ${ENVIRONMENT}: nothing to roll back (${TARGET_TAG:-the target} is already running)" ;;
  dry-run) headline="📝 Dry run: ${ENVIRONMENT} would roll back from ${CURRENT_TAG:-?} to ${TARGET_TAG:-?} (${STRATEGY:-?})" ;;
  *) headline="❌ Rollback of ${ENVIRONMENT} failed (plan: ${PLAN_RESULT}, backup: ${BACKUP_RESULT:-skipped}, rollback: ${ROLLBACK_RESULT:-skipped})" ;;
esac

{
  echo "## $headline"
  echo
  [ -n "${VERDICT:-}" ] && { echo "> ${VERDICT}"; echo; }
  echo "| Stage | Result | Duration | Details |"
  echo "|---|---|---|---|"
  echo "| Plan | ${PLAN_RESULT} | – | ${CURRENT_TAG:-?} → ${TARGET_TAG:-?}, strategy ${STRATEGY:-?} |"
  echo "| Backup | ${BACKUP_RESULT:-skipped} | $(ms_to_s "${BACKUP_MS:-}") | ${BACKUP_ARTIFACT:-–}${BACKUP_CHECKSUM:+ (sha256 \`${BACKUP_CHECKSUM}\`, ${BACKUP_SIZE:-?} bytes)} |"
  echo "| Database | ${ROLLBACK_RESULT:-skipped} | ${database_time} | ${database_step} |"
  echo "| Redeploy | ${REDEPLOY_OUTCOME:-–} | $(ms_to_s "${REDEPLOY_MS:-}") | running ${RUNNING_TAG:-?}${DEPLOYMENT_ID:+, deployment ${DEPLOYMENT_ID}} |"
  echo "| Smoke test | ${SMOKE_PASSED:+$([ "$SMOKE_PASSED" = true ] && echo passed || echo failed)} | $(ms_to_s "${SMOKE_MS:-}") | ${smoke} |"
  echo
  [ -n "$to_healthy" ] && { echo "**Detection to healthy: ${to_healthy} s** (detected ${DETECTED_AT}, healthy ${HEALTHY_AT})"; echo; }
  echo "<details><summary>Incident record (paste into the incident document)</summary>"
  echo
  echo '```text'
  echo "Rollback of ${ENVIRONMENT}: ${outcome}"
  echo "Reason:      ${REASON:-not given}"
  echo "Detected:    ${DETECTED_AT:-?}"
  echo "Started:     ${STARTED_AT:-?}"
  echo "Healthy:     ${HEALTHY_AT:-not reached}${to_healthy:+ (${to_healthy} s after detection)}"
  echo "From → to:   ${CURRENT_TAG:-?} → ${TARGET_TAG:-?}"
  echo "Strategy:    ${STRATEGY:-?}"
  echo "Database:    ${database_step}"
  echo "Backup:      ${BACKUP_ARTIFACT:-none}${BACKUP_CHECKSUM:+ sha256:${BACKUP_CHECKSUM}}"
  echo "Smoke test:  ${smoke}"
  echo "Run:         ${RUN_URL:-?}"
  echo '```'
  echo
  echo "</details>"
} >> "${GITHUB_STEP_SUMMARY}"

message=$(printf '%s' "${headline}${to_healthy:+ in ${to_healthy} s from detection}. ${REASON:-}" | tr '\n' ' ')
{
  echo "outcome=$outcome"
  echo "detection-to-healthy-seconds=$to_healthy"
  echo "message=$message"
} >> "${GITHUB_OUTPUT}"
echo "$headline"
