/* edgeq CLI: the usage text and the options every command shares (cli_parse), with their
 * range checks. main.c dispatches; commands with positional arguments parse their own. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "runtime/entropy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __wasi__
/* wasm32's linear memory ends at 4 GiB: a context that cannot fit there is refused up front
 * (64 MiB left for the stack, the vocabulary, the request and the allocator's slack) */
#define EQ_SERVE_MEMORY_DEFAULT 4032
#define EQ_SERVE_MEMORY_DEFAULT_TEXT "4032 in this WASI build: 4 GiB of linear memory less 64 MiB"
#else
#define EQ_SERVE_MEMORY_DEFAULT 0
#define EQ_SERVE_MEMORY_DEFAULT_TEXT "0 natively, 4032 in the WASI build"
#endif

void cli_usage(FILE *f) {
    fprintf(f,
        "usage: edgeq COMMAND [options]\n"
        "commands:\n"
        "  run       -m FILE -p PROMPT [-n N] [-c CTX] [-t THREADS] [--temp T] [--top-k K] [--top-p P]\n"
        "            [--min-p P] [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--logits-out FILE]\n"
        "            [--special] (print control tokens' text, like llama-completion -sp)\n"
        "            (no --seed, or --seed -1: a fresh random seed each run)\n"
        "            (the text goes out as the model's bytes; on a terminal, control characters are escaped)\n"
        "  chat      -m FILE [--system TEXT] [-c CTX] [-t THREADS] [sampling options]\n"
        "  tokenize  -m FILE -p TEXT [--no-bos] [--no-parse-special]\n"
        "  info      -m FILE [--tensors]\n"
        "  bench     -m FILE [-p 128] [-n 64] [-d DEPTH] [-t N] [-r REPS] [--json]\n"
        "            (-d: each test runs after DEPTH tokens already in the cache, like llama-bench -d)\n"
        "  perplexity -m FILE -f TEXT [-c 512] [--chunks N] [--save-logits FILE | --kl-base FILE] [--json]\n"
        "            (llama-perplexity's numbers; --kl-divergence-base/--kl-divergence also accepted)\n"
        "  serve     -m FILE [-c CTX] [-n N] < request.json   (OpenAI chat completion; CGI/WAGI aware)\n"
        "            per-request limits: --max-tokens-cap N (completion tokens; larger requests are\n"
        "            clamped, none asked gets N; ends with finish_reason \"length\"),\n"
        "            --deadline-ms N (wall time from the request's arrival, prompt included: before the\n"
        "            first token a 503 \"timeout\" error, after it the completion ends with \"length\"),\n"
        "            --max-memory-mb N (weights + KV cache + scratch must fit, else a 503 naming both;\n"
        "            0: no cap; default %s)\n"
        "  convert   HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0]   (Hugging Face folder to GGUF)\n"
        "  quantize  IN.gguf OUT.gguf TYPE [--threads N] [--imatrix FILE] [--pure] (see quantize --help)\n"
        "common: -f FILE (prompt from a file), -b BATCH, --kv-type f16|f32, -v (verbose),\n"
        "        --no-huge-pages (weights in ordinary pages: generation a little slower, the load\n"
        "        sometimes faster in VMs that hand free memory back to their host),\n"
        "        -t THREADS (default: one per CPU this process may use; at most %d, and never more\n"
        "        threads than those CPUs: the results do not depend on the count)\n"
        "output files (quantize, convert, --logits-out, --save-logits) are written under a temporary name\n"
        "in their folder (.NAME.edgeq-*.tmp) and renamed when complete; they may not be an input or a folder\n",
        EQ_SERVE_MEMORY_DEFAULT_TEXT, EQ_MAX_THREADS);
}

