/* Reference ids from llama.cpp itself, for regenerating the expected outputs of our extra
 * cases (not part of the normal test run). Build against a llama.cpp checkout's llama.h and a
 * libllama shared library:
 *   cc -I$LLAMA/include -I$LLAMA/ggml/include llama_ref.c -L$LIBDIR -l:libllama.v0.5.0.so -o llama_ref
 *   llama_ref VOCAB.gguf CASES.inp ADD_SPECIAL PARSE_SPECIAL > CASES.out
 *   llama_ref VOCAB.gguf --pieces > PIECES     (the vocabulary's special ids, then every token)
 * Cases are separated by "\n__ggml_vocab_test__\n"; one line of ids per case. The run script
 * also runs it live for vocabularies of real models (Gemma 3), which have no bundle. --pieces
 * prints what tokdrv --pieces prints: "n_vocab bos eos eot add_bos", then per token
 * "id is_eog piece piece_special" with token_to_piece(lstrip 0) escaped as in tokdrv.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void put_escaped(const char *s, int n) {
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\') printf("\\x%02x", c);
        else putchar(c);
    }
}

static void piece(const struct llama_vocab *v, llama_token t, int special) {
    static char buf[1 << 16];
    int n = llama_token_to_piece(v, t, buf, sizeof buf, 0, special);
    if (n < 0) { printf("<too long: %d>", -n); return; }
    put_escaped(buf, n);
}

static void quiet(enum ggml_log_level level, const char *text, void *user) { (void)level; (void)text; (void)user; }

int main(int argc, char **argv) {
    if (argc < 3 || (argc < 5 && strcmp(argv[2], "--pieces"))) return 2;
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *v = llama_model_get_vocab(m);
    if (!strcmp(argv[2], "--pieces")) {
        int nv = llama_vocab_n_tokens(v);
        printf("%d %d %d %d %d\n", nv, llama_vocab_bos(v), llama_vocab_eos(v), llama_vocab_eot(v),
               llama_vocab_get_add_bos(v));
        for (llama_token t = 0; t < nv; t++) {
            printf("%d %d ", t, llama_vocab_is_eog(v, t));
            piece(v, t, 0);
            putchar(' ');
            piece(v, t, 1);
            putchar('\n');
        }
        llama_model_free(m);
        return 0;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) return 1;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    int as = atoi(argv[3]), ps = atoi(argv[4]);
    const char *sep = "\n__ggml_vocab_test__\n";
    char *p = buf, *end = buf + n;
    static llama_token ids[1 << 20];
    while (p < end) {
        char *nx = strstr(p, sep);
        size_t len = nx ? (size_t)(nx - p) : (size_t)(end - p);
        int k = llama_tokenize(v, p, (int32_t)len, ids, 1 << 20, as, ps);
        for (int i = 0; i < k; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        if (!nx) break;
        p = nx + strlen(sep);
    }
    llama_model_free(m);
    return 0;
}
