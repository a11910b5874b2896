/* Error reporting into a caller's message buffer, shared by the modules that take one. */
#ifndef EQ_RUNTIME_STATUS_H
#define EQ_RUNTIME_STATUS_H
#include "edgeq.h"
#include <stddef.h>

/* Formats the message into buf (when buf and len) and returns st. */
eq_status eq_errf(char *buf, size_t len, eq_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
