#!/usr/bin/env bash
# Installs @tensorflow/tfjs-node (or -gpu with --gpu) OFFLINE with respect to Google storage.
#
# tfjs-node's own install script downloads libtensorflow 2.9.1 from storage.googleapis.com and a prebuilt
# addon from the same host; both are unreachable here. Instead this script:
#   1. takes the TensorFlow C library from PyPI's TensorFlow wheel (libtensorflow_cc.so.2 carries the C API
#      with no Python dependency from TF 2.12 on; libtensorflow_framework.so.2 beside it) and the C API
#      headers shipped in the same wheel,
#   2. checks with nm that the library exports every TF_*/TFE_* function the tfjs-node binding calls,
#   3. lays both out as the libtensorflow tarball tfjs-node expects (node_modules/<pkg>/deps/{lib,include}),
#   4. installs the npm package without its install script (npm install --no-save --ignore-scripts, so
#      package.json and package-lock.json stay untouched) and compiles the addon from source with node-gyp
#      against local Node headers,
#   5. verifies that tf.getBackend() is 'tensorflow' and that conv2d forward + gradients match the cpu backend.
#
# Usage: npm run setup:native [-- [--gpu] [--tf-version X.Y.Z] [--force] [--check-only]]
# Details, options and the reasoning: docs/native-backend.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.native"             # git-ignored: wheels and the extracted libtensorflow trees live here
FLAVOUR=cpu
TF_VERSION="${UNIGRAD_TF_VERSION:-2.18.1}"
FORCE=0
CHECK_ONLY=0

die() {
  echo "setup-native: ERROR: $*" >&2
  exit 1
}
say() { echo "setup-native: $*"; }

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --gpu              install @tensorflow/tfjs-node-gpu from the CUDA-enabled `tensorflow` wheel (needs the
                     CUDA/cuDNN versions that TensorFlow release was built for; see docs/native-backend.md)
  --tf-version V     TensorFlow wheel version to take libtensorflow from (default 2.18.1; env UNIGRAD_TF_VERSION; 2.12.1 or newer)
  --force            redo every step even when a previous run left a working install
  --check-only       only verify the installed backend (exit 1 when it does not work)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpu) FLAVOUR=gpu ;;
    --cpu) FLAVOUR=cpu ;;
    --tf-version) [[ $# -ge 2 ]] || die "--tf-version needs a value, e.g. --tf-version 2.12.1"; TF_VERSION="$2"; shift ;;
    --tf-version=*) TF_VERSION="${1#*=}" ;;
    --force) FORCE=1 ;;
    --check-only) CHECK_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

if [[ "$FLAVOUR" == gpu ]]; then
  PKG=@tensorflow/tfjs-node-gpu
  WHEEL_NAME=tensorflow
else
  PKG=@tensorflow/tfjs-node
  WHEEL_NAME=tensorflow-cpu
fi
PKG_DIR="$ROOT/node_modules/$PKG"
VERIFY="$ROOT/tools/native/verify.js"
START=$SECONDS

# ---------------------------------------------------------------------------------------------------------------
# 0. Preconditions, each with the fix.
[[ "$(uname -s)" == Linux && "$(uname -m)" == x86_64 ]] ||
  die "only Linux x86_64 is handled (this is $(uname -s) $(uname -m)); on macOS/Windows the stock tfjs-node install works when storage.googleapis.com is reachable"
