/*
 * llama_oracle — a tiny CLI over the libllama C API, used as the reference ("oracle")
 * for edgeq's conformance tests. Built and linked by tests/oracle/setup.sh against the
 * prebuilt libllama/libggml shipped by the npm package node-llama-cpp.
 *
 *   llama_oracle version
 *       llama.cpp version, the CPU backend variant that was loaded, system info.
 *
 *   llama_oracle tokenize MODEL TEXT [--no-bos] [--no-special] [--file F] [--pieces]
 *       Token ids, space separated, one line. Defaults like llama-tokenize:
 *       add_special=true (BOS/EOS as the vocab says), parse_special=true.
 *       --no-bos      add_special=false
 *       --no-special  parse_special=false (alias --no-parse-special)
 *       --file F      read TEXT from file F (TEXT argument omitted); "-" = stdin
 *       --pieces      instead: one token per line "id<TAB>piece" (piece C-escaped)
 *       Works with vocab-only GGUFs (loads with vocab_only=true).
 *
 *   llama_oracle detokenize MODEL ID... [--no-special]
 *       Concatenated pieces (rendered with special=true unless --no-special), no newline.
 *
 *   llama_oracle generate MODEL PROMPT -n N [-t THREADS] [-c CTX] [--logits-out FILE]
 *                [--step-logits-out FILE] [--ids-out FILE] [--prompt-ids] [--no-bos]
 *                [--kv f16|f32|bf16|q8_0] [--fa off|on|auto] [--quiet-ids]
 *       Greedy decoding: the prompt is tokenized with add_special=true, parse_special=true
 *       (unless --no-bos / --prompt-ids, where PROMPT is a list of ids), evaluated as ONE batch;
 *       then argmax over the logits (ties -> lowest id), stop at an end-of-generation token
 *       (llama_vocab_is_eog; it is not printed) or after N tokens.
 *       stdout: the generated text only (pieces rendered with special=true), no prompt, no newline.
 *       stderr: "prompt_ids: ..." and "gen_ids: ..." (suppressed by --quiet-ids).
 *       --logits-out FILE       logits of the last prompt position, n_vocab little-endian float32
 *       --step-logits-out FILE  the logits used for every sampling step (prompt's last position,
 *                               then after each generated token): n_steps * n_vocab float32
 *       --ids-out FILE          "prompt: ids\ngen: ids\noffsets: byte offset of each gen piece in stdout\n"
 *       Defaults: KV cache F16 (llama.cpp default), flash attention OFF (classic
 *       softmax(KQ)V path; --fa auto would pick FA on CPU), n_batch = n_ubatch = CTX,
 *       CTX = min(n_ctx_train, 4096) unless -c, THREADS = 1.
 *
 *   llama_oracle chat-template TEMPLATE [--system S] [--user U] [--assistant A]
 *                [--role ROLE CONTENT] ... [--no-add-ass]
 *   llama_oracle chat-template --list
 *       Prints llama_chat_apply_template(TEMPLATE, messages, add_ass=true) exactly (no extra
 *       newline). TEMPLATE is: a path to a file (its content is the template: jinja text),
 *       "model:PATH.gguf" (the GGUF's tokenizer.chat_template), or a builtin name
 *       (chatml, llama3, phi3, ... see --list) or literal template text.
 *       Exit 3 when llama.cpp does not support the template.
 *
 * Environment:
 *   EQ_LLAMA_LIBDIR         directory of the prebuilt libggml-cpu-*.so (default: baked in at build)
 *   EQ_ORACLE_CPU_VARIANT   load only libggml-cpu-<VARIANT>.so (e.g. x64, haswell, skylakex)
 *                           instead of the best-scoring one for this CPU
 *   EQ_ORACLE_VERBOSE=1     show llama.cpp / ggml logging
 */
#define _POSIX_C_SOURCE 200809L
#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef EQ_LLAMA_LIBDIR
#define EQ_LLAMA_LIBDIR ""
#endif

