/* Conformance driver: our eq_chat_detect + eq_chat_format against llama.cpp's builtin formatter
 * (llama_chat_apply_template from a prebuilt libllama), byte for byte.
 * Usage: driver TEMPLATE_FILE... ; every file is a Jinja template (or a bare family name).
 * Also checks every builtin family name llama.cpp lists. Prints "N passed, N failed". */
#include "chat.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* from llama.h; declared here so the driver needs no llama headers on the include path */
typedef struct llama_chat_message { const char *role; const char *content; } llama_chat_message;
int32_t llama_chat_apply_template(const char *tmpl, const llama_chat_message *chat, size_t n_msg,
                                  bool add_ass, char *buf, int32_t length);
int32_t llama_chat_builtin_templates(const char **output, size_t len);

static int n_pass, n_fail;

typedef struct { const char *name; int n; eq_chat_msg m[8]; } conv;

static const conv CONVS[] = {
    { "empty", 0, { { 0, 0 } } },
    { "user", 1, { { "user", "Hello" } } },
    { "sys+user", 2, { { "system", "You are a helpful assistant." }, { "user", "Hi there" } } },
    { "multi", 4, { { "system", "Be brief." }, { "user", "What is 2+2?" },
                    { "assistant", "4" }, { "user", "And 3+3?" } } },
    { "multi-nosys", 3, { { "user", "Hello" }, { "assistant", "Hi! How can I help?" },
                          { "user", "Tell me a joke." } } },
    { "ends-assistant", 2, { { "user", "Hi" }, { "assistant", "Hello." } } },
    { "whitespace", 4, { { "system", "  padded system \n" }, { "user", "\n  spaced user\t " },
                         { "assistant", "  spaced answer  " }, { "user", " again " } } },
    { "two-systems", 4, { { "system", "First." }, { "system", " Second. " },
                          { "user", "Q" }, { "assistant", "A" } } },
    { "late-system", 4, { { "user", "Q1" }, { "assistant", "A1" },
                          { "system", "Now be formal." }, { "user", "Q2" } } },
    { "empty-content", 3, { { "system", "" }, { "user", "" }, { "assistant", "" } } },
    { "tool-role", 4, { { "user", "Weather?" }, { "assistant", "calling" },
                        { "tool", "{\"temp\": 21}" }, { "user", "Thanks" } } },
    { "utf8", 2, { { "user", "Gr\xc3\xbc\xc3\x9f""e \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80" },
                   { "assistant", "\xc3\xa9t\xc3\xa9" } } },
    { "sys-only", 1, { { "system", "Only a system prompt." } } },
    { "odd-role", 2, { { "narrator", "Once upon a time" }, { "user", "go on" } } },
    { "assistant-first", 2, { { "assistant", "I start." }, { "user", "ok" } } },
};
#define N_CONVS (sizeof CONVS / sizeof CONVS[0])

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static char ref[1 << 16], ours[1 << 16];

static void check_template(const char *label, const char *tmpl) {
    const char *fam = eq_chat_detect(tmpl);
    llama_chat_message lm[8];
    for (size_t c = 0; c < N_CONVS; c++) {
        const conv *cv = &CONVS[c];
        for (int i = 0; i < cv->n; i++) { lm[i].role = cv->m[i].role; lm[i].content = cv->m[i].content; }
        for (int add = 0; add <= 1; add++) {
            int32_t r = llama_chat_apply_template(tmpl, lm, (size_t)cv->n, add, ref, sizeof ref);
            if (r < 0) {
                /* llama.cpp does not know it: neither may we */
                if (fam == NULL) n_pass++;
                else { n_fail++; printf("FAIL %s: we detect %s, llama.cpp none\n", label, fam); return; }
                continue;
            }
            if (!fam) { n_fail++; printf("FAIL %s: llama.cpp formats it, we detect nothing\n", label); return; }
            size_t len = 0;
            eq_status st = eq_chat_format(fam, cv->m, cv->n, add, ours, sizeof ours, &len);
            if (st != EQ_OK || len != (size_t)r || memcmp(ours, ref, len) != 0) {
                n_fail++;
                printf("FAIL %s [%s] conv=%s add=%d status=%d\n  llama: %d \"%.*s\"\n  ours:  %zu \"%.*s\"\n",
                       label, fam, cv->name, add, st, r, r, ref, len, (int)len, ours);
            } else {
                n_pass++;
            }
        }
    }
}

int main(int argc, char **argv) {
    /* every builtin family, by name */
    const char *names[256];
    int nb = llama_chat_builtin_templates(names, 256);
    for (int i = 0; i < nb && i < 256; i++) {
        if (!eq_chat_known(names[i])) { n_fail++; printf("FAIL builtin %s unknown to us\n", names[i]); continue; }
        check_template(names[i], names[i]);
    }
    /* every template file given */
    for (int i = 1; i < argc; i++) {
        char *t = read_file(argv[i]);
        if (!t) { n_fail++; printf("FAIL cannot read %s\n", argv[i]); continue; }
        const char *base = strrchr(argv[i], '/');
        const char *fam = eq_chat_detect(t);
        printf("  %-60s -> %s\n", base ? base + 1 : argv[i], fam ? fam : "(none)");
        check_template(base ? base + 1 : argv[i], t);
        free(t);
    }
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
