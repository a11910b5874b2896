/* edgeq convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0|auto]: a Hugging Face model
 * folder to GGUF, as llama.cpp's convert_hf_to_gguf.py writes it. */
#include "cli.h"
#include "edgeq_quantize.h"

#include <stdio.h>
#include <string.h>

/* The converter's warnings (a model card it skipped, in part or whole) go to stderr, with
 * what they quote from the card escaped. */
static void print_warning(void *user, const char *msg) {
    (void)user;
    char buf[4096];
    fprintf(stderr, "edgeq: warning: %s\n", cli_esc(buf, sizeof buf, msg));
}

int cmd_convert(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    eq_hf_convert_params p = eq_hf_convert_default_params();
    p.warn = print_warning;
    p.on_temp = cli_on_temp;   /* an interrupted conversion removes its temporary file */
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--outtype")) {
            if (i + 1 >= argc) return cli_error("option --outtype needs a value"), 2;
            const char *v = argv[++i];
            if (!strcmp(v, "f32")) p.outtype = EQ_TYPE_F32;
            else if (!strcmp(v, "f16")) p.outtype = EQ_TYPE_F16;
            else if (!strcmp(v, "bf16")) p.outtype = EQ_TYPE_BF16;
            else if (!strcmp(v, "q8_0")) p.outtype = EQ_TYPE_Q8_0;
            else if (!strcmp(v, "auto")) p.outtype = EQ_HF_OUTTYPE_AUTO;
            else return cli_error("--outtype must be f32, f16, bf16, q8_0 or auto (got '%s')", v), 2;
        } else if (o[0] == '-' && o[1]) {
            return cli_error("unknown option '%s' for 'convert' (see edgeq --help)", o), 2;
        } else if (!dir) dir = o;
        else if (!out) out = o;
        else return cli_error("convert: unexpected argument '%s'", o), 2;
    }
    if (!dir || !out) return cli_error("usage: edgeq convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0]"), 2;
    char err[1024];
    if (eq_hf_convert(dir, out, &p, err, sizeof err)) return cli_error("%s", err);
    return 0;
}
