/* What every command starts from: the model named by -m, its context, the prompt, and the
 * clock the timings use. Apart from main.c so that the commands need nothing from it. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

eq_model *cli_load(const cli_args *a, int vocab_only) {
    eq_model_params mp = eq_model_default_params();
    mp.vocab_only = vocab_only;
    mp.no_huge_pages = a->no_huge_pages;
    eq_model *m = NULL;
    char err[512];
    double t0 = cli_now();
    if (eq_model_load(a->model, &mp, &m, err, sizeof err)) {
        cli_error("%s", err);
        return NULL;
    }
    if (a->verbose) {
        char path[1024];
        fprintf(stderr, "edgeq: loaded %s (%s, %.1f MiB) in %.2f s\n", cli_esc(path, sizeof path, a->model), eq_model_arch(m),
                eq_model_size_bytes(m) / 1048576.0, cli_now() - t0);
    }
    return m;
}

eq_ctx *cli_context(const cli_args *a, eq_model *m) {
    eq_ctx_params cp = eq_ctx_default_params();
    cp.n_ctx = a->n_ctx;
    if (cp.n_ctx == 0) {
        /* like llama.cpp's tools: the model's context, capped so a 128k model stays usable */
        cp.n_ctx = eq_model_n_ctx_train(m) < 4096 ? eq_model_n_ctx_train(m) : 4096;
    }
    cp.n_threads = a->n_threads;
    if (a->n_batch) cp.n_batch = a->n_batch;
    if (a->kv_type && !strcmp(a->kv_type, "f32")) cp.kv_type = EQ_KV_F32;
    eq_ctx *c = NULL;
    char err[512];
    if (eq_ctx_new(m, &cp, &c, err, sizeof err)) {
        cli_error("%s: %s", a->model, err);
        return NULL;
    }
    return c;
}

char *cli_prompt(const cli_args *a) {
    if (a->prompt_file) {
        FILE *f = fopen(a->prompt_file, "rb");
        if (!f) { cli_error("%s: cannot open prompt file", a->prompt_file); return NULL; }
        size_t cap = 1 << 16, n = 0;
        char *b = malloc(cap + 1);
        size_t got;
        while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                char *nb = realloc(b, cap * 2 + 1);
                if (!nb) { free(b); b = NULL; break; }
                b = nb;
                cap *= 2;
            }
        }
        fclose(f);
        if (!b) { cli_error("out of memory reading %s", a->prompt_file); return NULL; }
        b[n] = 0;
        return b;
    }
    if (!a->prompt) { cli_error("no prompt given (-p TEXT or -f FILE)"); return NULL; }
    char *s = malloc(strlen(a->prompt) + 1);
    if (s) strcpy(s, a->prompt);
    return s;
}
