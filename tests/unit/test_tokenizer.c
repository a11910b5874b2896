/* Tokenizer unit tests: synthetic vocabularies built as in-memory GGUF (always run), plus real
 * llama.cpp vocab files from $EQ_VOCAB_DIR (skipped, saying why, when it is not set). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqtest.h"
#include "gguf/gguf.h"
#include "models/model.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

/* ---- a tiny GGUF writer ---- */

typedef struct { uint8_t *b; size_t n, cap; uint64_t n_kv; } gw;

static void put(gw *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void put_u32(gw *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(gw *w, uint64_t v) { put(w, &v, 8); }
static void put_s(gw *w, const char *s) { put_u64(w, strlen(s)); put(w, s, strlen(s)); }
static void kv_str(gw *w, const char *k, const char *v) { put_s(w, k); put_u32(w, EQ_GGUF_STRING); put_s(w, v); w->n_kv++; }
static void kv_u32(gw *w, const char *k, uint32_t v) { put_s(w, k); put_u32(w, EQ_GGUF_U32); put_u32(w, v); w->n_kv++; }
static void kv_strs(gw *w, const char *k, const char **v, int n) {
    put_s(w, k); put_u32(w, EQ_GGUF_ARRAY); put_u32(w, EQ_GGUF_STRING); put_u64(w, (uint64_t)n);
    for (int i = 0; i < n; i++) put_s(w, v[i]);
    w->n_kv++;
}
static void kv_f32s(gw *w, const char *k, const float *v, int n) {
    put_s(w, k); put_u32(w, EQ_GGUF_ARRAY); put_u32(w, EQ_GGUF_F32); put_u64(w, (uint64_t)n);
    put(w, v, 4 * (size_t)n);
    w->n_kv++;
}
static void kv_i32s(gw *w, const char *k, const int32_t *v, int n) {
    put_s(w, k); put_u32(w, EQ_GGUF_ARRAY); put_u32(w, EQ_GGUF_I32); put_u64(w, (uint64_t)n);
    put(w, v, 4 * (size_t)n);
    w->n_kv++;
}

/* header + kvs -> parsed eq_gguf */
static eq_gguf *finish(gw *w) {
    gw h = { 0 };
    put(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, 0);
    put_u64(&h, w->n_kv);
    put(&h, w->b, w->n);
    eq_gguf *g = eq_gguf_new(h.n, NULL, NULL);
    eq_status st = eq_gguf_feed(g, h.b, h.n);
    if (!st) st = eq_gguf_finish(g);
    free(h.b);
    free(w->b);
    if (st) { fprintf(stderr, "gguf: %s\n", g->err); eq_gguf_free(g); return NULL; }
    return g;
}

/* ---- synthetic SPM vocabulary ---- */

enum { SPM_BYTE0 = 3, SPM_SP = 259 };
static const char *k_spm_words[] = { "\xe2\x96\x81", "h", "e", "l", "o", "he", "ll", "llo", "hello",
                                     "\xe2\x96\x81hello", "<tool>" };

static eq_gguf *spm_gguf(int bad) {
    gw w = { 0 };
    const char *toks[300];
    float sc[300];
    int32_t ty[300];
    char bytes[256][7];
    int n = 0;
    toks[n] = "<unk>"; ty[n] = 2; sc[n++] = 0;
    toks[n] = "<s>"; ty[n] = 3; sc[n++] = 0;
    toks[n] = "</s>"; ty[n] = 3; sc[n++] = 0;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 7, "<0x%02X>", b);
        toks[n] = bytes[b]; ty[n] = 6; sc[n++] = 0;
    }
    for (size_t i = 0; i < sizeof k_spm_words / sizeof *k_spm_words; i++) {
        toks[n] = k_spm_words[i];
        ty[n] = !strcmp(k_spm_words[i], "<tool>") ? 4 : 1;
        sc[n++] = -(float)(10 - strlen(k_spm_words[i]));   /* longer pieces score higher */
    }
    kv_str(&w, "tokenizer.ggml.model", "llama");
    if (bad != 1) kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_f32s(&w, "tokenizer.ggml.scores", sc, bad == 2 ? n - 1 : n);
    kv_i32s(&w, "tokenizer.ggml.token_type", ty, n);
    kv_u32(&w, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 2);
    return finish(&w);
}

/* ---- synthetic byte-level BPE vocabulary: the 256 byte symbols, a few merges ---- */

static eq_gguf *bpe_gguf(const char *pre) {
    gw w = { 0 };
    static char sym[256][4];
    const char *toks[270];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        int m = eq_utf8_put(eq_byte_to_ucp((uint8_t)b), u);
        memcpy(sym[b], u, (size_t)m);
        sym[b][m] = 0;
        toks[n++] = sym[b];
    }
    toks[n++] = "\xc4\xa0h";     /* "Ġh" = 256 */
    toks[n++] = "\xc4\xa0hi";    /* 257 */
    toks[n++] = "<|end|>";       /* 258 */
    const char *merges[] = { "\xc4\xa0 h", "\xc4\xa0h i" };
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_str(&w, "tokenizer.ggml.pre", pre);
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_strs(&w, "tokenizer.ggml.merges", merges, 2);
    return finish(&w);
}

