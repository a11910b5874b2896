#!/usr/bin/env bash
# Build the Emscripten modules (CMake preset `web`) and copy them into js/wasm/:
#   wasm/edgeq-st.wasm, wasm/edgeq-mt.wasm      one binary per threading mode (shared by both glues)
#   wasm/web/edgeq-web-{st,mt}.js (+ mt worker) ES module glue for browsers
#   wasm/node/edgeq-node-{st,mt}.cjs (+ worker) CommonJS glue for Node
# Environment: JOBS (default 2), NODE_PATH (Debian's emscripten needs /usr/share/nodejs).
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
