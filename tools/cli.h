/* The edgeq command-line tool: one main() for native and WASI builds. Commands print their
 * output on stdout; logs, timings and errors go to stderr. */
#ifndef EQ_CLI_H
#define EQ_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "edgeq.h"

typedef struct {
    const char *model, *prompt, *prompt_file, *system, *logits_out, *kv_type;
    const char *kl_base, *save_logits;   /* perplexity: compare against / save 16-bit log-probs */
    int n_chunks;                        /* perplexity: at most this many chunks (0: all) */
    int n_predict, n_ctx, n_threads, n_batch, n_prompt_bench, reps;
    int json, no_bos, no_parse_special, show_tensors, verbose, ids_only, special;
    eq_sampler_params sp;
} cli_args;

/* Parse argv[first..]: returns 0, or prints an error and returns 2. */
int  cli_parse(int argc, char **argv, int first, cli_args *a, const char *cmd);
/* A thread count in 1..EQ_MAX_THREADS, else a one-line error ("WHAT: ...") and 2. */
int  cli_parse_threads(const char *what, const char *v, int *out);
int  cli_error(const char *fmt, ...);                /* "edgeq: ..." on stderr; returns 1 */
double cli_now(void);                                /* seconds, monotonic */
/* Load the model named by -m (vocab_only for tokenize); prints the error and returns NULL. */
eq_model *cli_load(const cli_args *a, int vocab_only);
eq_ctx   *cli_context(const cli_args *a, eq_model *m);
/* The prompt from -p or -f (caller frees), or NULL with an error printed. */
char *cli_prompt(const cli_args *a);

int cmd_run(const cli_args *a);
int cmd_chat(const cli_args *a);
int cmd_tokenize(const cli_args *a);
int cmd_info(const cli_args *a);
int cmd_bench(const cli_args *a);
int cmd_perplexity(const cli_args *a);
int cmd_convert(int argc, char **argv);   /* edgeq convert HF_DIR OUT.gguf [--outtype T] */

#endif
