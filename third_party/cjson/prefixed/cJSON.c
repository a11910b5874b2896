/* The vendored cJSON.c, compiled under edgeq's names (see cJSON.h here). Its own
 * #include "cJSON.h" finds the parent's header, already included below with the names set. */
#include "cJSON.h"
#include "../cJSON.c"
