# The `web` preset's toolchain: Emscripten's own CMake toolchain file, from whichever
# Emscripten this machine has (a preset cannot compute a path). Looked for, in order, in
#   -DEQ_EMSCRIPTEN_ROOT=DIR
#   $EMSDK/upstream/emscripten   (emsdk, after `source emsdk_env.sh`)
#   the directory of emcc on PATH, symlinks followed (Debian's /usr/bin/emcc is a link into
#                                 /usr/share/emscripten)
#   $EMSCRIPTEN
# as DIR/cmake/Modules/Platform/Emscripten.cmake. (`emcmake cmake ...` works as well.)
if(NOT EQ_EMSCRIPTEN_ROOT)
  set(_eq_em_dirs "")
  if(DEFINED ENV{EMSDK})
    list(APPEND _eq_em_dirs "$ENV{EMSDK}/upstream/emscripten")
  endif()
  find_program(EQ_EMCC emcc)
  if(EQ_EMCC)
    get_filename_component(_eq_emcc_real "${EQ_EMCC}" REALPATH)
    get_filename_component(_eq_emcc_dir "${_eq_emcc_real}" DIRECTORY)
    list(APPEND _eq_em_dirs "${_eq_emcc_dir}")
  endif()
  if(DEFINED ENV{EMSCRIPTEN})
    list(APPEND _eq_em_dirs "$ENV{EMSCRIPTEN}")
  endif()
  foreach(_eq_dir IN LISTS _eq_em_dirs)
    if(EXISTS "${_eq_dir}/cmake/Modules/Platform/Emscripten.cmake")
      set(EQ_EMSCRIPTEN_ROOT "${_eq_dir}" CACHE PATH "Emscripten's directory (holds emcc and cmake/)")
      break()
    endif()
  endforeach()
endif()
if(NOT EXISTS "${EQ_EMSCRIPTEN_ROOT}/cmake/Modules/Platform/Emscripten.cmake")
  message(FATAL_ERROR "Emscripten not found (looked in: -DEQ_EMSCRIPTEN_ROOT, $EMSDK, emcc on PATH, "
    "$EMSCRIPTEN). Install it (Debian: apt-get install emscripten; or emsdk, then "
    "source emsdk_env.sh) or pass -DEQ_EMSCRIPTEN_ROOT=<dir with emcc and cmake/>.")
endif()
include("${EQ_EMSCRIPTEN_ROOT}/cmake/Modules/Platform/Emscripten.cmake")
