/* An interrupted write leaves nothing behind: while a temporary output file exists (quantize,
 * convert, perplexity --save-logits, run --logits-out), SIGINT, SIGTERM, SIGHUP and SIGPIPE
 * remove it before the process dies of the signal as it would have. The handler only calls
 * unlink() and raise() (async-signal-safe) on a path stored beforehand. Signals the parent set
 * to be ignored stay ignored. What a SIGKILL leaves is removed by the next run writing the same
 * output (runtime/outfile.c). WASI has no signals: there this is a no-op. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdatomic.h>
#include <string.h>

#if !defined(__wasi__) && !defined(__EMSCRIPTEN__)
#include <signal.h>
#include <unistd.h>
#define CLI_SIGNALS 1

static char temp_path[4096];
static volatile sig_atomic_t have_temp;
static int installed;
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

static void on_signal(int sig) {
    if (have_temp) unlink(temp_path);
    have_temp = 0;
    raise(sig);   /* SA_RESETHAND: delivered with the default action once this returns */
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) sigaddset(&sa.sa_mask, cleanup_signals[i]);
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) {
        struct sigaction old;
        if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            sigaction(cleanup_signals[i], &sa, NULL);
    }
}
#endif

void cli_signals_init(void) {
#ifdef CLI_SIGNALS
    /* past a file-size limit (ulimit -f) a write fails with EFBIG, reported like any write
     * error, instead of SIGXFSZ killing the process half-way through a file */
    struct sigaction old;
    if (sigaction(SIGXFSZ, NULL, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGXFSZ, SIG_IGN);
    /* installed up front: a signal right after a temporary appears must find the handler */
    install();
    installed = 1;
#endif
}

void cli_on_temp(void *user, const char *path) {
    (void)user;
#ifdef CLI_SIGNALS
    have_temp = 0;
    if (!path) return;
    size_t n = strlen(path);
    if (n >= sizeof temp_path) return;   /* too long to remember: the next run's clean-up takes it */
    if (!installed) { install(); installed = 1; }
    memcpy(temp_path, path, n + 1);
    atomic_signal_fence(memory_order_seq_cst);   /* the path is complete before the handler may use it */
    have_temp = 1;
#else
    (void)path;
#endif
}
