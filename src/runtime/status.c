/* Status codes as text. */
#include "edgeq.h"

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
    }
    return "unknown status";
}