static int tok(const eq_vocab *v, const char *s, int add, int special, eq_token *out, int cap) {
    int n = -1;
    eq_status st = eq_vocab_tokenize(v, s, strlen(s), add, special, out, cap, &n);
    return st == EQ_OK ? n : -1 - (int)st;
}

static int same(const eq_token *a, int na, const eq_token *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) if (a[i] != b[i]) return 0;
    return 1;
}

static void test_unicode(void) {
    size_t off = 0;
    const uint8_t s1[] = { 0xE4, 0xB8 };   /* truncated: U+FFFD, one byte consumed */
    CHECK(eq_utf8_next(s1, 2, &off) == 0xFFFD && off == 1);
    off = 0;
    const uint8_t s2[] = { 0xF0, 0x9F, 0xA6, 0x99 };
    CHECK(eq_utf8_next(s2, 4, &off) == 0x1F999 && off == 4);
    CHECK(eq_ucp_flags('a') & EQ_U_LETTER);
    CHECK(eq_ucp_flags(0x4E2D) & EQ_U_LETTER);          /* 中 */
    CHECK(eq_ucp_flags(0x0663) & EQ_U_NUMBER);          /* Arabic-Indic 3 */
    CHECK(eq_ucp_flags(0x3000) & EQ_U_SPACE);
    CHECK(eq_ucp_flags(0x0301) & EQ_U_MARK);
    CHECK((eq_ucp_flags(0x2EBF0) & EQ_U_LETTER));       /* CJK ext. I: Unicode 15.1 tables */
    CHECK(eq_ucp_flags(0x110000) == EQ_U_UNDEF);
    int ok = 1;
    for (int b = 0; b < 256; b++) ok &= eq_ucp_to_byte(eq_byte_to_ucp((uint8_t)b)) == b;
    CHECK(ok);
    CHECK(eq_byte_to_ucp(' ') == 0x120 && eq_byte_to_ucp('\n') == 0x10A);
}

static void test_regex(void) {
    const char *pat = "\\s+(?!\\S)|\\s+|[a-c]{2,3}|x(?=y)";
    uint32_t u[64], t[32];
    size_t n = 0, ms, me;
    for (const char *p = pat; *p; p++) u[n++] = (uint8_t)*p;
    eq_re *re = eq_re_compile(u, n);
    CHECK(re != NULL);
    const char *txt = "   q abcab xy";
    size_t tn = strlen(txt);
    for (size_t i = 0; i < tn; i++) t[i] = (uint8_t)txt[i];
    CHECK(eq_re_search(re, t, tn, 0, &ms, &me) == 1 && ms == 0 && me == 2);  /* backs off one space */
    CHECK(eq_re_search(re, t, tn, 5, &ms, &me) == 1 && ms == 5 && me == 8);  /* greedy {2,3} */
    CHECK(eq_re_search(re, t, tn, 10, &ms, &me) == 1 && ms == 10 && me == 11);  /* \s+ */
    CHECK(eq_re_search(re, t, tn, 11, &ms, &me) == 1 && ms == 11 && me == 12);  /* x(?=y) */
    CHECK(eq_re_search(re, t, tn - 1, 11, &ms, &me) == 0);   /* y is outside the text */
    eq_re_free(re);
    u[0] = '(';
    CHECK(eq_re_compile(u, 1) == NULL);
}

