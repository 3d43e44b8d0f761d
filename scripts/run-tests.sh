#!/usr/bin/env bash
# From a fresh clone: install what the tests need, then run them (README, "The two commands").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-test-env.sh
npm ci
npm test
