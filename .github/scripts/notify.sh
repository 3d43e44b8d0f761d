#!/usr/bin/env bash
# Posts MESSAGE (plus a link to RUN_URL) to WEBHOOK_URL as Slack-compatible JSON ({"text": ...}).
# No webhook configured: nothing to do. A notification that cannot be delivered is a warning: it
# must never fail, or hold up, the rollback it reports on.
set -uo pipefail
if [ -z "${WEBHOOK_URL:-}" ]; then
  echo "No webhook configured (ROLLBACK_WEBHOOK_URL): not notifying."
  exit 0
fi
text="${MESSAGE:-}"
[ -n "${RUN_URL:-}" ] && text="$text <$RUN_URL|Workflow run>"
payload=$(jq -cn --arg text "$text" '{text: $text}')
if ! curl --silent --show-error --fail --max-time 10 --retry 2 \
  -H 'Content-Type: application/json' --data "$payload" "$WEBHOOK_URL" > /dev/null; then
  echo "::warning title=Notification not delivered::The webhook did not accept the message; the rollback goes on."
fi
exit 0
