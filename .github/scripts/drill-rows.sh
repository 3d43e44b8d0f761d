#!/usr/bin/env bash
# Matrix rows of the rollback drill, sourced by its steps: `drill_row` prints one row as JSON,
# `step_result` turns a step outcome into the matrix's words, `emit_rows` sets the `rows` output
# from the rows on its stdin.
drill_row() { # scenario result duration-ms details
  jq -cn --arg scenario "$1" --arg result "$2" --arg ms "${3:-}" --arg details "${4:-}" \
    '{scenario: $scenario, result: $result, "duration-s": (if $ms == "" then null else (($ms | tonumber) / 100 | round / 10) end), details: $details}'
}
step_result() { case "$1" in success) echo passed ;; failure) echo failed ;; *) echo "not run" ;; esac; }
emit_rows() { echo "rows=$(jq -cs .)" >> "$GITHUB_OUTPUT"; }