static void test_spm(void) {
    eq_gguf *g = spm_gguf(0);
    CHECK(g != NULL);
    if (!g) return;
    eq_vocab *v = NULL;
    char err[256];
    CHECK(eq_vocab_load(g, &v, err, sizeof err) == EQ_OK);
    eq_gguf_free(g);
    if (!v) return;
    eq_token out[64];
    int hello = SPM_SP + 9;
    eq_token want1[] = { 1, hello };
    int n = tok(v, "hello", 1, 0, out, 64);
    CHECK(same(out, n, want1, 2));
    /* byte fallback for a character the vocabulary lacks: U+4E2D */
    eq_token want2[] = { SPM_SP, SPM_BYTE0 + 0xE4, SPM_BYTE0 + 0xB8, SPM_BYTE0 + 0xAD };
    n = tok(v, "\xe4\xb8\xad", 0, 0, out, 64);
    CHECK(same(out, n, want2, 4));
    /* invalid UTF-8 goes through byte by byte */
    eq_token want3[] = { SPM_SP, SPM_BYTE0 + 0xFF };
    n = tok(v, "\xff", 0, 0, out, 64);
    CHECK(same(out, n, want3, 2));
    /* control text is only a token when parse_special; user-defined always is */
    n = tok(v, "<s>", 0, 1, out, 64);
    CHECK(n == 1 && out[0] == 1);
    n = tok(v, "<s>", 0, 0, out, 64);
    CHECK(n > 1);
    n = tok(v, "<tool>", 0, 0, out, 64);
    CHECK(n == 1 && out[0] == SPM_SP + 10);
    /* buffer too small: EQ_ERR_ARG and the count needed */
    int need = -1;
    CHECK(eq_vocab_tokenize(v, "hello", 5, 1, 0, out, 1, &need) == EQ_ERR_ARG && need == 2);
    CHECK(eq_vocab_tokenize(v, "hello", 5, 1, 0, NULL, 0, &need) == EQ_ERR_ARG && need == 2);
    CHECK(eq_vocab_tokenize(v, "", 0, 0, 0, NULL, 0, &need) == EQ_OK && need == 0);
    CHECK(eq_vocab_tokenize(v, NULL, 3, 0, 0, out, 64, &need) == EQ_ERR_ARG);
    /* pieces */
    char buf[32];
    CHECK(eq_vocab_token_to_piece(v, hello, 0, buf, 32) == 6 && !memcmp(buf, " hello", 6));
    CHECK(eq_vocab_token_to_piece(v, SPM_BYTE0 + 0x41, 0, buf, 32) == 1 && buf[0] == 'A');
    CHECK(eq_vocab_token_to_piece(v, 1, 0, buf, 32) == 0);
    CHECK(eq_vocab_token_to_piece(v, 1, 1, buf, 32) == 3 && !memcmp(buf, "<s>", 3));
    /* too small a buffer: the length needed, nothing written (a piece is never cut) */
    memcpy(buf, "xyz", 3);
    CHECK(eq_vocab_token_to_piece(v, hello, 0, buf, 3) == 6 && !memcmp(buf, "xyz", 3));
    CHECK(eq_vocab_token_to_piece(v, hello, 0, NULL, 0) == 6);
    CHECK(eq_vocab_token_to_piece(v, hello, 0, buf, 6) == 6 && !memcmp(buf, " hello", 6));
    CHECK(eq_vocab_token_to_piece(v, -1, 0, buf, 32) == -1);
    CHECK(eq_vocab_token_to_piece(v, eq_vocab_n_tokens(v), 0, buf, 32) == -1);
    CHECK(eq_vocab_bos(v) == 1 && eq_vocab_eos(v) == 2 && eq_vocab_is_eog(v, 2) && !eq_vocab_is_eog(v, 1));

    /* streamed detokenization holds back a split character */
    eq_model m;
    memset(&m, 0, sizeof m);
    m.vocab = v;
    eq_detok d = { { 0 }, 0 };
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xE4, buf, 32) == 0);
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xB8, buf, 32) == 0);
    CHECK(d.n_pending == 2);
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xAD, buf, 2) == 3 && d.n_pending == 2);  /* no room: the size, unchanged */
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xAD, buf, 32) == 3 && !memcmp(buf, "\xe4\xb8\xad", 3));
    CHECK(eq_detok_push(&d, &m, hello, buf, 32) == 6 && !memcmp(buf, " hello", 6));
    CHECK(eq_detok_push(&d, &m, 99999, buf, 32) == -1);
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xF0, buf, 32) == 0);
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0x41, buf, 32) == 4 && !memcmp(buf, "\xef\xbf\xbd" "A", 4));
    CHECK(eq_detok_push(&d, &m, SPM_BYTE0 + 0xE4, buf, 32) == 0);
    CHECK(eq_detok_flush(&d, buf, 2) == 3 && d.n_pending == 1);   /* no room: the size, unchanged */
    CHECK(eq_detok_flush(&d, buf, 32) == 3 && !memcmp(buf, "\xef\xbf\xbd", 3) && d.n_pending == 0);
    CHECK(eq_detok_flush(&d, buf, 32) == 0);
    eq_vocab_free(v);
}

