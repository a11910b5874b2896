/* A tiny test harness: CHECK records a failure and goes on; each test file's main returns
 * eqt_done(), which prints "N passed, N failed" and the exit status. */
#ifndef EQTEST_H
#define EQTEST_H
#include <stdio.h>
#include <stdlib.h>

static int eqt_pass, eqt_fail;
#define CHECK(cond) do { if (cond) eqt_pass++; else { eqt_fail++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) do { if (cond) eqt_pass++; else { eqt_fail++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
static inline int eqt_done(void) {
    printf("%d passed, %d failed\n", eqt_pass, eqt_fail);
    return eqt_fail ? 1 : 0;
}
#endif
