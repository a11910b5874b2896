/* edgeq CLI: the dispatch to each command, and stdout checked at exit. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_quantize(int argc, char **argv); /* positional IN OUT TYPE: parses its own arguments */

static int dispatch(int argc, char **argv) {
    if (argc < 2) { cli_usage(stderr); return 2; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) { cli_usage(stdout); return 0; }
    if (!strcmp(cmd, "--version")) { printf("edgeq %s\n", eq_version()); return 0; }
    if (!strcmp(cmd, "quantize")) return cmd_quantize(argc, argv);
    if (!strcmp(cmd, "serve")) { int cmd_serve(int, char **); return cmd_serve(argc, argv); } /* edge mode: own options, EDGEQ_MODEL */
    if (!strcmp(cmd, "convert")) return cmd_convert(argc, argv);   /* positional arguments */
    static const struct { const char *name; int (*fn)(const cli_args *); } cmds[] = {
        {"run", cmd_run}, {"chat", cmd_chat}, {"tokenize", cmd_tokenize}, {"info", cmd_info}, {"bench", cmd_bench},
        {"perplexity", cmd_perplexity},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        if (strcmp(cmd, cmds[i].name)) continue;
        cli_args a;
        if (cli_parse(argc, argv, 2, &a, cmd)) return 2;
        return cmds[i].fn(&a);
    }
    cli_error("unknown command '%s' (run, chat, tokenize, info, bench, perplexity, quantize, convert, serve)", cmd);
    return 2;
}

int main(int argc, char **argv) {
    cli_signals_init();
    /* whatever the command printed must have reached stdout: a failed write is a failure */
    return cli_finish(dispatch(argc, argv));
}
