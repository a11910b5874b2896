# The browser / Node modules (Emscripten), included from CMakeLists.txt when EMSCRIPTEN.
#
# Four flavours of one module (wasm/web/edgeq_web.c over the C core), all WASM SIMD128, 32-bit
# memory growing to 4 GB, no Asyncify/JSPI, no Memory64, written to the build directory:
#   edgeq-web-mt.js/.wasm/.worker.js  pthreads (a page that is cross-origin isolated), ES module
#   edgeq-web-st.js/.wasm             single-threaded (any static host), ES module
#   edgeq-node-mt.js/.wasm/.worker.js pthreads via worker_threads, CommonJS (Node)
#   edgeq-node-st.js/.wasm            single-threaded, CommonJS (Node)
# The ES module glue fetch()es the .wasm and uses __dirname under Node, hence the separate
# CommonJS builds for Node (js/src/node.js loads them with createRequire + wasmBinary).
#
# The core is compiled twice: `edgeq` (the default library, no threads: the preset turns
# EQ_THREADS off) and `edgeq_mt` (-pthread, so the thread pool uses Emscripten's pthreads on
# Web Workers). Workers are created up front (PTHREAD_POOL_SIZE, from Module.eqPoolSize): a
# pthread_create on a blocked main thread could otherwise never start, and with
# PTHREAD_POOL_SIZE_STRICT=2 an exhausted pool returns EAGAIN, which the pool handles by
# running with the threads it got.

set_target_properties(edgeq-cli PROPERTIES EXCLUDE_FROM_ALL ON)

# the same sources, include directories and definitions as `edgeq`, whatever CMakeLists.txt
# gives it (per-file properties such as -ffp-contract=off apply to both: same directory)
get_target_property(_eqw_sources edgeq SOURCES)
get_target_property(_eqw_includes edgeq INCLUDE_DIRECTORIES)
get_target_property(_eqw_pub_includes edgeq INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(_eqw_defs edgeq COMPILE_DEFINITIONS)
get_target_property(_eqw_libs edgeq LINK_LIBRARIES)
add_library(edgeq_mt STATIC ${_eqw_sources})
target_include_directories(edgeq_mt PRIVATE ${_eqw_includes} INTERFACE ${_eqw_pub_includes})
if(_eqw_defs)
  target_compile_definitions(edgeq_mt PRIVATE ${_eqw_defs})
endif()
if(_eqw_libs)
  target_link_libraries(edgeq_mt PUBLIC ${_eqw_libs})
endif()
eq_target_options(edgeq_mt)
target_compile_options(edgeq_mt PRIVATE -pthread)

set(EQW_DIR "${CMAKE_CURRENT_SOURCE_DIR}/wasm/web")
# emmalloc, not dlmalloc: dlmalloc refuses any single request of 2 GiB or more on wasm32, and
# the loader allocates a file's tensor data in one block (a single-file model over 2 GiB).
# Our allocations are few and large, which is what emmalloc is for.
set(EQW_LINK
  -O3 -msimd128
  -sMODULARIZE=1 -sEXPORT_NAME=createEdgeq
  -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=32MB -sABORTING_MALLOC=0
  -sMALLOC=emmalloc
  -sFILESYSTEM=0 -sEXIT_RUNTIME=0 -sSTACK_OVERFLOW_CHECK=0
  -sEXPORTED_RUNTIME_METHODS=['wasmMemory']
  # the WebGPU backend's imports: forwards to Module.eqGpu (webgpu.js's Device)
  --js-library ${CMAKE_CURRENT_SOURCE_DIR}/wasm/web/library_webgpu.js)
set(EQW_MT_LINK -pthread "-sPTHREAD_POOL_SIZE=(Module.eqPoolSize||4)" -sPTHREAD_POOL_SIZE_STRICT=2)

function(eqw_module name lib env)
  add_executable(${name} ${EQW_DIR}/edgeq_web.c)
  target_link_libraries(${name} PRIVATE ${lib})
  eq_target_options(${name})
  target_compile_options(${name} PRIVATE ${ARGN})
  target_link_options(${name} PRIVATE ${EQW_LINK} ${ARGN} -sENVIRONMENT=${env})
  set_target_properties(${name} PROPERTIES SUFFIX ".js" LINK_DEPENDS "${EQW_DIR}/web.cmake;${EQW_DIR}/library_webgpu.js")
endfunction()

eqw_module(edgeq-web-st edgeq web,worker)
target_link_options(edgeq-web-st PRIVATE -sEXPORT_ES6=1)
eqw_module(edgeq-web-mt edgeq_mt web,worker -pthread)
target_link_options(edgeq-web-mt PRIVATE -sEXPORT_ES6=1 ${EQW_MT_LINK})
# a library must not install process-wide handlers: no uncaughtException/unhandledRejection hooks
set(EQW_NODE_LINK -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0)
eqw_module(edgeq-node-st edgeq node)
target_link_options(edgeq-node-st PRIVATE ${EQW_NODE_LINK})
eqw_module(edgeq-node-mt edgeq_mt node,worker -pthread)
target_link_options(edgeq-node-mt PRIVATE ${EQW_MT_LINK} ${EQW_NODE_LINK})
