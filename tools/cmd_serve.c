/* edgeq serve: the edge-function mode. One OpenAI chat-completions request on stdin, the
 * response on stdout (JSON, or server-sent events for "stream": true); see src/serve/edge.h.
 *
 *   edgeq serve -m model.gguf [-c CTX] [-b BATCH] [-n MAX_TOKENS] [sampling defaults] [-v]
 *   wasmtime run --dir=. edgeq.wasm serve -m model.gguf < request.json
 *
 * The model comes from -m or, failing that, the EDGEQ_MODEL environment variable (what a
 * WAGI/Spin component's configuration sets), or else a pre-initialised module's own memory
 * (scripts/edge-snapshot.sh, tools/snapshot.c: its context too, unless -c/-b/--kv-type/-t ask
 * for another). Under CGI/WAGI (REQUEST_METHOD set) the response
 * starts with CGI headers (Content-Type, and Status for errors; Allow with a 405) and the exit
 * status is 0 even for an error response, since hosts turn a failed exit into their own 500;
 * run directly, an error response exits 1. CONTENT_LENGTH, when set, must be digits, within
 * the body limit, and match what stdin holds (else 400/413, never a guess). The request is validated before the model is loaded, so a bad
 * request costs no load. Defaults sized for edge memory limits: context min(model, 1024),
 * batch 64 (-c 512 keeps SmolLM2-135M Q4_1 near 110 MiB of linear memory).
 *
 * Per-request limits: --max-tokens-cap (clamps the completion), --deadline-ms (wall time from
 * the start of this command: model load and prompt included), --max-memory-mb (weights plus
 * the context's estimate, checked before the context is allocated; default 4032 under WASI,
 * whose 32-bit linear memory ends at 4 GiB). */
#include "cli.h"
#include "edge.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    int cgi;
    int status;     /* what head() was told */
} serve_io;

static void io_head(void *user, int status, const char *content_type) {
    serve_io *io = user;
    io->status = status;
    if (!io->cgi) return;
    printf("Content-Type: %s\n", content_type);
    if (status != 200) printf("Status: %d %s\n", status, eq_edge_status_text(status));
    if (status == 405) printf("Allow: POST\n");   /* RFC 9110: a 405 says what is allowed */
    if (!strcmp(content_type, "text/event-stream")) printf("Cache-Control: no-cache\n");
    printf("\n");
}

static void io_write(void *user, const char *data, size_t n) {
    (void)user;
    fwrite(data, 1, n, stdout);
    fflush(stdout);   /* each streamed event leaves at once */
}

/* The body: CONTENT_LENGTH bytes under CGI, else stdin to EOF; never more than max + 1
 * (one byte over tells the parser it is too large). NULL with *err set when CONTENT_LENGTH is
 * not a byte count, announces more than max, or more than stdin holds; on a read error; or
 * when out of memory. */
static char *read_body(size_t max, size_t *len, eq_edge_error *err) {
    size_t want = max + 1;
    int announced = 0;
    const char *cl = getenv("CONTENT_LENGTH");
    if (cl && *cl) {
        /* RFC 3875: 1*digit. strtoull would take a sign, spaces and a junk tail, and an
         * overflow is a size like any other too large one */
        size_t v = 0;
        int over = 0;
        const char *p = cl;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (SIZE_MAX - 9) / 10) over = 1;
            else v = v * 10 + (size_t)(*p - '0');
        }
        if (*p) {
            char q[64];
            eq_edge_set_error(err, 400, "invalid_request_error", "invalid_content_length", NULL,
                              "Invalid CONTENT_LENGTH '%s': expected a decimal byte count.",
                              eq_edge_excerpt(q, sizeof q, cl, strlen(cl), 24));
            return NULL;
        }
        if (over || v > max) {
            eq_edge_set_error(err, 413, "invalid_request_error", "request_too_large", NULL,
                              "The request body is larger than %zu bytes.", max);
            return NULL;
        }
        want = v;
        announced = 1;
    }
    size_t cap = want < 65536 ? want + 1 : 65536, n = 0;
    char *b = malloc(cap);
    while (b && n < want) {
        if (n == cap) {
            size_t nc = cap * 2 > want ? want + 1 : cap * 2;
            char *nb = realloc(b, nc);
            if (!nb) { free(b); return NULL; }
            b = nb;
            cap = nc;
        }
        size_t got = fread(b + n, 1, (cap < want ? cap : want) - n, stdin);
        if (got == 0) {
            if (ferror(stdin)) { free(b); eq_edge_set_error(err, 500, "server_error", NULL, NULL, "Cannot read the request body."); return NULL; }
            break;
        }
        n += got;
    }
    if (!b) { eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return NULL; }
    if (n > max) {
        free(b);
        eq_edge_set_error(err, 413, "invalid_request_error", "request_too_large", NULL, "The request body is larger than %zu bytes.", max);
        return NULL;
    }
    if (announced && n < want) {   /* a body cut short is not parsed as if it were whole */
        free(b);
        eq_edge_set_error(err, 400, "invalid_request_error", "incomplete_body", NULL,
                          "The request body ended after %zu of the %zu bytes CONTENT_LENGTH announced.", n, want);
        return NULL;
    }
    *len = n;
    return b;
}

