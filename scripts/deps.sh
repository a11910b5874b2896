#!/usr/bin/env bash
# Install what edgeq needs on Debian 12, idempotently (only missing packages are installed).
#   scripts/deps.sh          build + run (compiler, cmake, python for the model download)
#   scripts/deps.sh --test   also what the test suite needs (node/npm for the llama.cpp oracle,
#                            numpy, clang for the fuzzer, aarch64 cross + qemu, the WASI toolchain,
#                            the three browser engines the browser tests drive: chromium,
#                            firefox-esr, webkit2gtk-driver (WebKitGTK's MiniBrowser) + xvfb)
set -euo pipefail
pkgs=(build-essential cmake git ca-certificates unzip python3 python3-pip)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3-numpy clang-19 libclang-rt-19-dev lld-19 wasi-libc libclang-rt-19-dev-wasm32 gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user musl-tools emscripten
         chromium firefox-esr webkit2gtk-driver xvfb xauth)
  command -v node >/dev/null || pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# numpy for the test-model generator when python3 is not Debian's (e.g. pyenv)
if [ "${1:-}" = "--test" ] && ! python3 -c "import numpy" 2>/dev/null; then
  python3 -m pip install -q numpy || python3 -m pip install -q --break-system-packages numpy
fi
