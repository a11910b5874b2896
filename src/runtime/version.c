/* The library's version: EQ_VERSION as this library was compiled (include/edgeq.h). */
#include "edgeq.h"

const char *eq_version(void) { return EQ_VERSION; }
