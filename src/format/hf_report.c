/* How the converter reports: errors into the caller's buffer, warnings to its callback (the
 * library never prints). Apart from the steps so that each can use them without the others. */
#include "format/hf_internal.h"

#include <stdarg.h>
#include <stdio.h>

eq_status eq_hf_fail(eq_hf *h, eq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, h->errlen, fmt, ap);
    va_end(ap);
    return st;
}

void eq_hf_warn(eq_hf *h, const char *fmt, ...) {
    if (!h->warn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->warn(h->warn_user, msg);
}

eq_status eq_hf_wfail(eq_hf *h, eq_status st) {
    const char *m = h->w ? eq_gguf_writer_errmsg(h->w) : "";
    snprintf(h->err, h->errlen, "%s", m && *m ? m : eq_status_str(st ? st : EQ_ERR_NOMEM));
    return st ? st : EQ_ERR_NOMEM;
}
