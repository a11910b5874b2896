/* Conformance driver: tokenizes the cases of a llama.cpp vocab test bundle (.inp: cases
 * separated by "\n__ggml_vocab_test__\n"; .out: one line of ids per case) the way llama.cpp's
 * test-tokenizer-0 does (add_special = false, parse_special = false) and compares.
 *
 *   tokdrv VOCAB.gguf INP OUT [add_special parse_special]   -> "N passed, N failed"
 *   tokdrv VOCAB.gguf -t TEXT_FILE [add_special parse_special]  -> ids of the whole file
 *   tokdrv VOCAB.gguf --pieces  -> "n_vocab bos eos eot add_bos", then "id is_eog piece
 *                                  piece_special" per token (llama_ref.c --pieces prints the same) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) { cap *= 2; b = realloc(b, cap + 1); }
    }
    fclose(f);
    if (!b) return NULL;
    b[n] = 0;
    *len = n;
    return b;
}

static int tokenize(const eq_vocab *v, const char *s, size_t n, int as, int ps, eq_token **out) {
    int need = 0;
    eq_status st = eq_vocab_tokenize(v, s, n, as, ps, NULL, 0, &need);
    if (st != EQ_OK && st != EQ_ERR_ARG) return -1;
    *out = malloc(sizeof(eq_token) * (size_t)(need + 1));
    int got = 0;
    st = eq_vocab_tokenize(v, s, n, as, ps, *out, need, &got);
    if (st != EQ_OK || got != need) return -1;
    return got;
}

static void put_escaped(const char *s, int n) {
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\') printf("\\x%02x", c);
        else putchar(c);
    }
}

static void piece(const eq_vocab *v, eq_token t, int special) {
    static char buf[1 << 16];
    int n = eq_vocab_token_to_piece(v, t, special, buf, (int)sizeof buf);
    if (n < 0 || n > (int)sizeof buf) { printf("<bad piece: %d>", n); return; }
    put_escaped(buf, n);
}

int main(int argc, char **argv) {
    if (argc < 3 || (argc < 4 && strcmp(argv[2], "--pieces"))) {
        fprintf(stderr, "usage: %s VOCAB INP OUT | VOCAB -t FILE | VOCAB --pieces\n", argv[0]);
        return 2;
    }
    char err[256];
    eq_gguf *g;
    if (eq_gguf_read_file(argv[1], NULL, NULL, &g, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 2; }
    eq_vocab *v;
    if (eq_vocab_load(g, &v, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 2; }
    eq_gguf_free(g);
    int as = argc > 5 ? atoi(argv[4]) : 0, ps = argc > 5 ? atoi(argv[5]) : 0;
    if (!strcmp(argv[2], "--pieces")) {
        int nv = eq_vocab_n_tokens(v);
        printf("%d %d %d %d %d\n", nv, eq_vocab_bos(v), eq_vocab_eos(v), eq_vocab_eot(v), eq_vocab_add_bos(v));
        for (eq_token t = 0; t < nv; t++) {
            printf("%d %d ", t, eq_vocab_is_eog(v, t));
            piece(v, t, 0);
            putchar(' ');
            piece(v, t, 1);
            putchar('\n');
        }
        eq_vocab_free(v);
        return 0;
    }
    size_t ilen, olen;
    if (!strcmp(argv[2], "-t")) {
        char *t = slurp(argv[3], &ilen);
        if (!t) { fprintf(stderr, "cannot read %s\n", argv[3]); return 2; }
        eq_token *ids;
        clock_t c0 = clock();
        int n = tokenize(v, t, ilen, as, ps, &ids);
        double ms = (double)(clock() - c0) * 1000.0 / CLOCKS_PER_SEC;
        if (n < 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        fprintf(stderr, "%zu bytes -> %d tokens in %.1f ms\n", ilen, n, ms);
        free(ids); free(t); eq_vocab_free(v);
        return 0;
    }
    char *inp = slurp(argv[2], &ilen), *outp = slurp(argv[3], &olen);
    if (!inp || !outp) { fprintf(stderr, "cannot read %s / %s\n", argv[2], argv[3]); return 2; }
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sl = strlen(sep);
    int pass = 0, fail = 0;
    char *ip = inp, *op = outp, *iend = inp + ilen;
    while (ip < iend) {
        char *nx = strstr(ip, sep);
        size_t cl = nx ? (size_t)(nx - ip) : (size_t)(iend - ip);
        char *ol = op, *oe = strchr(op, '\n');
        if (!oe) oe = op + strlen(op);
        op = *oe ? oe + 1 : oe;
        /* expected ids */
        int exp[4096], ne = 0;
        for (char *q = ol; q < oe && ne < 4096;) {
            while (q < oe && *q == ' ') q++;
            if (q >= oe) break;
            exp[ne++] = (int)strtol(q, &q, 10);
        }
        eq_token *ids = NULL;
        int n = tokenize(v, ip, cl, as, ps, &ids);
        int ok = n == ne;
        for (int i = 0; ok && i < n; i++) ok = ids[i] == exp[i];
        if (ok) pass++;
        else {
            fail++;
            fprintf(stderr, "FAIL case %d: '%.*s'\n  want:", pass + fail, (int)(cl > 200 ? 200 : cl), ip);
            for (int i = 0; i < ne; i++) fprintf(stderr, " %d", exp[i]);
            fprintf(stderr, "\n  got: ");
            for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n");
        }
        free(ids);
        if (!nx) break;
        ip = nx + sl;
    }
    printf("%d passed, %d failed\n", pass, fail);
    free(inp); free(outp); eq_vocab_free(v);
    return fail ? 1 : 0;
}
