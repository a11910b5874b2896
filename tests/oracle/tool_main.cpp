/* main() for llama.cpp's command-line tools (llama-perplexity, llama-quantize) compiled from the
 * bundled source but linked against node-llama-cpp's prebuilt libraries. Those libraries load
 * their CPU backend at run time (one libggml-cpu-<variant>.so per x86 level), which the tools'
 * own main() leaves to a static build; C++ because the tools' entry points are C++ functions; so load it first, then hand over to the tool. Building
 * just the tool this way takes seconds instead of a full llama.cpp build. */
#include <cstdlib>
#include "ggml-backend.h"

int EQ_TOOL_ENTRY(int argc, char **argv);   /* llama_perplexity, llama_quantize (C++ linkage) */

int main(int argc, char **argv) {
    const char *dir = getenv("EQ_LLAMA_LIBDIR");
    ggml_backend_load_all_from_path(dir && *dir ? dir : EQ_LLAMA_LIBDIR_DEFAULT);
    return EQ_TOOL_ENTRY(argc, argv);
}