static void test_bpe(void) {
    eq_gguf *g = bpe_gguf("gpt-2");
    CHECK(g != NULL);
    if (!g) return;
    eq_vocab *v = NULL;
    char err[256];
    CHECK(eq_vocab_load(g, &v, err, sizeof err) == EQ_OK);
    eq_gguf_free(g);
    if (!v) return;
    eq_token out[64];
    eq_token want1[] = { 'h', 257, 257 - 1 };   /* "h" " hi" " h" */
    int n = tok(v, "h hi h", 0, 0, out, 64);
    /* the vocabulary's ids for the byte symbols are the byte values */
    CHECK(n == 3 && out[0] == 'h' && out[1] == 257 && out[2] == 256);
    (void)want1;
    /* invalid UTF-8 is replaced by U+FFFD before the byte mapping, as llama.cpp does */
    n = tok(v, "\xff", 0, 0, out, 64);
    CHECK(n == 3 && out[0] == 0xEF && out[1] == 0xBF && out[2] == 0xBD);
    /* <|end|> is recognised as an end-of-generation control token */
    CHECK(eq_vocab_is_eog(v, 258));
    n = tok(v, "a<|end|>", 0, 1, out, 64);
    CHECK(n == 2 && out[0] == 'a' && out[1] == 258);
    n = tok(v, "a<|end|>", 0, 0, out, 64);
    CHECK(n == 8);
    char buf[16];
    CHECK(eq_vocab_token_to_piece(v, 257, 0, buf, 16) == 3 && !memcmp(buf, " hi", 3));
    CHECK(eq_vocab_token_to_piece(v, 0x10A - 0x100, 0, buf, 16) == 1 && buf[0] == '\n');
    CHECK(eq_vocab_token_to_piece(v, 258, 0, buf, 16) == 0);
    eq_vocab_free(v);

    /* unknown pre-tokenizer: the error names the key */
    g = bpe_gguf("no-such-pre");
    CHECK(eq_vocab_load(g, &v, err, sizeof err) == EQ_ERR_UNSUPPORTED && strstr(err, "tokenizer.ggml.pre"));
    eq_gguf_free(g);
}

static void test_load_errors(void) {
    char err[256];
    eq_vocab *v = (eq_vocab *)1;
    eq_gguf *g = spm_gguf(1);
    CHECK(eq_vocab_load(g, &v, err, sizeof err) != EQ_OK && v == NULL && strstr(err, "tokenizer.ggml.tokens"));
    eq_gguf_free(g);
    g = spm_gguf(2);
    CHECK(eq_vocab_load(g, &v, err, sizeof err) == EQ_ERR_FORMAT && strstr(err, "tokenizer.ggml.scores"));
    eq_gguf_free(g);
}

static eq_vocab *load_file(const char *dir, const char *name) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, name);
    eq_gguf *g;
    if (eq_gguf_read_file(path, NULL, NULL, &g, err, sizeof err)) { fprintf(stderr, "%s\n", err); return NULL; }
    eq_vocab *v = NULL;
    if (eq_vocab_load(g, &v, err, sizeof err)) fprintf(stderr, "%s\n", err);
    eq_gguf_free(g);
    return v;
}

static void test_files(void) {
    const char *dir = getenv("EQ_VOCAB_DIR");
    if (!dir || !*dir) {
        printf("skipping real-vocabulary cases: EQ_VOCAB_DIR is not set\n");
        return;
    }
    eq_vocab *v = load_file(dir, "llama-bpe");
    CHECK(v != NULL);
    if (!v) return;
    eq_token out[64];
    eq_token w1[] = { 128000, 9906, 1917 };
    int n = tok(v, "Hello world", 1, 0, out, 64);
    CHECK(same(out, n, w1, 3));
    n = tok(v, "<|begin_of_text|>Hello world", 0, 1, out, 64);
    CHECK(same(out, n, w1, 3));
    CHECK(eq_vocab_is_eog(v, 128009) && eq_vocab_eot(v) == 128009);
    char buf[64];
    CHECK(eq_vocab_token_to_piece(v, 1917, 0, buf, 64) == 6 && !memcmp(buf, " world", 6));
    CHECK(eq_vocab_token_to_piece(v, 128000, 0, buf, 64) == 0);
    CHECK(eq_vocab_token_to_piece(v, 128000, 1, buf, 64) == 17);

    /* 100 KB of mixed text tokenizes well under a second */
    const char *chunk = "The quick brown fox, 12345 jumps! \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\xa6\x99 int main() {\n\treturn 0;\n}\n";
    size_t cl = strlen(chunk), total = 100 * 1024;
    char *big = malloc(total + cl);
    size_t bl = 0;
    while (bl < total) { memcpy(big + bl, chunk, cl); bl += cl; }
    int need = 0;
    clock_t c0 = clock();
    eq_vocab_tokenize(v, big, bl, 0, 0, NULL, 0, &need);
    double s = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECKF(need > 10000 && s < 1.0, "%d tokens in %.3f s", need, s);
    free(big);
    eq_vocab_free(v);

    v = load_file(dir, "llama-spm");
    CHECK(v != NULL);
    if (v) {
        eq_token w2[] = { 1, 15043, 3186 };
        n = tok(v, "Hello world", 1, 0, out, 64);
        CHECK(same(out, n, w2, 3));
        eq_vocab_free(v);
    }
}

int main(void) {
    test_unicode();
    test_regex();
    test_spm();
    test_bpe();
    test_load_errors();
    test_files();
    return eqt_done();
}