static int g_verbose = 0;
static char g_loaded_backend[1024];

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llama_oracle: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void log_cb(enum ggml_log_level level, const char *text, void *ud) {
    (void)ud;
    if (strstr(text, "loaded") && strstr(text, "backend from")) {
        size_t n = strlen(g_loaded_backend);
        snprintf(g_loaded_backend + n, sizeof(g_loaded_backend) - n, "%s", text);
    }
    if (g_verbose || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static void init_backends(void) {
    g_verbose = getenv("EQ_ORACLE_VERBOSE") && atoi(getenv("EQ_ORACLE_VERBOSE")) > 0;
    ggml_log_set(log_cb, NULL);
    llama_log_set(log_cb, NULL);

    const char *dir = getenv("EQ_LLAMA_LIBDIR");
    if (!dir || !*dir) dir = EQ_LLAMA_LIBDIR;
    const char *variant = getenv("EQ_ORACLE_CPU_VARIANT");
    if (ggml_backend_reg_count() == 0) {
        if (variant && *variant) {
            char path[4096];
            snprintf(path, sizeof path, "%s/libggml-cpu-%s.so", dir, variant);
            if (!ggml_backend_load(path)) die("cannot load CPU backend %s", path);
        } else {
            ggml_backend_load_all_from_path(*dir ? dir : NULL);
        }
    }
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == NULL)
        die("no CPU backend could be loaded from '%s' (libggml-cpu-*.so; set EQ_LLAMA_LIBDIR, or "
            "EQ_ORACLE_VERBOSE=1 to see why)", dir);
    llama_backend_init();
}

static struct llama_model *load_model(const char *path, bool vocab_only) {
    struct stat st;
    if (stat(path, &st) != 0) die("model file '%s': %s", path, strerror(errno));
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = vocab_only;
    mp.n_gpu_layers = 0;
    struct llama_model *m = llama_model_load_from_file(path, mp);
    if (!m) die("failed to load model '%s' (EQ_ORACLE_VERBOSE=1 for details)", path);
    return m;
}

static char *read_file(const char *path, size_t *len_out) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) die("cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0) break;
        len += r;
    }
    if (f != stdin) fclose(f);
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

static int tokenize(const struct llama_vocab *vocab, const char *text, int len, bool add_special,
                    bool parse_special, llama_token **out) {
    int cap = len + 16;
    llama_token *toks = malloc(sizeof(llama_token) * cap);
    int n = llama_tokenize(vocab, text, len, toks, cap, add_special, parse_special);
    if (n < 0) {
        cap = -n;
        toks = realloc(toks, sizeof(llama_token) * cap);
        n = llama_tokenize(vocab, text, len, toks, cap, add_special, parse_special);
    }
    if (n < 0) die("llama_tokenize failed (%d)", n);
    *out = toks;
    return n;
}

/* piece of one token; returns length, writes into *buf (grown as needed) */
static int piece(const struct llama_vocab *vocab, llama_token t, bool special, char **buf, int *cap) {
    int n = llama_token_to_piece(vocab, t, *buf, *cap, 0, special);
    if (n < 0) {
        *cap = -n + 16;
        *buf = realloc(*buf, *cap);
        n = llama_token_to_piece(vocab, t, *buf, *cap, 0, special);
    }
    if (n < 0) die("llama_token_to_piece failed for token %d", t);
    return n;
}

static void print_escaped(FILE *f, const char *s, int n) {
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') fputs("\\\\", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
}

/* ------------------------------------------------------------------ tokenize */
static int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *file = NULL;
    bool add_special = true, parse_special = true, pieces = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-bos")) add_special = false;
        else if (!strcmp(argv[i], "--no-special") || !strcmp(argv[i], "--no-parse-special")) parse_special = false;
        else if (!strcmp(argv[i], "--pieces")) pieces = true;
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) file = argv[++i];
        else if (!model) model = argv[i];
        else if (!text) text = argv[i];
        else die("tokenize: unexpected argument '%s'", argv[i]);
    }
    if (!model || (!text && !file)) die("usage: llama_oracle tokenize MODEL TEXT [--no-bos] [--no-special] [--file F] [--pieces]");
    size_t len;
    char *owned = NULL;
    if (file) text = owned = read_file(file, &len);
    else len = strlen(text);

    init_backends();
    struct llama_model *m = load_model(model, true);
    const struct llama_vocab *vocab = llama_model_get_vocab(m);
    llama_token *toks;
    int n = tokenize(vocab, text, (int)len, add_special, parse_special, &toks);
    if (pieces) {
        char *buf = malloc(256);
        int cap = 256;
        for (int i = 0; i < n; i++) {
            int k = piece(vocab, toks[i], true, &buf, &cap);
            printf("%d\t", toks[i]);
            print_escaped(stdout, buf, k);
            putchar('\n');
        }
        free(buf);
    } else {
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", toks[i]);
        putchar('\n');
    }
    free(toks);
    free(owned);
    llama_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------ detokenize */
