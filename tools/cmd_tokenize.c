/* edgeq tokenize: token ids like llama-tokenize --ids (BOS when the vocabulary asks for it,
 * special tokens in the text parsed). Works on vocabulary-only GGUF files. */
#include "cli.h"
#include <stdlib.h>

int cli_tokenize(eq_model *m, const char *text, int add_special, int parse_special, eq_token **out);

int cmd_tokenize(const cli_args *a) {
    char *text = cli_prompt(a);
    if (!text) return 1;
    eq_model *m = cli_load(a, 1);
    if (!m) { free(text); return 1; }
    eq_token *ids = NULL;
    int n = cli_tokenize(m, text, !a->no_bos, !a->no_parse_special, &ids);
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    if (n >= 0) printf("\n");
    free(ids);
    free(text);
    eq_model_free(m);
    return n < 0;
}
