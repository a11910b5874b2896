# Cross-compiling to WebAssembly (wasm32-wasi, WASI preview 1) with clang.
#   cmake -B build/wasi -DCMAKE_TOOLCHAIN_FILE=cmake/wasi.cmake -DEQ_SIMD_FLAGS=-msimd128
# Two setups are accepted:
#   - a wasi-sdk: -DWASI_SDK_PATH=/opt/wasi-sdk (or the WASI_SDK_PATH environment variable);
#     its clang and share/wasi-sysroot are used;
#   - Debian/Ubuntu packages: clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32. Debian's
#     clang already searches /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi for this
#     target, so no sysroot is passed. Another clang: -DEQ_WASI_CLANG=clang-18.
# Tests run with Node: node tests/cross/run-wasi.mjs build/wasi/test_quant.wasm
set(CMAKE_SYSTEM_NAME WASI)
set(CMAKE_SYSTEM_VERSION 1)
set(CMAKE_SYSTEM_PROCESSOR wasm32)

if(NOT WASI_SDK_PATH AND DEFINED ENV{WASI_SDK_PATH})
  set(WASI_SDK_PATH "$ENV{WASI_SDK_PATH}")
endif()
set(WASI_SDK_PATH "${WASI_SDK_PATH}" CACHE PATH "wasi-sdk install (empty: distribution packages)")

if(WASI_SDK_PATH)
  set(CMAKE_C_COMPILER "${WASI_SDK_PATH}/bin/clang")
  set(CMAKE_AR "${WASI_SDK_PATH}/bin/llvm-ar" CACHE FILEPATH "")
  set(CMAKE_RANLIB "${WASI_SDK_PATH}/bin/llvm-ranlib" CACHE FILEPATH "")
  set(CMAKE_SYSROOT "${WASI_SDK_PATH}/share/wasi-sysroot")
else()
  set(EQ_WASI_CLANG "clang-19" CACHE STRING "clang able to target wasm32-wasi")
  set(CMAKE_C_COMPILER "${EQ_WASI_CLANG}")
  string(REPLACE "clang" "llvm-ar" _eq_ar "${EQ_WASI_CLANG}")
  string(REPLACE "clang" "llvm-ranlib" _eq_ranlib "${EQ_WASI_CLANG}")
  find_program(EQ_WASI_AR NAMES ${_eq_ar} llvm-ar)
  find_program(EQ_WASI_RANLIB NAMES ${_eq_ranlib} llvm-ranlib)
  if(EQ_WASI_AR)
    set(CMAKE_AR "${EQ_WASI_AR}" CACHE FILEPATH "")
  endif()
  if(EQ_WASI_RANLIB)
    set(CMAKE_RANLIB "${EQ_WASI_RANLIB}" CACHE FILEPATH "")
  endif()
endif()

set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_C_FLAGS_INIT "--target=wasm32-wasi")
# WASI has no shared libraries; check compilers with a static library, not a linked program
# (keeps configure independent of which crt/libc layout the toolchain has).
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# The default 64 KiB wasm stack is too small for tests with big local arrays.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-z,stack-size=8388608")
set(CMAKE_EXECUTABLE_SUFFIX_C ".wasm")

# CMake < 3.31 has no Platform/WASI; give it a minimal one (what wasi-sdk's says) so it
# neither warns about an unknown system nor resets the settings above.
set(_eq_wasi_platform "${CMAKE_BINARY_DIR}/eq-wasi-platform")
if(NOT EXISTS "${_eq_wasi_platform}/Platform/WASI.cmake")
  file(WRITE "${_eq_wasi_platform}/Platform/WASI.cmake"
    "set(WASI 1)\nset(CMAKE_EXECUTABLE_SUFFIX \".wasm\")\nset(CMAKE_STATIC_LIBRARY_PREFIX \"lib\")\nset(CMAKE_STATIC_LIBRARY_SUFFIX \".a\")\nset(CMAKE_FIND_LIBRARY_PREFIXES \"lib\")\nset(CMAKE_FIND_LIBRARY_SUFFIXES \".a\")\nset_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)\n")
endif()
list(APPEND CMAKE_MODULE_PATH "${_eq_wasi_platform}")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
if(NOT WASI_SDK_PATH)
  set(CMAKE_FIND_ROOT_PATH /usr/lib/wasm32-wasi /usr/include/wasm32-wasi)
endif()