static int parse_int(const char *s, const char *opt, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        cli_error("option %s: '%s' is not a number in [%d, %d]", opt, s, lo, hi);
        return 2;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_threads(const char *what, const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && !*end && (errno == ERANGE || v > EQ_MAX_THREADS)) {
        cli_error("%s: %s threads are too many (at most %d)", what, s, EQ_MAX_THREADS);
        return 2;
    }
    if (errno || *end || end == s || v < 1) {
        cli_error("%s: '%s' is not a thread count (1 to %d)", what, s, EQ_MAX_THREADS);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* A finite number in [lo, hi] (lo excluded when lo_open): what serve's request checks ask. */
static int parse_float(const char *s, const char *opt, float lo, int lo_open, float hi, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (*end || end == s || !isfinite(v)) {
        cli_error("option %s: '%s' is not a number", opt, s);
        return 2;
    }
    if (v < lo || (lo_open && v == lo) || v > hi) {
        if (isinf(hi)) cli_error("option %s: %s is out of range (must be %s %g)", opt, s, lo_open ? ">" : ">=", lo);
        else cli_error("option %s: %s is out of range (must be in %c%g, %g])", opt, s, lo_open ? '(' : '[', lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

/* An unsigned 64-bit seed: digits only (strtoull would take "-1" as 2^64 - 1); "-1" is
 * llama.cpp's spelling for "a random seed", as when no seed is given. */
static int parse_seed(const char *s, const char *opt, uint64_t *out, int *given) {
    if (!strcmp(s, "-1")) { *given = 0; return 0; }
    char *end;
    errno = 0;
    unsigned long long v = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!(s[0] >= '0' && s[0] <= '9') || errno || *end) {
        cli_error("option %s: '%s' is not a number in [0, 18446744073709551615] (or -1: random)", opt, s);
        return 2;
    }
    *out = (uint64_t)v;
    *given = 1;
    return 0;
}

int cli_parse(int argc, char **argv, int first, cli_args *a, const char *cmd) {
    memset(a, 0, sizeof *a);
    a->n_predict = -1;
    a->n_ctx = 0;
    a->n_batch = 0;
    a->reps = 3;
    a->sp = eq_sampler_default_params();
    int bench = !strcmp(cmd, "bench");
    int seed_given = 0;
    const char *llama_logits_file = NULL;  /* llama-perplexity's spelling: saves, or with --kl-divergence compares */
    int kl_flag = 0;
    if (bench) { a->n_prompt_bench = 128; a->n_predict = 64; }
    a->max_memory_mb = EQ_SERVE_MEMORY_DEFAULT;
    const int serve = !strcmp(cmd, "serve");
    for (int i = first; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) { cli_error("option %s needs a value", o); return 2; } i++; } while (0)
#define INT(dst, lo, hi) do { NEEDV(); if (parse_int(v, o, lo, hi, &(dst))) return 2; } while (0)
#define FLT(dst, lo, lo_open, hi) do { NEEDV(); if (parse_float(v, o, lo, lo_open, hi, &(dst))) return 2; } while (0)
        if (!strcmp(o, "-m") || !strcmp(o, "--model")) { NEEDV(); a->model = v; }
        else if (!strcmp(o, "-p") || !strcmp(o, "--prompt")) {
            if (bench) INT(a->n_prompt_bench, 0, 1 << 20);
            else { NEEDV(); a->prompt = v; }
        }
        else if (!strcmp(o, "-f") || !strcmp(o, "--file")) { NEEDV(); a->prompt_file = v; }
        else if (!strcmp(o, "-n") || !strcmp(o, "--n-predict")) INT(a->n_predict, -1, 1 << 24);
        else if (!strcmp(o, "-c") || !strcmp(o, "--ctx-size")) INT(a->n_ctx, 0, 1 << 22);
        else if (!strcmp(o, "-t") || !strcmp(o, "--threads")) {
            NEEDV();
            if (cli_parse_threads(!strcmp(o, "-t") ? "option -t" : "option --threads", v, &a->n_threads)) return 2;
        }
        else if (!strcmp(o, "-b") || !strcmp(o, "--batch-size")) INT(a->n_batch, 1, 1 << 16);
        else if (!strcmp(o, "-r") || !strcmp(o, "--repetitions")) INT(a->reps, 1, 1000);
        else if (!strcmp(o, "-d") || !strcmp(o, "--n-depth")) INT(a->n_depth, 0, 1 << 22);
        else if (!strcmp(o, "--temp")) FLT(a->sp.temp, 0.f, 0, INFINITY);
        else if (!strcmp(o, "--top-k")) INT(a->sp.top_k, 0, 1 << 30);
        else if (!strcmp(o, "--top-p")) FLT(a->sp.top_p, 0.f, 0, 1.f);
        else if (!strcmp(o, "--min-p")) FLT(a->sp.min_p, 0.f, 0, 1.f);
        else if (!strcmp(o, "--repeat-penalty")) FLT(a->sp.repeat_penalty, 0.f, 1, INFINITY);
        else if (!strcmp(o, "--repeat-last-n")) INT(a->sp.repeat_last_n, 0, 1 << 20);
        else if (!strcmp(o, "--seed") || !strcmp(o, "-s")) { NEEDV(); if (parse_seed(v, o, &a->sp.seed, &seed_given)) return 2; }
        else if (!strcmp(o, "--system")) { NEEDV(); a->system = v; }
        else if (!strcmp(o, "--logits-out")) { NEEDV(); a->logits_out = v; }
        else if (!strcmp(o, "--kl-base")) { NEEDV(); a->kl_base = v; }
        else if (!strcmp(o, "--save-logits") || !strcmp(o, "--save-all-logits")) { NEEDV(); a->save_logits = v; }
        else if (!strcmp(o, "--kl-divergence-base")) { NEEDV(); llama_logits_file = v; }
        else if (!strcmp(o, "--kl-divergence")) kl_flag = 1;
        else if (!strcmp(o, "--chunks")) INT(a->n_chunks, -1, 1 << 24);
        else if (!strcmp(o, "--kv-type")) {
            NEEDV();
            if (strcmp(v, "f16") && strcmp(v, "f32")) { cli_error("--kv-type must be f16 or f32"); return 2; }
            a->kv_type = v;
        }
        else if (serve && !strcmp(o, "--max-tokens-cap")) INT(a->max_tokens_cap, 1, 1 << 24);
        else if (serve && !strcmp(o, "--deadline-ms")) INT(a->deadline_ms, 1, 86400000);
        else if (serve && !strcmp(o, "--max-memory-mb")) INT(a->max_memory_mb, 0, 1 << 24);
        else if (!strcmp(o, "--json")) a->json = 1;
        else if (!strcmp(o, "--no-bos")) a->no_bos = 1;
        else if (!strcmp(o, "--no-parse-special")) a->no_parse_special = 1;
        else if (!strcmp(o, "--tensors")) a->show_tensors = 1;
        else if (!strcmp(o, "-sp") || !strcmp(o, "--special")) a->special = 1;
        else if (!strcmp(o, "--ids")) a->ids_only = 1;
        else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) a->verbose = 1;
        else if (!strcmp(o, "--no-huge-pages")) a->no_huge_pages = 1;
        else if (!strcmp(o, "-h") || !strcmp(o, "--help")) { cli_usage(stdout); cli_exit(0); }
        else { cli_error("unknown option '%s' for '%s' (see edgeq --help)", o, cmd); return 2; }
#undef NEEDV
#undef INT
#undef FLT
    }
    if (!a->model) { cli_error("%s: no model given (-m FILE)", cmd); return 2; }
    if (!seed_given) a->sp.seed = eq_entropy64();   /* a fresh seed each run, as llama.cpp's tools */
    if (llama_logits_file) {
        if (kl_flag) a->kl_base = llama_logits_file;
        else a->save_logits = llama_logits_file;
    } else if (kl_flag) { cli_error("--kl-divergence needs --kl-divergence-base FILE"); return 2; }
    return 0;
}
