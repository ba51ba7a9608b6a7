#!/usr/bin/env bash
# Runs the test suites through test/runner/run-tests.ts (Node's test runner per file, TypeScript through
# tsx; pytest for the Python model toolchain), prints a per-file timing table and keeps it in
# .rag/test-times.json. See docs/testing.md.
#   infra/test.sh            everything (npm test; what CI runs)
#   infra/test.sh quick      unit tests, conformance, light end-to-end, pytest -m "not slow" (npm run test:quick)
#   infra/test.sh unit       unit tests next to the code (shared/*/src, services/*/src)
#   infra/test.sh e2e        end-to-end tests in test/ (real redis-server, real S3-API server)
#   infra/test.sh py         pytest of the Python model toolchain
#   infra/test.sh FILE ...   just these files (shared fixtures they name are built first)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/tsx/dist/loader.mjs ]]; then
  echo "test: dependencies are not installed; run: bash infra/setup.sh --dev" >&2
  exit 1
fi
exec node --import tsx test/runner/run-tests.ts "$@"
