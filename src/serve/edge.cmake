# The edge-function mode behind `edgeq serve` (tools/cmd_serve.c): src/serve/edge.c, a library
# of its own so a native CGI or another host can reuse it. Included by CMakeLists.txt for
# every target. JSON through the vendored cJSON (third_party/cjson).
add_library(edgeq-edge STATIC ${CMAKE_CURRENT_LIST_DIR}/edge.c ${CMAKE_CURRENT_LIST_DIR}/edge_json.c)
target_include_directories(edgeq-edge
  PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/third_party/cjson/prefixed
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(edgeq-edge PUBLIC edgeq)
eq_target_options(edgeq-edge)
# cJSON's own copy unless the core library already compiles it (the converter uses it too).
# Both being archives, a second copy could never clash anyway: the linker takes one member.
get_target_property(_eq_core_sources edgeq SOURCES)
if(NOT _eq_core_sources MATCHES "cJSON\\.c")
  target_sources(edgeq-edge PRIVATE ${PROJECT_SOURCE_DIR}/third_party/cjson/prefixed/cJSON.c)
  # upstream code, kept byte-for-byte: its warnings are not ours to fix
  set_source_files_properties(${PROJECT_SOURCE_DIR}/third_party/cjson/prefixed/cJSON.c
    PROPERTIES COMPILE_OPTIONS "-w")
endif()
target_link_libraries(edgeq-cli PRIVATE edgeq-edge)
