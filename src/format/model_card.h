/* A Hugging Face model card's (README.md) YAML front matter, read as gguf-py's
 * Metadata.load_model_card reads it: the lines between a first line "---" and the next line
 * "---" (or the end of the file), with its two text fixes (a "- no" list item quoted, each tab
 * made two spaces), parsed the way PyYAML's safe_load parses them (YAML 1.1 scalar types).
 *
 * The YAML reader covers what model cards use: block mappings and sequences (also a sequence
 * at its key's indentation), flow [..] and {..} collections, plain, 'single' and "double"
 * quoted scalars (multi-line, with escapes), | and > block scalars, comments, anchors.
 * Aliases, tags, complex (?) keys and merge keys are not resolved: such a value reads as
 * EQ_MC_OTHER, or, at the top of the document, makes the card unreadable. Input is never
 * trusted: every read is bounds-checked, nesting, node count and sizes are capped, and
 * malformed text gives a one-line message, never a crash. */
#ifndef EQ_MODEL_CARD_H
#define EQ_MODEL_CARD_H

#include <stddef.h>

typedef enum {
    EQ_MC_NULL,    /* ~, null, an empty value */
    EQ_MC_STR,     /* text: quoted, a block scalar, or plain text no other type claims */
    EQ_MC_BOOL,    /* yes/no/true/false/on/off (YAML 1.1) */
    EQ_MC_INT,     /* 42, 0x2a, 052, 0b101010, 1:30 */
    EQ_MC_FLOAT,   /* 1.5, .5, 1.0e+3, .inf, .nan */
    EQ_MC_OTHER,   /* what gguf-py cannot store as text: a date, an alias, a tagged node, a
                    * string holding NUL or a lone surrogate */
    EQ_MC_SEQ,
    EQ_MC_MAP
} eq_mc_kind;

typedef struct eq_mc_node eq_mc_node;
struct eq_mc_node {
    eq_mc_kind kind;
    int falsy;                  /* Python's bool() of the value is False ("", 0, [], ...) */
    const char *text;           /* scalars: the value, NUL-terminated (plain ones as written) */
    size_t len;
    const eq_mc_node *key;      /* a mapping member: its key (a scalar or OTHER node) */
    const eq_mc_node *child;    /* SEQ: the first item; MAP: the first member's value */
    const eq_mc_node *next;     /* the next item / member */
    size_t n;                   /* SEQ, MAP: how many */
};

/* Outcome of reading a card. */
enum {
    EQ_MC_OK = 0,      /* a mapping: eq_mc_root() */
    EQ_MC_NONE,        /* no front matter (no "---" first line, or an empty file) */
    EQ_MC_NOT_MAP,     /* front matter that is not a mapping (empty, a list, plain text) */
    EQ_MC_BAD,         /* not UTF-8, malformed YAML, unsupported YAML, or over a limit */
    EQ_MC_NOMEM        /* out of memory */
};

typedef struct eq_mc eq_mc;   /* a parsed document: owns all its nodes and text */

/* README.md bytes -> front matter. Returns an EQ_MC_* code; *out is set only for EQ_MC_OK
 * (free it with eq_mc_free). For NOT_MAP, BAD and NOMEM, msg (may be NULL) says why, with a
 * line number where there is one (counted from the card's first line). */
int eq_mc_parse_card(const char *data, size_t len, eq_mc **out, char *msg, size_t msglen);
/* The YAML reader alone, over text that has had the card fixes applied (tests use it). */
int eq_mc_parse_yaml(const char *text, size_t len, eq_mc **out, char *msg, size_t msglen);

const eq_mc_node *eq_mc_root(const eq_mc *doc);
/* The value of a mapping's member whose key is the string `key` (the last one, as a Python
 * dict keeps it), or NULL when there is none or `map` is no mapping. */
const eq_mc_node *eq_mc_get(const eq_mc_node *map, const char *key);
void eq_mc_free(eq_mc *doc);

/* Limits (generous for real cards, which are kilobytes): larger input reads as EQ_MC_BAD. */
#define EQ_MC_MAX_DEPTH 64              /* nested collections */
#define EQ_MC_MAX_NODES (1u << 18)      /* scalars + collections */

#endif
