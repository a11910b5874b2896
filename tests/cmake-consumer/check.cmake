# edgeq inside another project (add_subdirectory) keeps to itself:
#   cmake -DSRC=<edgeq source> -DBIN=<scratch build dir> [-DCC=<C compiler>] [-DLIB=<libedgeq.a>] -P check.cmake
# configures tests/cmake-consumer (no build type, default options) and reads its
# compile_commands.json: the consumer's own file gets none of edgeq's warnings, ISA or
# sanitizer flags, definitions or optimisation level (edgeq must not pick the parent's build
# type), while edgeq's files still get theirs; no unit test is built (EQ_TESTS is off by
# default below the top level). Configures only (seconds); registered in ctest by
# CMakeLists.txt.
# Prints "N passed, N failed" and fails on any failure.
file(REMOVE_RECURSE "${BIN}")
unset(ENV{CFLAGS})  # the default flags must be CMake's, whatever the calling shell exports
set(args -S "${SRC}/tests/cmake-consumer" -B "${BIN}" -G "Unix Makefiles" -DEDGEQ_DIR=${SRC}
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
if(CC)
  list(APPEND args -DCMAKE_C_COMPILER=${CC})
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
set(pass 0)
set(fail 0)
macro(check cond msg)  # cond: an if() condition, as text
  cmake_language(EVAL CODE "if(${cond})\nset(_ok 1)\nelse()\nset(_ok 0)\nendif()")
  if(_ok)
    math(EXPR pass "${pass} + 1")
  else()
    math(EXPR fail "${fail} + 1")
    message("FAIL: ${msg}")
  endif()
endmacro()

check("rc EQUAL 0" "configuring the consumer failed:\n${out}")
set(consumer "")
set(edgeq_src "")
set(unit_tests 0)
if(EXISTS "${BIN}/compile_commands.json")
  file(READ "${BIN}/compile_commands.json" cc)
  string(JSON n LENGTH "${cc}")
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON file GET "${cc}" ${i} file)
    string(JSON cmd GET "${cc}" ${i} command)
    if(file MATCHES "cmake-consumer/consumer\\.c$")
      set(consumer "${cmd}")
    elseif(file MATCHES "src/quant/types\\.c$")
      set(edgeq_src "${cmd}")
    elseif(file MATCHES "tests/unit/")
      math(EXPR unit_tests "${unit_tests} + 1")
    endif()
  endforeach()
endif()
check("NOT consumer STREQUAL \"\"" "no compile command for consumer.c")
check("NOT edgeq_src STREQUAL \"\"" "no compile command for edgeq's src/quant/types.c")
foreach(flag -Wall -Wextra -march= -fsanitize -ffp-contract -O1 -O2 -O3 -DEQ_)
  string(FIND "${consumer}" "${flag}" at)
  check("at EQUAL -1" "consumer.c is compiled with edgeq's ${flag}: ${consumer}")
endforeach()
foreach(flag -Wall -march=native)
  string(FIND "${edgeq_src}" "${flag}" at)
  check("NOT at EQUAL -1" "edgeq's own sources lost ${flag}: ${edgeq_src}")
endforeach()
check("unit_tests EQUAL 0" "${unit_tests} unit test sources are built below the top level")

# With -DLIB=<libedgeq.a built by the caller>: a program that links a cJSON of its own beside
# the archive links, and each side keeps its own cJSON (own_cjson.c; compiled and run here,
# seconds, rather than building edgeq again inside the consumer).
if(LIB)
  set(scratch "${BIN}/own-cjson")
  file(MAKE_DIRECTORY "${scratch}")
  if(NOT CC)
    set(CC cc)
  endif()
  execute_process(COMMAND "${CC}" -std=c99 -Wall -Werror "-I${SRC}/include" "${SRC}/tests/cmake-consumer/own_cjson.c"
      "${LIB}" -lm -pthread -o "${BIN}/own_cjson"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  check("rc EQUAL 0" "a program with its own cJSON does not link with libedgeq.a:\n${out}")
  if(rc EQUAL 0)
    execute_process(COMMAND "${BIN}/own_cjson" "${scratch}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    check("rc EQUAL 0" "own_cjson:\n${out}")
  endif()
endif()
message("cmake-consumer: ${pass} passed, ${fail} failed")
if(fail)
  message(FATAL_ERROR "edgeq leaks into a project that builds or links it")
endif()
