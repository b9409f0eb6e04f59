/* Data tables for the tokenizer's text clean-up, generated from Python's own
 * modules by tools/gen_tok_tables.py into tables_gen.c (do not edit that file). */
#ifndef MODX_TOK_TABLES_H
#define MODX_TOK_TABLES_H

#include <stdint.h>

typedef struct {
    const char *name;  /* "amp;", "amp", "NotEqualTilde;" ... (UTF-8, no '&') */
    const char *value; /* UTF-8 replacement */
} TokEntity;

typedef struct {
    uint32_t from, to;
} TokCodeMap;

typedef struct {
    uint32_t lo, hi; /* inclusive */
} TokRange;

/* html.entities.html5, sorted by name bytes (strcmp order). */
extern const TokEntity tok_html5_entities[];
extern const int tok_html5_entity_count;
extern const int tok_html5_entity_max_len; /* longest name, in characters */
/* html._invalid_charrefs: numeric references replaced by another code point. */
extern const TokCodeMap tok_html_invalid_charrefs[];
extern const int tok_html_invalid_charref_count;
/* html._invalid_codepoints: numeric references that decode to nothing. */
extern const TokRange tok_html_invalid_codepoints[];
extern const int tok_html_invalid_codepoint_count;
/* Python's Case_Ignorable and Cased (the latter minus ignorable code points),
 * as str.lower() uses them for the final-sigma rule. Sorted ranges. */
extern const TokRange tok_case_ignorable[];
extern const int tok_case_ignorable_count;
extern const TokRange tok_cased[];
extern const int tok_cased_count;

/* 1 when cp lies in one of the n sorted ranges. */
int tok_in_ranges(const TokRange *r, int n, uint32_t cp);

#endif