static int cmd_detokenize(int argc, char **argv) {
    const char *model = NULL;
    bool special = true;
    llama_token *ids = malloc(sizeof(llama_token) * (argc + 1));
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-special")) special = false;
        else if (!model) model = argv[i];
        else {
            char *end;
            long v = strtol(argv[i], &end, 10);
            if (*end) die("detokenize: bad token id '%s'", argv[i]);
            ids[n++] = (llama_token)v;
        }
    }
    if (!model) die("usage: llama_oracle detokenize MODEL ID... [--no-special]");
    init_backends();
    struct llama_model *m = load_model(model, true);
    const struct llama_vocab *vocab = llama_model_get_vocab(m);
    char *buf = malloc(256);
    int cap = 256;
    for (int i = 0; i < n; i++) {
        int k = piece(vocab, ids[i], special, &buf, &cap);
        fwrite(buf, 1, k, stdout);
    }
    free(buf);
    free(ids);
    llama_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------ generate */
static FILE *open_out(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    return f;
}

static void write_f32(FILE *f, const float *x, int n) {
    /* raw little-endian float32: all supported hosts are little-endian */
    if (fwrite(x, sizeof(float), n, f) != (size_t)n) die("short write of logits");
}

static int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *logits_out = NULL, *step_logits_out = NULL, *ids_out = NULL;
    const char *kv = "f16", *fa = "off";
    int n_predict = 32, n_threads = 1, n_ctx = 0;
    bool prompt_ids = false, add_special = true, quiet_ids = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-n") && has) n_predict = atoi(argv[++i]);
        else if (!strcmp(a, "-t") && has) n_threads = atoi(argv[++i]);
        else if (!strcmp(a, "-c") && has) n_ctx = atoi(argv[++i]);
        else if (!strcmp(a, "--logits-out") && has) logits_out = argv[++i];
        else if (!strcmp(a, "--step-logits-out") && has) step_logits_out = argv[++i];
        else if (!strcmp(a, "--ids-out") && has) ids_out = argv[++i];
        else if (!strcmp(a, "--kv") && has) kv = argv[++i];
        else if (!strcmp(a, "--fa") && has) fa = argv[++i];
        else if (!strcmp(a, "--prompt-ids")) prompt_ids = true;
        else if (!strcmp(a, "--no-bos")) add_special = false;
        else if (!strcmp(a, "--quiet-ids")) quiet_ids = true;
        else if (a[0] == '-' && a[1] && !model) die("generate: unknown option '%s'", a);
        else if (!model) model = a;
        else if (!prompt) prompt = a;
        else die("generate: unexpected argument '%s'", a);
    }
    if (!model || !prompt)
        die("usage: llama_oracle generate MODEL PROMPT -n N [-t THREADS] [-c CTX] [--logits-out FILE] ...");
    if (n_threads < 1) n_threads = 1;

    enum ggml_type kvt;
    if (!strcmp(kv, "f16")) kvt = GGML_TYPE_F16;
    else if (!strcmp(kv, "f32")) kvt = GGML_TYPE_F32;
    else if (!strcmp(kv, "bf16")) kvt = GGML_TYPE_BF16;
    else if (!strcmp(kv, "q8_0")) kvt = GGML_TYPE_Q8_0;
    else die("--kv must be f16, f32, bf16 or q8_0");
    enum llama_flash_attn_type fat;
    if (!strcmp(fa, "off")) fat = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    else if (!strcmp(fa, "on")) fat = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    else if (!strcmp(fa, "auto")) fat = LLAMA_FLASH_ATTN_TYPE_AUTO;
    else die("--fa must be off, on or auto");

    init_backends();
    struct llama_model *m = load_model(model, false);
    const struct llama_vocab *vocab = llama_model_get_vocab(m);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    llama_token *toks;
    int n_prompt;
    if (prompt_ids) {
        int cap = 16;
        toks = malloc(sizeof(llama_token) * cap);
        n_prompt = 0;
        const char *p = prompt;
        for (;;) {
            while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
            if (!*p) break;
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) die("--prompt-ids: bad id list '%s'", prompt);
            if (n_prompt == cap) toks = realloc(toks, sizeof(llama_token) * (cap *= 2));
            toks[n_prompt++] = (llama_token)v;
            p = end;
        }
    } else {
        n_prompt = tokenize(vocab, prompt, (int)strlen(prompt), add_special, true, &toks);
    }
    if (n_prompt == 0) die("empty prompt");

    if (n_ctx <= 0) {
        n_ctx = llama_model_n_ctx_train(m);
        if (n_ctx <= 0 || n_ctx > 4096) n_ctx = 4096;
    }
    if (n_prompt + n_predict > n_ctx) die("prompt (%d tokens) + n (%d) exceeds context %d", n_prompt, n_predict, n_ctx);

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    cp.type_k = kvt;
    cp.type_v = kvt;
    cp.flash_attn_type = fat;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) die("llama_init_from_model failed (EQ_ORACLE_VERBOSE=1 for details)");

    FILE *step_f = step_logits_out ? open_out(step_logits_out) : NULL;
    llama_token *gen = malloc(sizeof(llama_token) * (n_predict + 1));
    long *offs = malloc(sizeof(long) * (n_predict + 1)); /* byte offset of each generated piece */
    long n_bytes = 0;
    int n_gen = 0;
    char *buf = malloc(256);
    int cap = 256;

    if (llama_decode(ctx, llama_batch_get_one(toks, n_prompt)) != 0) die("llama_decode (prompt) failed");
    for (int step = 0;; step++) {
        const float *logits = llama_get_logits_ith(ctx, -1);
        if (!logits) die("no logits");
        if (step == 0 && logits_out) {
            FILE *f = open_out(logits_out);
            write_f32(f, logits, n_vocab);
            fclose(f);
        }
        if (step_f) write_f32(step_f, logits, n_vocab);
        if (n_gen >= n_predict) break;
        int best = 0;
        for (int i = 1; i < n_vocab; i++)
            if (logits[i] > logits[best]) best = i;
        if (llama_vocab_is_eog(vocab, best)) break;
        offs[n_gen] = n_bytes;
        gen[n_gen++] = best;
        int k = piece(vocab, best, true, &buf, &cap);
        n_bytes += k;
        fwrite(buf, 1, k, stdout);
        fflush(stdout);
        if (n_gen >= n_predict) break;
        llama_token t = best;
        if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) die("llama_decode failed at step %d", step);
    }
    if (step_f) fclose(step_f);

    if (!quiet_ids) {
        fprintf(stderr, "prompt_ids:");
        for (int i = 0; i < n_prompt; i++) fprintf(stderr, " %d", toks[i]);
        fprintf(stderr, "\ngen_ids:");
        for (int i = 0; i < n_gen; i++) fprintf(stderr, " %d", gen[i]);
        fprintf(stderr, "\n");
    }
    if (ids_out) {
        FILE *f = open_out(ids_out);
        fprintf(f, "prompt:");
        for (int i = 0; i < n_prompt; i++) fprintf(f, " %d", toks[i]);
        fprintf(f, "\ngen:");
        for (int i = 0; i < n_gen; i++) fprintf(f, " %d", gen[i]);
        fprintf(f, "\noffsets:");
        for (int i = 0; i < n_gen; i++) fprintf(f, " %ld", offs[i]);
        fprintf(f, "\n");
        fclose(f);
    }
    free(buf);
    free(offs);
    free(gen);
    free(toks);
    llama_free(ctx);
    llama_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------ chat-template */
