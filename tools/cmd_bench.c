/* edgeq bench: prompt processing (pp) and generation (tg) speed, measured the way llama-bench
 * measures them: pp decodes N random tokens as one batch on an empty cache, tg decodes N tokens
 * one at a time on an empty cache; a warm-up run first, then the mean over -r repetitions.
 * With -d D the cache holds D other tokens first (decoded untimed, in batches), as llama-bench
 * -d does: the speed at that much context. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

/* a JSON string literal: paths may hold quotes, backslashes or control bytes */
static void put_json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

typedef struct { const eq_token *toks; int n, batch; } bench_depth;

static double run_once(eq_ctx *c, const eq_token *toks, int n, int batch, const bench_depth *d) {
    eq_ctx_truncate(c, 0);
    for (int i = 0; i < d->n; i += d->batch) {
        int k = d->n - i < d->batch ? d->n - i : d->batch;
        if (eq_decode(c, d->toks + i, k)) return -1;
    }
    double t0 = cli_now();
    for (int i = 0; i < n; i += batch) {
        int k = n - i < batch ? n - i : batch;
        if (eq_decode(c, toks + i, k)) return -1;
    }
    return cli_now() - t0;
}

static int measure(eq_ctx *c, const eq_token *toks, int n, int batch, const bench_depth *d, int reps, double *mean,
                   double *sd) {
    if (run_once(c, toks, n, batch, d) < 0) return 1; /* warm-up */
    double s = 0, s2 = 0;
    for (int r = 0; r < reps; r++) {
        double t = run_once(c, toks, n, batch, d);
        if (t < 0) return 1;
        double tps = n / t;
        s += tps;
        s2 += tps * tps;
    }
    *mean = s / reps;
    *sd = reps > 1 ? sqrt(fmax(0, (s2 - s * s / reps) / (reps - 1))) : 0;
    return 0;
}

int cmd_bench(const cli_args *a) {
    eq_model *m = cli_load(a, 0);
    if (!m) return 1;
    cli_args ca = *a;
    int need = a->n_prompt_bench > a->n_predict ? a->n_prompt_bench : a->n_predict;
    const int depth = a->n_depth;   /* <= 2^22, and need <= 2^24 (cli_parse): no overflow */
    if (ca.n_ctx == 0) ca.n_ctx = depth + need > 16 ? depth + need : 16;
    if (ca.n_batch == 0) {   /* pp's batch; the depth is filled in batches of up to 512 */
        ca.n_batch = a->n_prompt_bench > 0 ? a->n_prompt_bench : 1;
        if (depth > ca.n_batch) ca.n_batch = depth < 512 ? depth : 512;
    }
    eq_ctx *c = cli_context(&ca, m);
    if (!c) { eq_model_free(m); return 1; }
    eq_token *toks = malloc((size_t)(depth + need > 0 ? depth + need : 1) * sizeof *toks);
    if (!toks) { cli_error("out of memory"); eq_ctx_free(c); eq_model_free(m); return 1; }
    const bench_depth d = {toks + need, depth, ca.n_batch};
    uint64_t x = 42;
    for (int i = 0; i < depth + need; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (eq_token)((x >> 33) % (uint64_t)eq_model_n_vocab(m));
    }
    int rc = 0;
    double pp = 0, pp_sd = 0, tg = 0, tg_sd = 0;
    int threads = eq_ctx_n_threads(c);   /* what ran: -t, or the CPUs we may use */
    if (a->n_prompt_bench > 0 && measure(c, toks, a->n_prompt_bench, ca.n_batch, &d, a->reps, &pp, &pp_sd)) rc = 1;
    if (!rc && a->n_predict > 0 && measure(c, toks, a->n_predict, 1, &d, a->reps, &tg, &tg_sd)) rc = 1;
    if (rc) {
        cli_error("%s: decode failed: %s", a->model, eq_ctx_errmsg(c));
    } else if (a->json) {
        printf("{\"model\": ");
        put_json_str(a->model);
        printf(", \"arch\": \"%s\", \"size\": %llu, \"params\": %llu, \"threads\": %d, \"depth\": %d, "
               "\"pp\": {\"n\": %d, \"tps\": %.3f, \"sd\": %.3f}, \"tg\": {\"n\": %d, \"tps\": %.3f, \"sd\": %.3f}}\n",
               eq_model_arch(m), (unsigned long long)eq_model_size_bytes(m), (unsigned long long)eq_model_n_params(m),
               threads, depth, a->n_prompt_bench, pp, pp_sd, a->n_predict, tg, tg_sd);
    } else {
        char at[32] = "";
        if (depth) snprintf(at, sizeof at, " @ d%d", depth);
        if (a->n_prompt_bench > 0) printf("pp%-5d %10.2f ± %.2f t/s%s\n", a->n_prompt_bench, pp, pp_sd, at);
        if (a->n_predict > 0) printf("tg%-5d %10.2f ± %.2f t/s%s\n", a->n_predict, tg, tg_sd, at);
    }
    free(toks);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