command -v node >/dev/null || die "node is not on PATH"
command -v npm >/dev/null || die "npm is not on PATH"
TFJS_VERSION="$(node -p "require('$ROOT/package.json').optionalDependencies?.['$PKG'] ?? ''")"
[[ "$TFJS_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "package.json must list $PKG with an exact version in optionalDependencies (found '$TFJS_VERSION')"

if [[ "$CHECK_ONLY" == 1 ]]; then
  node "$VERIFY" "$PKG"
  exit $?
fi

STAMP="$PKG_DIR/deps/unigrad-native.json"
STAMP_WANT="{\"package\":\"$PKG@$TFJS_VERSION\",\"wheel\":\"$WHEEL_NAME==$TF_VERSION\"}"
if [[ "$FORCE" == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_WANT" ]] &&
  [[ -n "$(ls "$PKG_DIR"/lib/napi-v*/tfjs_binding.node 2>/dev/null)" ]]; then
  say "$PKG@$TFJS_VERSION is already built against $WHEEL_NAME==$TF_VERSION; verifying (use --force to rebuild)"
  if node "$VERIFY" "$PKG"; then exit 0; fi
  say "verification failed; rebuilding"
fi

PY=""
for cand in python3 python; do
  if command -v "$cand" >/dev/null && "$cand" -m pip --version >/dev/null 2>&1; then PY="$cand"; break; fi
done
[[ -n "$PY" ]] || die "python3 with pip is needed to fetch the TensorFlow wheel from PyPI (Debian: apt-get install python3-pip)"
command -v g++ >/dev/null || die "no C++ compiler (g++) to build the tfjs-node addon (Debian: apt-get install build-essential)"
command -v make >/dev/null || die "make is needed by node-gyp (Debian: apt-get install build-essential)"
command -v nm >/dev/null || die "nm (binutils) is needed to check the library's exported symbols (Debian: apt-get install binutils)"

# Node headers: node-gyp would download them (unreachable offline). Use a local copy: npm_config_nodedir if set,
# else the prefix of the running node when it ships include/node (nodesource/Debian packages, official tarballs).
NODE_VERSION="$(node -p process.versions.node)"
NODEDIR="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
[[ "$NODEDIR" == undefined || "$NODEDIR" == null ]] && NODEDIR=""
if [[ -z "$NODEDIR" || ! -f "$NODEDIR/include/node/node_api.h" ]]; then
  NODEDIR="$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)"
fi
[[ -f "$NODEDIR/include/node/node_api.h" && -f "$NODEDIR/include/node/common.gypi" ]] ||
  die "no Node.js headers found (looked for include/node/node_api.h and common.gypi under '$NODEDIR'). Install them (Debian/nodesource: they ship with the nodejs package; otherwise apt-get install libnode-dev, or unpack node-v$NODE_VERSION-headers.tar.gz) and point npm_config_nodedir at the directory that contains include/node"
HDR_VERSION="$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\).*/\2/p' "$NODEDIR/include/node/node_version.h" | paste -sd.)"
[[ "$HDR_VERSION" == "$NODE_VERSION" ]] ||
  say "warning: Node headers in $NODEDIR are v$HDR_VERSION but node is v$NODE_VERSION (fine for N-API addons, which this is)"

NODE_GYP="${npm_config_node_gyp:-}"
if [[ -z "$NODE_GYP" ]]; then
  NPM_ROOT="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
  NODE_GYP="$NPM_ROOT/node_modules/node-gyp/bin/node-gyp.js"
fi
[[ -f "$NODE_GYP" ]] || die "node-gyp not found (npm normally bundles it at $NODE_GYP); set npm_config_node_gyp to node-gyp.js"

mkdir -p "$CACHE/wheels"

# ---------------------------------------------------------------------------------------------------------------
# 1. The TensorFlow wheel (only used as a file source: any manylinux x86_64 wheel of the version will do, so the
#    target Python is pinned instead of depending on the local interpreter's version).
WHEEL="$(ls "$CACHE/wheels/${WHEEL_NAME//-/_}-$TF_VERSION-"*manylinux*x86_64*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
  say "downloading $WHEEL_NAME==$TF_VERSION from PyPI (a few hundred MB)"
  got=0
  for pyv in 3.11 3.10 3.12 3.9; do
    if "$PY" -m pip download --no-deps --only-binary=:all: --python-version "$pyv" \
      --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
      -d "$CACHE/wheels" "$WHEEL_NAME==$TF_VERSION" >"$CACHE/pip.log" 2>&1; then
      got=1
      break
    fi
  done
  [[ "$got" == 1 ]] || die "pip could not download $WHEEL_NAME==$TF_VERSION (see $CACHE/pip.log): $(tail -n2 "$CACHE/pip.log" | tr '\n' ' ')"
  WHEEL="$(ls "$CACHE/wheels/${WHEEL_NAME//-/_}-$TF_VERSION-"*manylinux*x86_64*.whl | head -n1)"
fi
say "wheel: $(basename "$WHEEL")"

# ---------------------------------------------------------------------------------------------------------------
# 2. Extract libtensorflow as the tarball layout tfjs-node expects:
#      lib/libtensorflow.so.2.9.1   (the name tfjs-node's install checks; here a link to the real library)
#      lib/libtensorflow.so          (what `-ltensorflow` links; the addon records the SONAME libtensorflow_cc.so.2)
#      lib/libtensorflow_framework.so{,.2}
#      include/tensorflow/c/**, include/tensorflow/{core,tsl}/platform/ctstring*.h
TREE="$CACHE/libtensorflow-$FLAVOUR-$TF_VERSION"
if [[ "$FORCE" == 1 || ! -f "$TREE/.complete" ]]; then
  say "extracting the C library and headers into ${TREE#"$ROOT"/}"
  rm -rf "$TREE"
  "$PY" - "$WHEEL" "$TREE" <<'PYEOF' || { rm -rf "$TREE"; die "could not take libtensorflow from $(basename "$WHEEL") (reason above)"; }
import os, re, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
want_lib = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
# The public headers of the official libtensorflow tarball, plus everything they include (transitively) from the
# wheel's include tree: newer releases move pieces to tensorflow/tsl/... and the closure follows them.
roots = ['tensorflow/c/' + h for h in ('c_api.h', 'c_api_experimental.h', 'tf_attrtype.h', 'tf_datatype.h',
         'tf_file_statistics.h', 'tf_status.h', 'tf_tensor.h', 'tf_tstring.h', 'eager/c_api.h',
         'eager/c_api_experimental.h', 'eager/dlpack.h')] + \
        ['tensorflow/core/platform/ctstring.h', 'tensorflow/core/platform/ctstring_internal.h']
include_re = re.compile(rb'^\s*#\s*include\s+"([^"]+)"', re.M)
found = set()
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    for name in want_lib & names:
        dest = os.path.join(out, 'lib', os.path.basename(name))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        found.add(name)
    todo, seen = [r for r in roots if 'tensorflow/include/' + r in names], set()
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        data = z.read('tensorflow/include/' + rel)
        dest = os.path.join(out, 'include', rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, 'wb') as dst:
            dst.write(data)
        found.add('tensorflow/include/' + rel)
        for inc in include_re.findall(data):
            inc = inc.decode()
            if 'tensorflow/include/' + inc in names:
                todo.append(inc)
missing = sorted(want_lib - found)
if missing:
    names = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith('.so') or '.so.' in n]
    sys.exit('the wheel lacks %s. Its shared libraries: %s. TensorFlow wheels before 2.12 keep the C API inside '
             '_pywrap_tensorflow_internal.so, which needs Python symbols; use --tf-version 2.12.1 or newer.'
             % (', '.join(missing), ', '.join(n for n in names if 'python/' not in n)))
if not any(f.startswith('tensorflow/include/tensorflow/c/eager/c_api.h') for f in found):
    sys.exit('the wheel lacks the C API headers (tensorflow/include/tensorflow/c/eager/c_api.h)')
PYEOF
  (
    cd "$TREE/lib"
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
    ln -sf libtensorflow_cc.so.2 libtensorflow.so
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
  )
  touch "$TREE/.complete"
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. The npm package, without its install script (which would try Google storage).
installed_version="$(node -p "try { require('$PKG_DIR/package.json').version } catch { '' }")"
if [[ "$installed_version" != "$TFJS_VERSION" || ! -f "$PKG_DIR/binding.gyp" ]] ||
  ! (cd "$PKG_DIR" && node -e "require.resolve('@mapbox/node-pre-gyp'); require.resolve('google-protobuf')" 2>/dev/null); then
  say "installing $PKG@$TFJS_VERSION into node_modules (npm install --no-save --ignore-scripts)"
  (cd "$ROOT" && npm install --no-save --ignore-scripts --no-audit --no-fund "$PKG@$TFJS_VERSION") ||
    die "npm could not install $PKG@$TFJS_VERSION (is registry.npmjs.org reachable?)"
fi
[[ -f "$PKG_DIR/binding.gyp" ]] || die "$PKG_DIR/binding.gyp missing after npm install"

# ---------------------------------------------------------------------------------------------------------------
# 4. Symbol check: every TF_*/TFE_* function the binding calls that the headers declare TF_CAPI_EXPORT (i.e. not
#    the inline TF_TString_* helpers) must be defined by the library.
used="$(grep -ohE '\bTFE?_[A-Za-z0-9_]+[[:space:]]*\(' "$PKG_DIR"/binding/*.cc "$PKG_DIR"/binding/*.h | tr -d '( \t' | sort -u)"
exported_by_headers="$(find "$TREE/include" -name '*.h' -exec cat {} + |
  perl -0777 -ne 'while (/\bTF_CAPI_EXPORT\b[^;{}#]*?\b(TFE?_\w+)\s*\(/g) { print "$1\n" }' | sort -u)"
needed="$(comm -12 <(echo "$used") <(echo "$exported_by_headers"))"
defined="$(nm -D --defined-only "$TREE/lib/libtensorflow_cc.so.2" "$TREE/lib/libtensorflow_framework.so.2" |
  awk 'NF>=3 {print $3}' | sed 's/@.*//' | sort -u)"
missing="$(comm -23 <(echo "$needed") <(echo "$defined"))"
[[ -z "$missing" ]] || die "libtensorflow_cc.so.2 from $WHEEL_NAME==$TF_VERSION does not export these C API functions the tfjs-node binding calls: $(echo $missing)"
py_undef="$(nm -D --undefined-only "$TREE/lib/libtensorflow_cc.so.2" | awk '{print $2}' | grep -E '^_?Py' | head -n5 || true)"
[[ -z "$py_undef" ]] || die "libtensorflow_cc.so.2 from $WHEEL_NAME==$TF_VERSION needs Python symbols ($(echo $py_undef) ...); it cannot load into node"
say "symbol check passed: all $(echo "$needed" | wc -l) C API functions the binding calls are exported"

# ---------------------------------------------------------------------------------------------------------------
# 5. Stage deps/ and build the addon from source (no prebuilt-addon download).
rm -rf "$PKG_DIR/deps" "$PKG_DIR/build" "$PKG_DIR"/lib/napi-v*
mkdir -p "$PKG_DIR/deps"
# Hard links when .native and node_modules share a filesystem (no second 600 MB copy), else a copy.
cp -al "$TREE/lib" "$PKG_DIR/deps/lib" 2>/dev/null || cp -a "$TREE/lib" "$PKG_DIR/deps/lib"
cp -a "$TREE/include" "$PKG_DIR/deps/include"

NAPI_VERSION="$(node -p "Math.max(...require('$PKG_DIR/package.json').binary.napi_versions.filter(v => v <= Number(process.versions.napi)))")"
MODULE_PATH="$PKG_DIR/lib/napi-v$NAPI_VERSION"
say "compiling the addon (N-API v$NAPI_VERSION, Node headers from $NODEDIR, node-gyp $(node "$NODE_GYP" --version))"
(
  cd "$PKG_DIR"
  export npm_config_nodedir="$NODEDIR"
  JOBS="$(nproc 2>/dev/null || echo 2)"
  node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --jobs="$JOBS" \
    --module_name=tfjs_binding --module_path="$MODULE_PATH" --napi_build_version="$NAPI_VERSION" >"$CACHE/node-gyp.log" 2>&1
) || die "node-gyp failed to build the addon; last lines of $CACHE/node-gyp.log:
$(tail -n 25 "$CACHE/node-gyp.log")"
[[ -f "$MODULE_PATH/tfjs_binding.node" ]] || die "the build produced no $MODULE_PATH/tfjs_binding.node (see $CACHE/node-gyp.log)"
rm -rf "$PKG_DIR/build" # the intermediate objects (the addon is copied to lib/napi-v*)
echo "$STAMP_WANT" >"$STAMP"

# ---------------------------------------------------------------------------------------------------------------
# 6. Verify.
node "$VERIFY" "$PKG" || die "the addon built but the backend check failed (output above)"
say "done in $((SECONDS - START)) s: $PKG@$TFJS_VERSION runs on libtensorflow from $WHEEL_NAME==$TF_VERSION"
say "re-run after every \`npm ci\` (which removes node_modules); the wheel stays cached in .native/"
