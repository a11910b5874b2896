#!/usr/bin/env bash
# Build the Emscripten modules (CMake preset `web`) and copy them into js/wasm/:
#   wasm/edgeq-st.wasm, wasm/edgeq-mt.wasm      one binary per threading mode (shared by both glues)
#   wasm/edgeq-{st,mt}-relaxed.wasm             the same with relaxed-SIMD kernels (browsers that have it)
#   wasm/web/edgeq-web-{st,mt}.js (+ mt worker) ES module glue for browsers
#   wasm/node/edgeq-node-{st,mt}.cjs (+ worker) CommonJS glue for Node
# Environment: JOBS (default 2), NODE_PATH (Debian's emscripten needs /usr/share/nodejs),
# RELAXED_CC (default clang-19: a clang that has relaxed SIMD).
set -euo pipefail
cd "$(dirname "$0")/../.."
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
JOBS=${JOBS:-2}
# one version: the package's must be the library's (include/edgeq.h, read by CMake too)
v_h=$(sed -nE 's/^#define EQ_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' include/edgeq.h | paste -sd.)
v_js=$(node -p 'require("./js/package.json").version')
[ "$v_h" = "$v_js" ] || { echo "js/package.json is version $v_js, include/edgeq.h $v_h" >&2; exit 1; }
B=${WEB_BUILD_DIR:-build/web}
if [ -z "${SKIP_CMAKE:-}" ]; then
  [ -f "$B/CMakeCache.txt" ] || cmake --preset web >/dev/null
  cmake --build "$B" -j"$JOBS" >/dev/null
fi
O=js/wasm
mkdir -p "$O/web" "$O/node"
# The relaxed-SIMD modules (wasm/edgeq-{st,mt}-relaxed.wasm, picked by js/src/relaxed.js where
# the browser has relaxed SIMD): src/arch/wasm/quants_wasm.c again, compiled by clang-19 with
# -mrelaxed-simd (Debian 12's emcc 3.1.6 runs clang 14, which has no relaxed SIMD), put in
# place of the SIMD128 object in a copy of the core library, and linked by the web module's
# own emcc command line. wasm/web/relaxed-opcode.mjs renumbers the one relaxed instruction
# for binaryen 108 (emcc's wasm-opt, which knows it by its pre-standard number) and back
# afterwards. The glue must come out identical: one glue serves both modules.
RELAXED_CC=${RELAXED_CC:-clang-19}
command -v "$RELAXED_CC" >/dev/null || { echo "$RELAXED_CC not found (Debian 12: apt-get install clang-19)" >&2; exit 1; }
SYSROOT=$(em-config CACHE)/sysroot
R="$B/relaxed"
mkdir -p "$R"
for f in st mt; do
  lib=libedgeq.a flags=()
  [ $f = mt ] && lib=libedgeq_mt.a flags=(-pthread)
  mkdir -p "$R/$f"
  "$RELAXED_CC" --target=wasm32-unknown-emscripten --sysroot="$SYSROOT" -mcpu=mvp -msimd128 -mrelaxed-simd "${flags[@]}" \
    -O3 -DNDEBUG -std=c11 -DEQ_HAVE_WEBGPU=1 -Iinclude -Isrc -Ithird_party/cjson/prefixed \
    -c src/arch/wasm/quants_wasm.c -o "$R/$f/std.o"
  node wasm/web/relaxed-opcode.mjs to-old "$R/$f/std.o" "$R/$f/quants_wasm.c.o" >/dev/null
  cp "$B/$lib" "$R/$f/$lib"
  (cd "$R/$f" && emar r "$lib" quants_wasm.c.o)   # replaces the archive member of that name
  link=$(sed -e "s# -o edgeq-web-$f.js # -o relaxed/$f/edgeq-web-$f.js #" \
             -e "s#@CMakeFiles/edgeq-web-$f.dir/linkLibs.rsp#relaxed/$f/$lib#" "$B/CMakeFiles/edgeq-web-$f.dir/link.txt")
  grep -q "relaxed/$f/$lib" <<<"$link" || { echo "unexpected link command in $B/CMakeFiles/edgeq-web-$f.dir/link.txt" >&2; exit 1; }
  (cd "$B" && bash -c "$link 2>&1 | grep -v 'USE_PTHREADS + ALLOW_MEMORY_GROWTH' >&2; exit \${PIPESTATUS[0]}")
  cmp -s "$B/edgeq-web-$f.js" "$R/$f/edgeq-web-$f.js" || { echo "the relaxed-SIMD $f module's glue differs from the SIMD128 one's" >&2; exit 1; }
  node wasm/web/relaxed-opcode.mjs to-std "$R/$f/edgeq-web-$f.wasm" "$O/edgeq-$f-relaxed.wasm" >/dev/null
done
for f in st mt; do
  # the web and node links of a flavour produce the same binary (only the JS glue differs)
  cmp -s "$B/edgeq-web-$f.wasm" "$B/edgeq-node-$f.wasm" || { echo "edgeq-web-$f.wasm and edgeq-node-$f.wasm differ" >&2; exit 1; }
  cp "$B/edgeq-web-$f.wasm" "$O/edgeq-$f.wasm"
  cp "$B/edgeq-web-$f.js" "$O/web/edgeq-web-$f.js"
  cp "$B/edgeq-node-$f.js" "$O/node/edgeq-node-$f.cjs"
done
cp "$B/edgeq-web-mt.worker.js" "$O/web/edgeq-web-mt.worker.js"
cp "$B/edgeq-node-mt.worker.js" "$O/node/edgeq-node-mt.worker.js"
# the WebGPU runtime, its kernels inlined (no fetch of .wgsl files: bundlers need nothing extra)
node -e '
const fs = require("fs");
const dir = "src/backend/webgpu/";
const src = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".wgsl")).sort()) src[f.slice(0, -5)] = fs.readFileSync(dir + f, "utf8");
fs.writeFileSync(process.argv[1], fs.readFileSync("wasm/web/webgpu.js", "utf8") + "\n// the kernels (src/backend/webgpu/*.wgsl), inlined by js/scripts/build.sh\nexport const WGSL = " + JSON.stringify(src) + ";\n");
' "$O/webgpu.js"
# the Node glue is CommonJS inside a "type": "module" package
echo '{ "type": "commonjs" }' > "$O/node/package.json"
ls -l "$O"/*.wasm | awk '{print "  " $5 " bytes  " $9}'
