/* edgeq info: architecture, sizes, tensor types and metadata. Everything that comes from the
 * file (keys, values, tensor names) and the path are printed with control characters escaped
 * (cli_esc), so a crafted model cannot retitle, recolour or rewrite the terminal. */
#include "cli.h"
#include <string.h>

int cmd_info(const cli_args *a) {
    /* everything shown is in the header: no tensor memory is needed */
    eq_model *m = cli_load(a, 1);
    if (!m) return 1;
    char e1[1024], e2[1024];
    printf("file:          %s\n", cli_esc(e1, sizeof e1, a->model));
    printf("architecture:  %s\n", eq_model_arch(m));
    printf("parameters:    %.2f M\n", eq_model_n_params(m) / 1e6);
    printf("size:          %.2f MiB (%.2f bits per weight)\n", eq_model_size_bytes(m) / 1048576.0,
           eq_model_n_params(m) ? 8.0 * eq_model_size_bytes(m) / eq_model_n_params(m) : 0.0);
    printf("layers:        %d\n", eq_model_n_layer(m));
    printf("embedding:     %d\n", eq_model_n_embd(m));
    printf("context:       %d\n", eq_model_n_ctx_train(m));
    printf("vocabulary:    %d tokens\n", eq_model_n_vocab(m));
    const char *tmpl = eq_chat_template_name(m);
    printf("chat template: %s\n", tmpl ? tmpl : "(none recognised)");
    /* tensor types, counted */
    const char *types[32];
    int counts[32], nt = 0, n = eq_model_tensor_count(m);
    for (int i = 0; i < n; i++) {
        const char *name, *type;
        eq_model_tensor_info(m, i, &name, &type, NULL, NULL);
        int j = 0;
        while (j < nt && strcmp(types[j], type)) j++;
        if (j == nt && nt < 32) { types[nt] = type; counts[nt++] = 0; }
        if (j < nt) counts[j]++;
    }
    printf("tensors:       %d (", n);
    for (int j = 0; j < nt; j++) printf("%s%s: %d", j ? ", " : "", types[j], counts[j]);
    printf(")\n\nmetadata:\n");
    for (int i = 0; i < eq_model_meta_count(m); i++) {
        const char *k = eq_model_meta_key(m, i);
        char head[201];   /* values are shown up to 200 bytes */
        const int len = eq_model_meta_str(m, k, head, sizeof head);
        if (len >= (int)sizeof head) {   /* shown in part: cut between characters, and say so */
            size_t l = sizeof head - 4;
            while (l > 0 && ((unsigned char)head[l] & 0xC0) == 0x80) l--;
            memcpy(head + l, "...", 4);
        }
        cli_esc(e1, sizeof e1, k);
        if (!strcmp(k, "tokenizer.chat_template")) printf("  %-40s (%d bytes)\n", e1, len);
        else printf("  %-40s %s\n", e1, cli_esc(e2, sizeof e2, head));
    }
    if (a->show_tensors) {
        printf("\ntensors:\n");
        for (int i = 0; i < n; i++) {
            const char *name, *type;
            int64_t ne[4];
            int nd;
            eq_model_tensor_info(m, i, &name, &type, ne, &nd);
            printf("  %-32s %-5s [", cli_esc(e1, sizeof e1, name), type);
            for (int d = 0; d < nd; d++) printf(d ? ", %lld" : "%lld", (long long)ne[d]);
            printf("]\n");
        }
    }
    eq_model_free(m);
    return 0;
}
