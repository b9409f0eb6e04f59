/* Unicode helpers for the CLIP tokenizer: a growable code-point buffer, strict
 * UTF-8 decoding (as Python's), the pre-tokeniser's character classes, and
 * Python's str.lower(), str.isspace() and regex \s. */
#ifndef MODX_TOK_UNICODE_H
#define MODX_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    uint32_t *v; /* (n) code points */
    size_t n, cap;
} TokCps;

void tok_cps_free(TokCps *s);
ModxStatus tok_cps_push(TokCps *s, uint32_t cp);
ModxStatus tok_cps_append(TokCps *s, const uint32_t *cps, size_t n);
/* Appends the code points of valid UTF-8 (no checks; use tok_utf8_check first). */
ModxStatus tok_cps_push_utf8(TokCps *s, const char *utf8);

/* Checks that bytes[0..n) are well-formed UTF-8 as Python's strict decoder
 * demands (no overlongs, no surrogates, nothing past U+10FFFF). Returns 1 when
 * valid, else 0 with the byte offset of the first bad sequence in *bad_at. */
int tok_utf8_check(const char *bytes, size_t n, size_t *bad_at);
/* Decodes valid UTF-8 (checked with tok_utf8_check) into code points. */
ModxStatus tok_utf8_decode(const char *bytes, size_t n, TokCps *out);
/* Writes cp as UTF-8 into buf (4 bytes room); returns the byte count. */
int tok_utf8_put(uint32_t cp, char *buf);
/* UTF-8 of cps[0..n) as a malloc'd NUL-terminated string (*len_out bytes, may be NULL). */
ModxStatus tok_utf8_encode(const uint32_t *cps, size_t n, char **out, size_t *len_out);
/* Decodes arbitrary bytes as Python's bytes.decode('utf-8', errors='replace'):
 * each maximal ill-formed subpart becomes U+FFFD. */
ModxStatus tok_utf8_decode_replace(const uint8_t *bytes, size_t n, TokCps *out);

/* Classes of the CLIP pattern [\p{L}]+ | [\p{N}] | [^\s\p{L}\p{N}]+ as the regex
 * module matches them with IGNORECASE. */
typedef enum {
    TOK_CLASS_LETTER,  /* \p{L} */
    TOK_CLASS_NUMBER,  /* \p{N} */
    TOK_CLASS_SPACE,   /* regex \s */
    TOK_CLASS_OTHER,   /* [^\s\p{L}\p{N}] */
    TOK_CLASS_NONE,    /* matched by no branch (U+0345 under IGNORECASE) */
} TokClass;
TokClass tok_char_class(uint32_t cp);

/* regex's \s (White_Space) and Python's str.isspace(). */
int tok_is_regex_space(uint32_t cp);
int tok_is_py_space(uint32_t cp);

/* Python's str.lower() of s (full mapping incl. U+0130 -> i + U+0307, and the
 * final-sigma rule) appended to out. */
ModxStatus tok_lower(const TokCps *s, TokCps *out);

#endif
