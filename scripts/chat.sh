#!/usr/bin/env bash
# The main job: install, build, fetch the default model and chat with it in the terminal.
# Extra arguments go to `edgeq chat` (e.g. --system "You are terse." -t 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset native >/dev/null
cmake --build --preset native -j"$(nproc)" --target edgeq-cli >/dev/null
model=$(bash scripts/get-model.sh)
exec build/native/edgeq chat -m "$model" "$@"
