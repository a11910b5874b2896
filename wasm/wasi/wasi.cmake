# wasm32-wasi (the `wasi` preset, toolchain cmake/wasi.cmake): the edgeq CLI as one WASI
# command module, build/wasi/edgeq.wasm, for wasmtime and WASI/WAGI hosts. Included by
# CMakeLists.txt when CMAKE_SYSTEM_NAME is WASI. No threads: the pool runs jobs inline.
#
# Linear memory starts small (static data + stack) and grows on demand up to 4 GiB, so a host's
# memory limit (wasmtime -W max-memory-size=N, Spin's component limits) is the only cap; the
# biggest single block is the model's tensor data, allocated once when the GGUF header is in.
# The stack lives in linear memory too and counts against that cap: 1 MiB is plenty (the deepest
# user is cJSON's recursion, bounded at 1000 levels) where the toolchain's default for tests is 8.
target_link_options(edgeq-cli PRIVATE
  -Wl,-z,stack-size=1048576
  -Wl,--max-memory=4294967296
  -Wl,--strip-debug)
