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
    int n_depth;                         /* bench: tokens in the cache before each test (-d) */
    int json, no_bos, no_parse_special, show_tensors, verbose, ids_only, special, no_huge_pages;
    /* serve's per-request limits (0: none; max_memory_mb -1: the build's default) */
    int max_tokens_cap, deadline_ms, max_memory_mb;
    eq_sampler_params sp;
} cli_args;

/* The usage text of every command (tools/cli_args.c). */
void cli_usage(FILE *f);
/* Parse argv[first..]: returns 0, or prints an error and returns 2. */
int  cli_parse(int argc, char **argv, int first, cli_args *a, const char *cmd);
/* "edgeq: ..." on stderr, one line with control characters escaped; returns 1 */
int  cli_error(const char *fmt, ...);
/* A thread count in 1..EQ_MAX_THREADS, else a one-line error ("WHAT: ...") and 2. */
int  cli_parse_threads(const char *what, const char *v, int *out);
/* A Wizer snapshot's preloaded model and context (tools/snapshot.c): 1 and the four set when
 * this module was pre-initialised, else 0. */
int  cli_snapshot(eq_model **m, eq_ctx **c, eq_ctx_params *cp, const char **name);
double cli_now(void);                                /* seconds, monotonic */
/* Load the model named by -m (vocab_only for tokenize); prints the error and returns NULL. */
eq_model *cli_load(const cli_args *a, int vocab_only);
eq_ctx   *cli_context(const cli_args *a, eq_model *m);
/* The prompt from -p or -f (caller frees), or NULL with an error printed. */
char *cli_prompt(const cli_args *a);

/* ---- output (cli_output.c) ---- */
/* src with control characters escaped (\n \r \t \xNN; C1 as \u00NN; bytes that are not
 * UTF-8 as \xNN), for text from files printed to a terminal; truncated to fit cap. Returns dst. */
const char *cli_esc(char *dst, size_t cap, const char *src);
/* The model's text: raw bytes when f is not a terminal (llama.cpp's output, byte for byte); on a
 * terminal control characters other than newline and tab are shown escaped. Flushes; returns 0,
 * or 1 after reporting a write error. */
int  cli_write_text(FILE *f, const char *s, size_t n);
/* Flush stdout and check it: 0, or 1 after printing "edgeq: write error: ..." (once). */
int  cli_check_stdout(void);
/* End of a command: flush and close stdout; a write error turns rc 0 into 1. */
int  cli_finish(int rc);
void cli_exit(int rc);                               /* exit(cli_finish(rc)) */

/* ---- interrupted outputs (cli_cleanup.c) ---- */
void cli_signals_init(void);                         /* at start: writes past ulimit -f fail, not kill */
/* An eq_outfile_temp_fn: remembers the temporary output file (NULL: none) so that SIGINT,
 * SIGTERM, SIGHUP and SIGPIPE remove it before the process dies of the signal. */
void cli_on_temp(void *user, const char *temp_path);

int cmd_run(const cli_args *a);
int cmd_chat(const cli_args *a);
int cmd_tokenize(const cli_args *a);
int cmd_info(const cli_args *a);
int cmd_bench(const cli_args *a);
int cmd_perplexity(const cli_args *a);
int cmd_convert(int argc, char **argv);   /* edgeq convert HF_DIR OUT.gguf [--outtype T] */

#endif
