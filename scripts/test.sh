#!/usr/bin/env bash
# The whole test suite: sets up what is missing, then runs every test file
# with node's test runner (real runc, overlayfs and docker-registry; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 "${files[@]}"
