# Cross-compiling for 64-bit ARM Linux with Debian's gcc-aarch64-linux-gnu:
#   cmake -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DEQ_SIMD_FLAGS="-march=armv8.2-a+dotprod"
# NEON is always on for AArch64; EQ_SIMD_FLAGS picks the extensions (dotprod enables the
# SDOT kernels). ctest runs the tests through qemu-user when it is installed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(EQ_AARCH64_PREFIX "aarch64-linux-gnu-" CACHE STRING "Cross tool prefix")
set(EQ_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH "Target libraries (for find_* and qemu -L)")

set(CMAKE_C_COMPILER "${EQ_AARCH64_PREFIX}gcc")
set(CMAKE_FIND_ROOT_PATH "${EQ_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(EQ_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(EQ_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${EQ_QEMU_AARCH64};-L;${EQ_AARCH64_SYSROOT}")
endif()
