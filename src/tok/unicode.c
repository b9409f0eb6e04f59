#include "tok/unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/size.h"
#include "tok/tables.h"

void tok_cps_free(TokCps *s) {
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static ModxStatus cps_reserve(TokCps *s, size_t extra) {
    size_t need;
    if (!size_add(s->n, extra, &need)) return modx_fail(MODX_ERR_NOMEM, "text of %zu + %zu code points is too large", s->n, extra);
    if (need <= s->cap) return MODX_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    size_t bytes;
    if (!size_mul(cap, sizeof(uint32_t), &bytes)) return modx_fail(MODX_ERR_NOMEM, "text of %zu code points is too large", cap);
    uint32_t *v = realloc(s->v, bytes);
    if (!v) return modx_fail(MODX_ERR_NOMEM, "out of memory for %zu code points", cap);
    s->v = v;
    s->cap = cap;
    return MODX_OK;
}

ModxStatus tok_cps_push(TokCps *s, uint32_t cp) {
    if (s->n == s->cap) MODX_TRY(cps_reserve(s, 1));
    s->v[s->n++] = cp;
    return MODX_OK;
}

ModxStatus tok_cps_append(TokCps *s, const uint32_t *cps, size_t n) {
    MODX_TRY(cps_reserve(s, n));
    if (n) memcpy(s->v + s->n, cps, n * sizeof(uint32_t));
    s->n += n;
    return MODX_OK;
}

ModxStatus tok_cps_push_utf8(TokCps *s, const char *utf8) {
    return tok_utf8_decode(utf8, strlen(utf8), s);
}

/* Length of the well-formed sequence at p (1..4), or 0 with *sub = length of
 * its maximal ill-formed subpart (>= 1). */
static int utf8_seq(const uint8_t *p, size_t avail, uint32_t *cp, size_t *sub) {
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int len;
    uint8_t lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (b >= 0xC2 && b <= 0xDF) { len = 2; v = b & 0x1F; }
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3; v = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4; v = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        *sub = 1;
        return 0;
    }
    for (int k = 1; k < len; k++) {
        if ((size_t)k >= avail || p[k] < lo || p[k] > hi) {
            *sub = (size_t)k;
            return 0;
        }
        v = (v << 6) | (p[k] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return len;
}

int tok_utf8_check(const char *bytes, size_t n, size_t *bad_at) {
    const uint8_t *p = (const uint8_t *)bytes;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t sub;
        int len = utf8_seq(p + i, n - i, &cp, &sub);
        if (!len) {
            if (bad_at) *bad_at = i;
            return 0;
        }
        i += (size_t)len;
    }
    return 1;
}

ModxStatus tok_utf8_decode(const char *bytes, size_t n, TokCps *out) {
    return tok_utf8_decode_replace((const uint8_t *)bytes, n, out);
}

ModxStatus tok_utf8_decode_replace(const uint8_t *p, size_t n, TokCps *out) {
    MODX_TRY(cps_reserve(out, n));
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t sub;
        int len = utf8_seq(p + i, n - i, &cp, &sub);
        if (len) {
            out->v[out->n++] = cp;
            i += (size_t)len;
        } else {
            out->v[out->n++] = 0xFFFD;
            i += sub;
        }
    }
    return MODX_OK;
}

int tok_utf8_put(uint32_t cp, char *buf) {
    uint8_t *b = (uint8_t *)buf;
    if (cp < 0x80) { b[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { b[0] = (uint8_t)(0xC0 | (cp >> 6)); b[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (uint8_t)(0xF0 | (cp >> 18));
    b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

ModxStatus tok_utf8_encode(const uint32_t *cps, size_t n, char **out, size_t *len_out) {
    size_t cap;
    if (!size_mul(n, 4, &cap) || !size_add(cap, 1, &cap)) return modx_fail(MODX_ERR_NOMEM, "text of %zu code points is too large", n);
    char *s = malloc(cap);
    if (!s) return modx_fail(MODX_ERR_NOMEM, "out of memory for %zu bytes of text", cap);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)tok_utf8_put(cps[i], s + k);
    s[k] = 0;
    *out = s;
    if (len_out) *len_out = k;
    return MODX_OK;
}

int tok_is_regex_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

int tok_is_py_space(uint32_t cp) {
    return tok_is_regex_space(cp) || (cp >= 0x1C && cp <= 0x1F);
}

TokClass tok_char_class(uint32_t cp) {
    if (tok_is_regex_space(cp)) return TOK_CLASS_SPACE;
    /* U+0345 is Mn, but under IGNORECASE one of its case variants (iota) is a
     * letter, so [^\s\p{L}\p{N}] rejects it while [\p{L}] does not accept it. */
    if (cp == 0x345) return TOK_CLASS_NONE;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return TOK_CLASS_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return TOK_CLASS_NUMBER;
    default:
        return TOK_CLASS_OTHER;
    }
}

int tok_in_ranges(const TokRange *r, int n, uint32_t cp) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo) hi = mid - 1;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int is_ignorable(uint32_t cp) { return tok_in_ranges(tok_case_ignorable, tok_case_ignorable_count, cp); }
static int is_cased(uint32_t cp) { return tok_in_ranges(tok_cased, tok_cased_count, cp); }

/* Python's rule: U+03A3 lowers to final sigma when preceded by a cased letter
 * and not followed by one, skipping case-ignorable code points both ways. */
static uint32_t lower_sigma(const uint32_t *v, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && is_ignorable(v[j - 1])) j--;
    if (j == 0 || !is_cased(v[j - 1])) return 0x3C3;
    j = i + 1;
    while (j < n && is_ignorable(v[j])) j++;
    if (j < n && is_cased(v[j])) return 0x3C3;
    return 0x3C2;
}

ModxStatus tok_lower(const TokCps *s, TokCps *out) {
    MODX_TRY(cps_reserve(out, s->n));
    for (size_t i = 0; i < s->n; i++) {
        uint32_t cp = s->v[i];
        if (cp == 0x130) { /* the one multi-character lowercase mapping */
            MODX_TRY(tok_cps_push(out, 0x69));
            MODX_TRY(tok_cps_push(out, 0x307));
        } else if (cp == 0x3A3) {
            MODX_TRY(tok_cps_push(out, lower_sigma(s->v, s->n, i)));
        } else {
            MODX_TRY(tok_cps_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp)));
        }
    }
    return MODX_OK;
}
