#!/usr/bin/env bash
# Opens an issue labelled rollback-drill with the failed matrix (BODY_FILE), or comments on the
# open one, so a broken rollback path is tracked until fixed rather than lost in run history.
set -euo pipefail
api() {
  curl --silent --show-error --fail --max-time 20 -H "Authorization: Bearer $GH_TOKEN" \
    -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' "$@"
}
base="$GITHUB_API_URL/repos/$GITHUB_REPOSITORY"
body=$(cat "$BODY_FILE")
open=$(api "$base/issues?labels=rollback-drill&state=open&per_page=1" | jq -r '.[0].number // empty')
if [ -n "$open" ]; then
  api -X POST "$base/issues/$open/comments" --data "$(jq -cn --arg body "$body" '{body: $body}')" > /dev/null
  echo "Commented on issue #$open."
else
  number=$(api -X POST "$base/issues" --data "$(jq -cn --arg title "$TITLE" --arg body "$body" '{title: $title, body: $body, labels: ["rollback-drill"]}')" | jq -r .number)
  echo "Opened issue #$number."
fi
