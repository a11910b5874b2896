/* edgeq quantize IN.gguf OUT.gguf TYPE: llama-quantize's mixtures and bytes. Unlike the other
 * commands it takes positional arguments (as llama-quantize does), so it parses its own. */
#include "cli.h"
#include "edgeq_quantize.h"
#include "runtime/outfile.h"   /* eq_outfile_check: the CLI refuses a bad output before its banner */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void quantize_usage(FILE *f) {
    fprintf(f,
        "usage: edgeq quantize [options] IN.gguf OUT.gguf TYPE [THREADS]\n"
        "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M\n"
        "        Q5_K_S Q5_K_M Q6_K (and llama-quantize's aliases Q3_K Q4_K Q5_K)\n"
        "  --threads N, -t N            threads (default: one per CPU this process may use; at most 512)\n"
        "  --imatrix FILE               importance matrix (llama-imatrix GGUF or legacy .dat)\n"
        "  --pure                       no k-quant mixture: every weight gets TYPE's base type\n"
        "  --output-tensor-type T       type for output.weight (e.g. q8_0, q6_K, f16)\n"
        "  --token-embedding-type T     type for token_embd.weight\n"
        "  --allow-requantize           accept an already-quantized input (dequantized first)\n"
        "OUT.gguf is written as .OUT.gguf.edgeq-*.tmp in its folder and renamed when complete; an\n"
        "interrupted run removes it (a killed one: the next run to OUT.gguf does).\n");
}

/* One log line per tensor on stdout (names come from the file: escaped). A failed write
 * stops the quantization at the next slab (cancel) and fails the command. */
static void print_line(void *user, const char *line) {
    int *write_failed = user;
    char buf[4096];
    if (*write_failed) return;
    fputs(cli_esc(buf, sizeof buf, line), stdout);
    fputc('\n', stdout);
    *write_failed = cli_check_stdout();
}

static int stop_on_write_error(void *user) { return *(int *)user; }

static int parse_tensor_type(const char *opt, const char *v, int *out) {
    int t = eq_type_from_name(v);
    if (t < 0 || !eq_quantize_supported(t)) {
        cli_error("%s: unknown or unsupported tensor type '%s' (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_K..q6_K)", opt, v);
        return 2;
    }
    *out = t;
    return 0;
}

static int parse_threads(const char *v, int *out) { return cli_parse_threads("quantize", v, out); }

int cmd_quantize(int argc, char **argv) {
    eq_quantize_params p = eq_quantize_default_params();
    const char *pos[4];
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] == '-' && o[1]) {
            if (!strcmp(o, "-h") || !strcmp(o, "--help")) { quantize_usage(stdout); return 0; }
            if (!strcmp(o, "--pure")) { p.pure = 1; continue; }
            if (!strcmp(o, "--allow-requantize")) { p.allow_requantize = 1; continue; }
            if (!v) { cli_error("quantize: option %s needs a value (or is unknown)", o); return 2; }
            if (!strcmp(o, "--threads") || !strcmp(o, "-t")) { if (parse_threads(v, &p.n_threads)) return 2; }
            else if (!strcmp(o, "--imatrix")) p.imatrix = v;
            else if (!strcmp(o, "--output-tensor-type")) { if (parse_tensor_type(o, v, &p.output_type)) return 2; }
            else if (!strcmp(o, "--token-embedding-type")) { if (parse_tensor_type(o, v, &p.token_embd_type)) return 2; }
            else { cli_error("quantize: unknown option '%s' (see edgeq quantize --help)", o); return 2; }
            i++;
            continue;
        }
        if (npos == 4) { cli_error("quantize: too many arguments ('%s')", o); return 2; }
        pos[npos++] = o;
    }
    if (npos < 3) {
        quantize_usage(stderr);
        return 2;
    }
    p.ftype = eq_ftype_from_name(pos[2]);
    if (p.ftype < 0) {
        cli_error("quantize: unknown or unsupported type '%s' (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S "
                  "Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K)", pos[2]);
        return 2;
    }
    if (npos == 4 && parse_threads(pos[3], &p.n_threads)) return 2;
    int write_failed = 0;
    p.log = print_line;
    p.cancel = stop_on_write_error;
    p.log_user = &write_failed;
    p.on_temp = cli_on_temp;   /* an interrupted run removes its temporary file */

    /* the output may be neither a folder nor an input by any name: one line, before the banner */
    const char *inputs[2] = {pos[0], p.imatrix};
    const eq_outfile_opts oo = {inputs, 2, NULL, NULL};
    char err[1024];
    if (eq_outfile_check(pos[1], &oo, err, sizeof err)) return cli_error("quantize: %s", err);

    char in_e[1024], out_e[1024];
    fprintf(stderr, "edgeq: quantizing '%s' to '%s' as %s\n", cli_esc(in_e, sizeof in_e, pos[0]),
            cli_esc(out_e, sizeof out_e, pos[1]), eq_ftype_name(p.ftype));
    const double t0 = cli_now();
    eq_status st = eq_quantize_model(pos[0], pos[1], &p, err, sizeof err);
    if (write_failed) return 1;   /* reported; the output was not created */
    if (st) return cli_error("%s", err);
    printf("quantize time = %8.2f ms\n", (cli_now() - t0) * 1000.0);
    return 0;
}
