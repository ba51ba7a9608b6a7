#!/usr/bin/env bash
# Builds the FAISS Node addon: faiss-node 0.5.1's own src/faiss.cc (read from node_modules, never
# copied into the repo) plus our extension (infra/faiss/src), compiled with g++ against Debian's
# static libfaiss 1.7.3 and OpenBLAS. No cmake-js, no network.
#
# Output:  infra/faiss/build/Release/faiss-node.node   (what @rag/index loads)
#          node_modules/faiss-node/build/Release/faiss-node.node  (copy, so `import 'faiss-node'` works too)
# Idempotent: a stamp of every input is kept; an unchanged tree only re-installs the copy (~0.3 s).
#   FAISS_FORCE_REBUILD=1 bash infra/faiss/build.sh   forces a rebuild.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$here/build"
addon="$out_dir/Release/faiss-node.node"
stamp_file="$out_dir/stamp"

die() {
  printf 'build-faiss: error: %s\n' "$1" >&2
  [[ -n "${2:-}" ]] && printf 'build-faiss: fix: %s\n' "$2" >&2
  exit 1
}

cxx="${CXX:-g++}"
command -v "$cxx" >/dev/null || die "C++ compiler '$cxx' not found" "apt-get install g++"
command -v node >/dev/null || die "node not found" "install Node.js >= 20"

faiss_src="$root/node_modules/faiss-node/src/faiss.cc"
[[ -f "$faiss_src" ]] || die "faiss-node source missing ($faiss_src)" "run 'npm ci --ignore-scripts' in $root first"
napi_dir="$root/node_modules/node-addon-api"
[[ -f "$napi_dir/napi.h" ]] || die "node-addon-api missing ($napi_dir)" "run 'npm ci --ignore-scripts' in $root first"

# Node's C headers: npm's nodedir (Debian: /usr -> /usr/include/node), else next to the node binary.
node_inc="${NODE_INCLUDE_DIR:-}"
if [[ -z "$node_inc" ]]; then
  for cand in "$(npm config get nodedir 2>/dev/null || true)/include/node" /usr/include/node \
              "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
    if [[ -f "$cand/node_api.h" ]]; then node_inc="$cand"; break; fi
  done
fi
[[ -n "$node_inc" && -f "$node_inc/node_api.h" ]] ||
  die "Node headers (node_api.h) not found" "apt-get install nodejs-dev (or set NODE_INCLUDE_DIR)"

[[ -f /usr/include/faiss/IndexFlat.h ]] ||
  die "FAISS headers not found (/usr/include/faiss)" "apt-get install libfaiss-dev libopenblas-dev"
libfaiss="$("$cxx" -print-file-name=libfaiss.a)"
[[ "$libfaiss" == /* && -f "$libfaiss" ]] ||
  die "static libfaiss.a not found" "apt-get install libfaiss-dev libopenblas-dev"
libblas="$("$cxx" -print-file-name=libopenblas.so)"
[[ "$libblas" == /* && -e "$libblas" ]] ||
  die "OpenBLAS not found (libopenblas.so)" "apt-get install libfaiss-dev libopenblas-dev"
liblapack="$("$cxx" -print-file-name=liblapack.so)"
lapack_flag=()
[[ "$liblapack" == /* && -e "$liblapack" ]] && lapack_flag=(-llapack)

# Stamp: contents of every source input plus the identity of the libraries and tools.
stamp="$(
  {
    sha256sum "$faiss_src" "$here"/src/* "$here/patch-source.mjs" "$here/build.sh" "$napi_dir/package.json"
    stat -L -c '%n %s %Y' "$libfaiss" "$libblas"
    "$cxx" --version | head -1
    node -p 'process.versions.napi'
  } | sha256sum | cut -d' ' -f1
)"

install_copy() {
  local dest="$root/node_modules/faiss-node/build/Release"
  mkdir -p "$dest"
  cp -f "$addon" "$dest/faiss-node.node"
}

if [[ -z "${FAISS_FORCE_REBUILD:-}" && -f "$addon" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  install_copy
  echo "build-faiss: up to date ($addon)"
  exit 0
fi

mkdir -p "$out_dir/Release"
rm -f "$stamp_file"
gen="$out_dir/faiss-node.patched.cc"
node "$here/patch-source.mjs" "$faiss_src" "$gen"

start_ns=$(date +%s%N)
tmp="$addon.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -include: faiss 1.7.3 compatibility (faiss::idx_t) and our extension's headers/macros.
# -Wl,--exclude-libs,ALL keeps the static FAISS symbols private to this addon.
"$cxx" -std=c++17 -O2 -fPIC -shared -fopenmp -fvisibility=hidden \
  -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=faiss_node -DNAPI_CPP_EXCEPTIONS \
  -include "$here/src/rag-compat.h" \
  -I "$here/src" -I "$napi_dir" -I "$node_inc" -I /usr/include \
  "$gen" -o "$tmp" \
  -Wl,--exclude-libs,ALL "$libfaiss" -lopenblas "${lapack_flag[@]}" -lgomp -lpthread -lm \
  || die "compiling the FAISS addon failed (see the compiler output above)" \
         "check that libfaiss-dev is 1.7.x: apt-get install libfaiss-dev libopenblas-dev"

# Node loads addons lazily (RTLD_LAZY): an unresolved BLAS/LAPACK symbol would only crash at the first
# call, so check now. napi_*/node_* symbols come from the node binary at load time.
missing="$(ldd -r "$tmp" 2>&1 | grep 'undefined symbol' | grep -Ev 'undefined symbol: (napi_|node_api_|uv_)' || true)"
[[ -z "$missing" ]] || die "the addon has unresolved symbols:
$missing" "apt-get install libfaiss-dev libopenblas-dev liblapack-dev"

mv -f "$tmp" "$addon"
trap - EXIT
# Smoke test: load it and use one of our methods.
node -e '
  const m = require(process.argv[1]);
  const ix = m.Index.fromFactory(4, "Flat", 0);
  ix.ragAdd(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]));
  const r = ix.ragSearch(new Float32Array([0, 1, 0, 0]), 1);
  if (r.labels[0] !== 1) { console.error("smoke test failed", r); process.exit(1); }
' "$addon" || die "the built addon does not load or does not work" "FAISS_FORCE_REBUILD=1 bash infra/faiss/build.sh"

echo "$stamp" >"$stamp_file"
install_copy
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
printf 'build-faiss: built %s in %d.%03d s\n' "$addon" $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