static int cmd_chat_template(int argc, char **argv) {
    if (argc >= 1 && !strcmp(argv[0], "--list")) {
        const char *names[256];
        int n = llama_chat_builtin_templates(names, 256);
        for (int i = 0; i < n && i < 256; i++) puts(names[i]);
        return 0;
    }
    const char *tmpl_arg = NULL;
    bool add_ass = true;
    int cap = argc + 1, n_msg = 0;
    struct llama_chat_message *msgs = malloc(sizeof(*msgs) * cap);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-add-ass")) add_ass = false;
        else if ((!strcmp(a, "--system") || !strcmp(a, "--user") || !strcmp(a, "--assistant")) && i + 1 < argc) {
            msgs[n_msg].role = a + 2;
            msgs[n_msg++].content = argv[++i];
        } else if (!strcmp(a, "--role") && i + 2 < argc) {
            msgs[n_msg].role = argv[i + 1];
            msgs[n_msg++].content = argv[i + 2];
            i += 2;
        } else if (!tmpl_arg) tmpl_arg = a;
        else die("chat-template: unexpected argument '%s'", a);
    }
    if (!tmpl_arg)
        die("usage: llama_oracle chat-template TEMPLATE_FILE|model:GGUF|NAME [--system S] [--user U] [--assistant A] "
            "[--role R C] [--no-add-ass]   |   chat-template --list");

    char *owned = NULL;
    const char *tmpl = tmpl_arg;
    struct llama_model *m = NULL;
    struct stat st;
    if (!strncmp(tmpl_arg, "model:", 6)) {
        init_backends();
        m = load_model(tmpl_arg + 6, true);
        tmpl = llama_model_chat_template(m, NULL);
        if (!tmpl) die("model '%s' has no tokenizer.chat_template", tmpl_arg + 6);
    } else if (stat(tmpl_arg, &st) == 0 && S_ISREG(st.st_mode)) {
        tmpl = owned = read_file(tmpl_arg, NULL);
    }
    int total = 1024;
    for (int i = 0; i < n_msg; i++) total += 2 * (int)strlen(msgs[i].content);
    char *out = malloc(total);
    int n = llama_chat_apply_template(tmpl, msgs, n_msg, add_ass, out, total);
    if (n > total) {
        out = realloc(out, n + 1);
        n = llama_chat_apply_template(tmpl, msgs, n_msg, add_ass, out, n + 1);
    }
    if (n < 0) {
        fprintf(stderr, "llama_oracle: template not supported by llama_chat_apply_template\n");
        return 3;
    }
    fwrite(out, 1, n, stdout);
    free(out);
    free(owned);
    free(msgs);
    if (m) llama_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------ version */
