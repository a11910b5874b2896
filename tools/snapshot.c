/* A pre-initialised WASI module (scripts/edge-snapshot.sh): Wizer calls the exported
 * `wizer.initialize` once, at build time, and saves the instance's linear memory as the new
 * module's data, so every instance of the result starts with the model (weights, vocabulary,
 * tokenizer tables) and a context already in memory, and `serve` needs no -m and no file.
 *
 * The model arrives on stdin (wizer --allow-wasi inherits it), not through a preopened
 * directory: wasi-libc registers preopens in a table in linear memory, and one registered at
 * build time would be frozen into every instance (a stale name for an fd that the runtime host
 * may give to another directory). Environment at build time:
 *   EDGEQ_SNAPSHOT_NAME   the model's name for responses ("model" when a request names none)
 *   EDGEQ_SNAPSHOT_CTX    context size (default min(model's, 1024), as `serve`)
 *   EDGEQ_SNAPSHOT_BATCH  batch (default 64, as `serve`)
 * What must stay per instance is left out of the snapshot: stdin is read with read(2), never
 * through stdio (a FILE at EOF would be frozen too), the environment is zeroed and forgotten
 * at the end (wasi-libc reads it once and keeps it), and nothing random is drawn here: seeds and ids come
 * from eq_entropy64 when a request is served.
 *
 * This file holds the CLI's one piece of global state: the snapshot is by definition what an
 * instance's memory holds before main runs, and main has nowhere else to find it. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    eq_model *model;
    eq_ctx *ctx;
    eq_ctx_params cp;
    char name[128];
} snapshot;

static snapshot g_snap;   /* zero in a plain module: no snapshot */

int cli_snapshot(eq_model **m, eq_ctx **c, eq_ctx_params *cp, const char **name) {
    if (!g_snap.model) return 0;
    *m = g_snap.model;
    *c = g_snap.ctx;
    *cp = g_snap.cp;
    *name = g_snap.name;
    return 1;
}

#ifdef __wasi__
/* wasi-libc: the environment (read on first use), and its release: the next getenv reads the
 * running instance's afresh */
char **__wasilibc_get_environ(void);
void __wasilibc_deinitialize_environ(void);

/* The build machine's environment (PATH, ...) would stay in the image as freed bytes: zero it. */
static void forget_environ(void) {
    char **env = __wasilibc_get_environ();
    for (char **e = env; e && *e; e++) memset(*e, 0, strlen(*e));
    __wasilibc_deinitialize_environ();
}

static int env_int(const char *k, int lo, int hi, int def) {
    const char *v = getenv(k);
    if (!v || !*v) return def;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "edgeq snapshot: %s='%s' is not a number in [%d, %d]\n", k, v, lo, hi);
        abort();
    }
    return (int)x;
}

/* Any failure aborts (a trap), which makes wizer fail with the message above it. */
__attribute__((export_name("wizer.initialize")))
void eq_snapshot_initialize(void) {
    const char *name = getenv("EDGEQ_SNAPSHOT_NAME");
    snprintf(g_snap.name, sizeof g_snap.name, "%s", name && *name ? name : "edgeq");
    int n_ctx = env_int("EDGEQ_SNAPSHOT_CTX", 0, 1 << 20, 0);
    int n_batch = env_int("EDGEQ_SNAPSHOT_BATCH", 1, 1 << 16, 64);

    eq_model_params mp = eq_model_default_params();
    eq_loader *l = NULL;
    char msg[512];
    if (eq_loader_new(&mp, 1, &l, msg, sizeof msg)) { fprintf(stderr, "edgeq snapshot: %s\n", msg); abort(); }
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    if (!buf) { fprintf(stderr, "edgeq snapshot: out of memory\n"); abort(); }
    uint64_t total = 0;
    for (;;) {
        ssize_t got = read(0, buf, CHUNK);
        if (got < 0) { perror("edgeq snapshot: reading the model from stdin"); abort(); }
        if (got == 0) break;
        total += (uint64_t)got;
        eq_status st = eq_loader_feed(l, 0, buf, (size_t)got);
        if (st && st != EQ_ERR_NEED_MORE) { fprintf(stderr, "edgeq snapshot: %s\n", eq_loader_errmsg(l)); abort(); }
    }
    free(buf);
    if (eq_loader_finish(l, &g_snap.model)) {
        fprintf(stderr, "edgeq snapshot: %s (after %llu bytes on stdin)\n", eq_loader_errmsg(l), (unsigned long long)total);
        abort();
    }
    eq_loader_free(l);

    eq_ctx_params cp = eq_ctx_default_params();
    int train = eq_model_n_ctx_train(g_snap.model);
    cp.n_ctx = n_ctx ? n_ctx : (train > 0 && train < 1024 ? train : 1024);
    cp.n_batch = n_batch;
    if (eq_ctx_new(g_snap.model, &cp, &g_snap.ctx, msg, sizeof msg)) { fprintf(stderr, "edgeq snapshot: %s\n", msg); abort(); }
    g_snap.cp = cp;
    fprintf(stderr, "edgeq snapshot: %s, %llu bytes, context %d, batch %d\n", g_snap.name,
            (unsigned long long)total, cp.n_ctx, cp.n_batch);
    forget_environ();
}
#endif