static int has_opt(int argc, char **argv, const char *a, const char *b) {
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], a) || (b && !strcmp(argv[i], b))) return 1;
    return 0;
}

/* "dir/SmolLM2-135M.Q4_1.gguf" -> "SmolLM2-135M.Q4_1" (into buf) */
static const char *model_label(const char *path, char *buf, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf")) n -= 5;
    if (n >= cap) n = cap - 1;
    memcpy(buf, base, n);
    buf[n] = 0;
    return buf;
}

static int finish(const serve_io *io) { return io->cgi || io->status == 200 ? 0 : 1; }

int cmd_serve(int argc, char **argv) {
    const double t_arrived = eq_edge_now();   /* --deadline-ms counts from here */
    serve_io io = {0, 0};
    const char *method = getenv("REQUEST_METHOD");
    io.cgi = method != NULL;
    eq_edge_sink sink = {io_head, io_write, &io};
    eq_edge_error err;
    memset(&err, 0, sizeof err);

    /* options: the common parser, with -m taken from EDGEQ_MODEL when not given */
    const char *env_model = getenv("EDGEQ_MODEL");
    int with_env = !has_opt(argc, argv, "-m", "--model") && env_model && *env_model;
    /* a pre-initialised module (tools/snapshot.c) serves its own model unless told a file */
    eq_model *snap_m = NULL;
    eq_ctx *snap_c = NULL;
    eq_ctx_params snap_cp;
    const char *snap_name = NULL;
    int with_snap = !with_env && !has_opt(argc, argv, "-m", "--model") && cli_snapshot(&snap_m, &snap_c, &snap_cp, &snap_name);
    char **av = malloc((size_t)(argc + 3) * sizeof *av);
    if (!av) { eq_edge_set_error(&err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); eq_edge_send_error(&sink, &err); return finish(&io); }
    int ac = 0;
    for (int i = 0; i < argc; i++) av[ac++] = argv[i];
    if (with_env) { av[ac++] = "-m"; av[ac++] = (char *)env_model; }
    if (with_snap) { av[ac++] = "-m"; av[ac++] = (char *)snap_name; }   /* the name, for responses */
    av[ac] = NULL;
    cli_args a;
    int bad = cli_parse(ac, av, 2, &a, "serve");
    free(av);
    if (bad) {
        eq_edge_set_error(&err, 500, "server_error", "server_misconfigured", NULL,
                          "The server is misconfigured: %s.", with_env || has_opt(argc, argv, "-m", "--model")
                          ? "bad serve options (see its log)" : "no model given (-m FILE or the EDGEQ_MODEL environment variable)");
        eq_edge_send_error(&sink, &err);
        return finish(&io);
    }
    if (io.cgi && strcmp(method, "POST")) {
        char q[64];
        eq_edge_set_error(&err, 405, "invalid_request_error", "method_not_allowed", NULL,
                          "Method '%s' is not allowed: POST a chat-completions request.",
                          eq_edge_excerpt(q, sizeof q, method, strlen(method), 16));
        eq_edge_send_error(&sink, &err);
        return finish(&io);
    }

    eq_edge_opts o = eq_edge_default_opts();
    o.sp = a.sp;
    o.seed_given = has_opt(argc, argv, "--seed", "-s");
    o.max_tokens = a.n_predict;
    char label[128];
    o.model_name = model_label(a.model, label, sizeof label);
    o.max_tokens_cap = a.max_tokens_cap;
    o.deadline_ms = a.deadline_ms;
    if (a.deadline_ms) o.deadline = t_arrived + a.deadline_ms / 1000.0;
    const uint64_t max_memory = (uint64_t)a.max_memory_mb << 20;

    size_t len = 0;
    char *body = read_body(o.max_body, &len, &err);
    eq_edge_req *req = NULL;
    if (body) eq_edge_parse(body, len, &o, &req, &err);
    free(body);   /* the parsed request holds what it needs; the memory goes to the model */
    if (!req) { eq_edge_send_error(&sink, &err); return finish(&io); }

    double t0 = cli_now();
    eq_model_params mp = eq_model_default_params();
    mp.no_huge_pages = a.no_huge_pages;
    eq_model *m = NULL;
    eq_ctx *c = NULL;
    char msg[512];
    eq_status st = EQ_OK;
    struct stat sb;
    /* weights alone over the cap: refused before a load that could only fail or crowd the host
     * (the file's size is the weights' within a few KiB of header; a split model's first part
     * is a lower bound, the full check follows the load) */
    if (with_snap) {}   /* in memory already: no file to measure */
    else if (max_memory && stat(a.model, &sb) == 0 && (uint64_t)sb.st_size > max_memory) {
        eq_edge_set_error(&err, 503, "server_error", "memory_limit_exceeded", NULL,
                          "Not enough memory: the model file is %.1f MiB, over the server's memory cap of %d MiB.",
                          (double)sb.st_size / (1024.0 * 1024.0), a.max_memory_mb);
        st = EQ_ERR_NOMEM;
    }
    if (!st && eq_edge_deadline_passed(&o)) { eq_edge_timeout_error(&err, &o, "reading the request"); st = EQ_ERR_ABORTED; }
    if (!st && with_snap) m = snap_m;
    if (!st && !m && (st = eq_model_load(a.model, &mp, &m, msg, sizeof msg))) {
        /* the path is server configuration, so it may be told; the client did nothing wrong */
        eq_edge_set_error(&err, st == EQ_ERR_NOMEM ? 503 : 500, "server_error",
                          st == EQ_ERR_NOMEM ? "out_of_memory" : "model_not_available", NULL, "Cannot load the model: %s", msg);
    } else if (!st) {
        eq_ctx_params cp = eq_ctx_default_params();
        int train = eq_model_n_ctx_train(m);
        cp.n_ctx = a.n_ctx ? a.n_ctx : with_snap ? snap_cp.n_ctx : (train > 0 && train < 1024 ? train : 1024);
        cp.n_batch = a.n_batch ? a.n_batch : with_snap ? snap_cp.n_batch : 64;   /* scratch scales with the batch; 64 costs little speed */
        cp.n_threads = a.n_threads;
        if (a.kv_type && !strcmp(a.kv_type, "f32")) cp.kv_type = EQ_KV_F32;
        if (eq_edge_deadline_passed(&o)) { eq_edge_timeout_error(&err, &o, "loading the model"); st = EQ_ERR_ABORTED; }
        else if ((st = eq_edge_check_memory(m, &cp, max_memory, &err))) {}   /* err says which number exceeded which */
        else if (with_snap && cp.n_ctx == snap_cp.n_ctx && cp.n_batch == snap_cp.n_batch &&
                 cp.kv_type == snap_cp.kv_type && (!a.n_threads || a.n_threads == eq_ctx_n_threads(snap_c)))
            c = snap_c;   /* the snapshot's own context: nothing to allocate */
        else if ((st = eq_ctx_new(m, &cp, &c, msg, sizeof msg)))
            eq_edge_set_error(&err, st == EQ_ERR_NOMEM ? 503 : 500, "server_error",
                              st == EQ_ERR_NOMEM ? "out_of_memory" : NULL, NULL, "Cannot create the context: %s", msg);
    }
    if (a.verbose && !st) fprintf(stderr, "edgeq serve: %s %s in %.2f s\n", with_snap ? "snapshot" : "loaded", a.model, cli_now() - t0);
    if (st) eq_edge_send_error(&sink, &err);
    else st = eq_edge_respond(req, m, c, &o, &sink);
    if (a.verbose) fprintf(stderr, "edgeq serve: status %d, %.2f s in all\n", io.status, cli_now() - t0);
    eq_edge_req_free(req);
    if (c != snap_c) eq_ctx_free(c);
    if (m != snap_m) eq_model_free(m);
    return io.cgi ? 0 : (st || io.status != 200);   /* a failure mid-stream still exits 1 */
}
