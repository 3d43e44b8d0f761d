#!/usr/bin/env bash
# Gathers the drill's rows (scenario, result, duration, details) into the runbook's test matrix:
# the job summary, $RUNNER_TEMP/rollback-drill/{matrix.json,matrix.md} (the artifact), and the
# `passed` and `matrix` outputs.
set -euo pipefail
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out="$RUNNER_TEMP/rollback-drill"
mkdir -p "$out"
matrix=$(jq -cn --arg now "$now" \
  --argjson database "${DATABASE_ROWS:-[]}" --argjson image "${IMAGE_ROWS:-[]}" --argjson staging "${STAGING_ROWS:-[]}" \
  '$database + $image + $staging | map(. + {"last-tested": $now})')
if [ "$(jq length <<<"$matrix")" -eq 0 ]; then
  # The database job failed before it could report (no backup, no deployments...).
  matrix=$(jq -cn --arg now "$now" --arg result "${DATABASE_RESULT:-failure}" \
    '[{scenario: "Drill set-up (target, backup)", result: "failed", "duration-s": null, details: "database job: \($result)", "last-tested": $now}]')
fi
passed=$(jq -r 'if all(.result == "passed" or .result == "not run") and any(.result == "passed") then "true" else "false" end' <<<"$matrix")
[ "${DATABASE_RESULT:-}" = "failure" ] && passed=false
echo "$matrix" | jq . > "$out/matrix.json"
{
  if [ "$passed" = true ]; then echo "## ✅ Rollback drill passed: ${ENVIRONMENT}"; else echo "## ❌ Rollback drill failed: ${ENVIRONMENT}"; fi
  echo
  echo "| Scenario | Last tested | Result | Duration | Details |"
  echo "|---|---|---|---|---|"
  jq -r '.[] | "| \(.scenario) | \(."last-tested") | \(if .result == "passed" then "✅ passed" elif .result == "failed" then "❌ failed" else "➖ not run" end) | \(if ."duration-s" == null then "–" else "\(."duration-s") s" end) | \(.details) |"' <<<"$matrix"
  echo
  echo "Run: ${RUN_URL:-}"
} > "$out/matrix.md"
cat "$out/matrix.md" >> "$GITHUB_STEP_SUMMARY"
{
  echo "passed=$passed"
  echo "matrix=$matrix"
} >> "$GITHUB_OUTPUT"
