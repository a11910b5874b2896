/* What the CLI prints, made safe: text from files (metadata, tensor names, paths in messages)
 * with its control characters escaped so that a crafted model cannot drive the terminal, the
 * model's generated text escaped only on a terminal, and every write to stdout checked. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_error_reported;   /* one "write error" line per process */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;   /* the second byte's range (no overlongs, surrogates) */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

const char *cli_esc(char *dst, size_t cap, const char *src) {
    const unsigned char *s = (const unsigned char *)(src ? src : "");
    size_t n = strlen((const char *)s), o = 0;
    if (!cap) return dst;
    for (size_t i = 0; i < n;) {
        char tmp[8];
        size_t k = 0, adv = 1;
        unsigned char c = s[i];
        size_t u = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (c == '\n') { memcpy(tmp, "\\n", 2); k = 2; }
        else if (c == '\r') { memcpy(tmp, "\\r", 2); k = 2; }
        else if (c == '\t') { memcpy(tmp, "\\t", 2); k = 2; }
        else if (c < 0x20 || c == 0x7F) k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
        else if (c < 0x80) { tmp[0] = (char)c; k = 1; }
        else if (u == 2 && c == 0xC2 && s[i + 1] < 0xA0) { k = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", s[i + 1]); adv = 2; } /* C1 */
        else if (u) { memcpy(tmp, s + i, u); k = u; adv = u; }
        else k = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);   /* not UTF-8 */
        if (o + k >= cap) break;   /* truncate whole escapes only */
        memcpy(dst + o, tmp, k);
        o += k;
        i += adv;
    }
    dst[o] = 0;
    return dst;
}

int cli_error(const char *fmt, ...) {
    char msg[2048], out[4 * sizeof msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* messages echo paths and file contents: one line, nothing a terminal would act on */
    fprintf(stderr, "edgeq: %s\n", cli_esc(out, sizeof out, msg));
    return 1;
}

static int report_write_error(int e) {
    if (!write_error_reported) {
        write_error_reported = 1;
        fprintf(stderr, "edgeq: write error: %s\n", e == ENOSPC ? "disk full" : e ? strerror(e) : "standard output");
    }
    return 1;
}

int cli_check_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0) return report_write_error(errno);
    if (ferror(stdout)) return report_write_error(0);
    return 0;
}

int cli_finish(int rc) {
    /* the last of the buffered output goes out here (and on a NFS-like file, at close) */
    if (cli_check_stdout()) return rc ? rc : 1;
    errno = 0;
    if (fclose(stdout) != 0) { report_write_error(errno); return rc ? rc : 1; }
    return rc;
}

void cli_exit(int rc) { exit(cli_finish(rc)); }

int cli_write_text(FILE *f, const char *s, size_t n) {
    static int tty = -1;   /* is stdout a terminal? asked once */
    if (tty < 0) tty = isatty(fileno(f)) == 1;
    if (!tty) {
        if (n && fwrite(s, 1, n, f) != n) return report_write_error(errno);
    } else {
        const unsigned char *p = (const unsigned char *)s;
        size_t start = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned c = p[i];
            int c1 = c == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xA0;
            if (!(c < 0x20 && c != '\n' && c != '\t') && c != 0x7F && !c1) continue;
            if (i > start) fwrite(s + start, 1, i - start, f);
            if (c1) fprintf(f, "\\u%04x", p[++i]);
            else if (c == '\r') fputs("\\r", f);
            else fprintf(f, "\\x%02x", c);
            start = i + 1;
        }
        if (n > start) fwrite(s + start, 1, n - start, f);
    }
    errno = 0;
    if (fflush(f) != 0) return report_write_error(errno);
    if (ferror(f)) return report_write_error(0);
    return 0;
}
