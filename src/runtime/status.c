/* Status codes as text, and messages into a caller's buffer. */
#include "runtime/status.h"

#include <stdarg.h>
#include <stdio.h>

eq_status eq_errf(char *buf, size_t len, eq_status st, const char *fmt, ...) {
    if (buf && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *eq_status_str(eq_status s) {
    switch (s) {
    case EQ_OK: return "ok";
    case EQ_ERR_IO: return "I/O error";
    case EQ_ERR_FORMAT: return "malformed input";
    case EQ_ERR_UNSUPPORTED: return "unsupported";
    case EQ_ERR_NOMEM: return "out of memory";
    case EQ_ERR_ARG: return "bad argument";
    case EQ_ERR_CONTEXT_FULL: return "context full";
    case EQ_ERR_ABORTED: return "aborted";
    case EQ_ERR_NEED_MORE: return "incomplete input";
    case EQ_ERR_DEVICE: return "GPU failure";
    }
    return "unknown status";
}
