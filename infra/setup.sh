#!/usr/bin/env bash
# Fresh-machine set-up, idempotent and quick when already done.
#   bash infra/setup.sh          system packages, npm dependencies, FAISS binding (enough for ./rag)
#   bash infra/setup.sh --dev    the above plus the Python model toolchain (tests, model export)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v bzip2 >/dev/null || need+=(bzip2)
[[ -f /usr/lib/x86_64-linux-gnu/libfaiss.a || -f /usr/lib/libfaiss.a ]] || need+=(libfaiss-dev)
[[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so || -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so ]] || need+=(libopenblas-dev)
# Headless Chromium renders the evaluation reports to PNG (tests screenshot them); not needed to run ./rag.
if ((dev)) && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then need+=(chromium); fi
if ((${#need[@]})); then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# npm: lockfile install; dependency install scripts are skipped on purpose (faiss-node's downloads a
# prebuild, onnxruntime-node's fetches CUDA files: both need the internet; we build FAISS ourselves).
stamp=node_modules/.rag-install-stamp
lockhash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat $stamp)" != "$lockhash" ]]; then
  echo "setup: npm ci" >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund >/dev/null
  echo "$lockhash" > $stamp
fi

bash infra/faiss/build.sh

if ((dev)); then
  bash infra/setup-python.sh
fi
echo "setup: ready" >&2
