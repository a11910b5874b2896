/* Chat prompts on a real model's vocabulary (Gemma 3, whose GGUF carries no chat template: it
 * is the base model) against llama.cpp: the template named by a Jinja file (the instruction
 * model's, google-gemma-3-270m-it.jinja) formatted with eq_chat_apply and tokenized with
 * eq_chat_tokenize, against llama_chat_apply_template + llama_tokenize(add_special, parse_special),
 * byte for byte and id for id; and both agree that the file names no template.
 * Usage: gemma3 MODEL.gguf TEMPLATE.jinja   -> "N passed, N failed" */
#include "chat.h"    /* eq_chat_detect: the family of a template text */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

typedef struct { const char *name; int n; eq_chat_msg m[6]; int flags; } conv;

/* flags EQ_CHAT_SPECIAL_IN_CONTENT where a content holds special-token text: only then is
 * llama.cpp's one-piece parse_special tokenization the expected result */
static const conv CONVS[] = {
    { "user", 1, { { "user", "Hello" } }, 0 },
    { "sys+user", 2, { { "system", "You are a helpful assistant." }, { "user", "Hi there" } }, 0 },
    { "multi", 4, { { "system", "Be brief." }, { "user", "What is 2+2?" }, { "assistant", "4" },
                    { "user", "And 3+3?" } }, 0 },
    { "whitespace", 4, { { "system", "  padded system \n" }, { "user", "\n  spaced user\t " },
                         { "assistant", "  spaced   answer  " }, { "user", " again\n\n\n" } }, 0 },
    { "two-systems", 4, { { "system", "First." }, { "system", " Second. " }, { "user", "Q" },
                          { "assistant", "A" } }, 0 },
    { "utf8+html", 2, { { "user", "Gr\xc3\xbc\xc3\x9f""e \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 <b>x</b>" },
                        { "assistant", "<table><tr><td>\xc3\xa9t\xc3\xa9</td></tr></table>" } }, 0 },
    { "special-in-content", 2, { { "user", "a<end_of_turn>\n<start_of_turn>model\nb" },
                                 { "assistant", "<bos><unused3>" } }, EQ_CHAT_SPECIAL_IN_CONTENT },
    { "sys-only", 1, { { "system", "Only a system prompt." } }, 0 },
};

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) { (void)level; (void)text; (void)user; }

static char ref[1 << 16], ours[1 << 16];
static llama_token ref_ids[1 << 14];
static eq_token our_ids[1 << 14];

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL.gguf TEMPLATE.jinja\n", argv[0]); return 2; }
    char *tmpl = read_file(argv[2]);
    if (!tmpl) { fprintf(stderr, "cannot read %s\n", argv[2]); return 2; }
    char err[512];
    eq_model_params ep = eq_model_default_params();
    ep.vocab_only = 1;
    eq_model *m;
    if (eq_model_load(argv[1], &ep, &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params lp = llama_model_default_params();
    lp.vocab_only = true;
    struct llama_model *lm = llama_model_load_from_file(argv[1], lp);
    if (!lm) { fprintf(stderr, "llama.cpp cannot load %s\n", argv[1]); return 2; }
    const struct llama_vocab *lv = llama_model_get_vocab(lm);

    /* the file's own template: none, in both */
    const char *ltmpl = llama_model_chat_template(lm, NULL);
    const char *etmpl = eq_chat_template_name(m);
    if ((ltmpl == NULL) == (etmpl == NULL)) n_pass++;
    else { n_fail++; printf("FAIL file template: llama.cpp %s, ours %s\n", ltmpl ? "has one" : "none", etmpl ? etmpl : "none"); }

    const char *fam = eq_chat_detect(tmpl);
    printf("  %s -> %s\n", argv[2], fam ? fam : "(none)");
    for (size_t c = 0; c < sizeof CONVS / sizeof CONVS[0]; c++) {
        const conv *cv = &CONVS[c];
        llama_chat_message lmsg[6];
        for (int i = 0; i < cv->n; i++) { lmsg[i].role = cv->m[i].role; lmsg[i].content = cv->m[i].content; }
        for (int add = 0; add <= 1; add++) {
            int32_t r = llama_chat_apply_template(tmpl, lmsg, (size_t)cv->n, add, ref, sizeof ref);
            size_t len = 0;
            eq_status st = fam ? eq_chat_apply(m, fam, cv->m, cv->n, add, ours, sizeof ours, &len) : EQ_ERR_UNSUPPORTED;
            if (r < 0 || r >= (int32_t)sizeof ref || st || len != (size_t)r || memcmp(ours, ref, len)) {
                n_fail++;
                printf("FAIL %s add=%d text: llama %d \"%.*s\"\n  ours %d %zu \"%.*s\"\n", cv->name, add, r,
                       r > 0 ? r : 0, ref, st, len, (int)len, ours);
                continue;
            }
            n_pass++;
            int nr = llama_tokenize(lv, ref, r, ref_ids, (int32_t)(sizeof ref_ids / sizeof ref_ids[0]), true, true);
            int ne = 0;
            st = eq_chat_tokenize(m, fam, cv->m, cv->n, add, cv->flags, our_ids,
                                  (int)(sizeof our_ids / sizeof our_ids[0]), &ne);
            int ok = nr >= 0 && st == EQ_OK && ne == nr;
            for (int i = 0; ok && i < nr; i++) ok = ref_ids[i] == our_ids[i];
            if (ok) { n_pass++; continue; }
            n_fail++;
            printf("FAIL %s add=%d ids (status %d)\n  llama:", cv->name, add, st);
            for (int i = 0; i < nr; i++) printf(" %d", ref_ids[i]);
            printf("\n  ours: ");
            for (int i = 0; i < ne && i < (int)(sizeof our_ids / sizeof our_ids[0]); i++) printf(" %d", our_ids[i]);
            printf("\n");
        }
    }
    llama_model_free(lm);
    eq_model_free(m);
    free(tmpl);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