static int cmd_version(void) {
    init_backends();
    printf("llama.cpp %s\n", llama_version());
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    printf("cpu device: %s\n", cpu ? ggml_backend_dev_description(cpu) : "(none)");
    if (g_loaded_backend[0]) printf("%s", g_loaded_backend);
    printf("system: %s\n", llama_print_system_info());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr,
                "usage: llama_oracle version\n"
                "       llama_oracle tokenize MODEL TEXT [--no-bos] [--no-special] [--file F] [--pieces]\n"
                "       llama_oracle detokenize MODEL ID... [--no-special]\n"
                "       llama_oracle generate MODEL PROMPT -n N [-t THREADS] [-c CTX] [--logits-out FILE]\n"
                "                    [--step-logits-out FILE] [--ids-out FILE] [--prompt-ids] [--no-bos]\n"
                "                    [--kv f16|f32|bf16|q8_0] [--fa off|on|auto] [--quiet-ids]\n"
                "       llama_oracle chat-template TEMPLATE [--system S] [--user U] [--assistant A] [--role R C] [--no-add-ass]\n"
                "       llama_oracle chat-template --list\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version")) return cmd_version();
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(cmd, "detokenize")) return cmd_detokenize(argc - 2, argv + 2);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 2, argv + 2);
    if (!strcmp(cmd, "chat-template")) return cmd_chat_template(argc - 2, argv + 2);
    die("unknown command '%s'", cmd);
    return 2;
}
