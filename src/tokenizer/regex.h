/* A small backtracking regex engine with ECMAScript (std::regex) semantics, for the
 * pre-tokenizer patterns llama.cpp runs through std::regex: alternation, (?: ) ( ) groups,
 * (?= ) (?! ) lookahead, greedy * + ? {n,m}, classes with ranges, \s \S \d \D \w \W, $ ^ \b.
 * It matches over arrays of 32-bit units: code points, or the one-byte "collapsed" categories
 * llama.cpp substitutes for non-ASCII code points. */
#ifndef EQ_TOK_REGEX_H
#define EQ_TOK_REGEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct eq_re eq_re;

/* Compile a pattern given as units; NULL on a syntax error or an unsupported construct. */
eq_re *eq_re_compile(const uint32_t *pat, size_t n);
void   eq_re_free(eq_re *re);

/* Leftmost match in text[from, n): returns 1 and sets [*ms, *me), 0 if none, -1 when the
 * backtracking budget ran out (pathological input). Text outside [0, n) is not seen. */
int eq_re_search(const eq_re *re, const uint32_t *text, size_t n, size_t from, size_t *ms, size_t *me);

#endif
