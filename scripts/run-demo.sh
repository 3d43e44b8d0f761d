#!/usr/bin/env bash
# From a fresh clone: install what the demo needs, then run it (README, "The two commands").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-test-env.sh
npm ci
npm run demo
