#!/usr/bin/env bash
# Runs the test suites with Node's built-in test runner (TypeScript through tsx).
#   infra/test.sh          unit + e2e + python
#   infra/test.sh unit     unit tests next to the code (shared/*/src, services/*/src)
#   infra/test.sh e2e      end-to-end tests in test/ (real redis-server, real S3-API server)
#   infra/test.sh py       pytest of the Python model toolchain
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
what="${1:-all}"
files=()
if [[ "$what" == all || "$what" == unit ]]; then files+=(shared/*/src/**/*.test.ts services/*/src/**/*.test.ts); fi
if [[ "$what" == all || "$what" == e2e ]]; then files+=(test/**/*.test.ts); fi
status=0
if ((${#files[@]})); then
  # One file at a time keeps memory and ONNX threads predictable on small machines.
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" || status=$?
fi
if [[ "$what" == all || "$what" == py ]] && [[ -x services/modelkit/.venv/bin/python ]]; then
  (cd services/modelkit && .venv/bin/python -m pytest -q tests) || status=$?
fi
exit $status
