#include "tok/html.h"

#include <string.h>

#include "tok/tables.h"

/* The value of the entity named name[0..len) (ASCII, may end in ';'), or NULL. */
static const char *entity_find(const char *name, size_t len) {
    int lo = 0, hi = tok_html5_entity_count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *m = tok_html5_entities[mid].name;
        size_t mlen = strlen(m);
        int c = memcmp(name, m, len < mlen ? len : mlen);
        if (c == 0) c = len < mlen ? -1 : (len > mlen ? 1 : 0);
        if (c == 0) return tok_html5_entities[mid].value;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int hex_val(uint32_t c) { return is_digit(c) ? (int)(c - '0') : (int)((c | 0x20) - 'a' + 10); }

/* What a numeric reference decodes to: 1 code point, or none (*n = 0). */
static void numeric_value(uint64_t num, uint32_t *cp, int *n) {
    for (int k = 0; k < tok_html_invalid_charref_count; k++)
        if (tok_html_invalid_charrefs[k].from == num) {
            *cp = tok_html_invalid_charrefs[k].to;
            *n = 1;
            return;
        }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        *cp = 0xFFFD;
        *n = 1;
        return;
    }
    if (tok_in_ranges(tok_html_invalid_codepoints, tok_html_invalid_codepoint_count, (uint32_t)num)) {
        *n = 0;
        return;
    }
    *cp = (uint32_t)num;
    *n = 1;
}

static int name_char(uint32_t c) {
    return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' && c != ';';
}

ModxStatus tok_html_unescape(const TokCps *in, TokCps *out) {
    const uint32_t *v = in->v;
    size_t n = in->n, i = 0;
    while (i < n) {
        if (v[i] != '&') {
            MODX_TRY(tok_cps_push(out, v[i]));
            i++;
            continue;
        }
        size_t j = i + 1;
        if (j < n && v[j] == '#') {
            /* &#[0-9]+;?  or  &#[xX][0-9a-fA-F]+;? */
            size_t d = j + 1;
            int hex = 0;
            if (d < n && !is_digit(v[d]) && (v[d] == 'x' || v[d] == 'X') && d + 1 < n && is_hex(v[d + 1])) {
                hex = 1;
                d++;
            }
            if (d < n && (hex ? is_hex(v[d]) : is_digit(v[d]))) {
                uint64_t num = 0;
                while (d < n && (hex ? is_hex(v[d]) : is_digit(v[d]))) {
                    if (num <= 0x10FFFF) num = num * (hex ? 16 : 10) + (uint64_t)(hex ? hex_val(v[d]) : (int)(v[d] - '0'));
                    d++;
                }
                if (d < n && v[d] == ';') d++;
                uint32_t cp;
                int k;
                numeric_value(num, &cp, &k);
                if (k) MODX_TRY(tok_cps_push(out, cp));
                i = d;
                continue;
            }
            MODX_TRY(tok_cps_push(out, '&'));
            i++;
            continue;
        }
        /* &[^\t\n\f <&#;]{1,32};? */
        size_t k = 0;
        while (j + k < n && k < 32 && name_char(v[j + k])) k++;
        if (k == 0) {
            MODX_TRY(tok_cps_push(out, '&'));
            i++;
            continue;
        }
        size_t slen = k + (j + k < n && v[j + k] == ';' ? 1 : 0);
        /* the ASCII prefix of the name, as bytes */
        char name[40];
        size_t ascii = 0;
        while (ascii < slen && v[j + ascii] < 0x80) {
            name[ascii] = (char)v[j + ascii];
            ascii++;
        }
        const char *val = NULL;
        size_t used = 0;
        if (ascii == slen) val = entity_find(name, slen), used = slen;
        for (size_t x = slen - 1; !val && x >= 2; x--)
            if (x <= ascii && (val = entity_find(name, x))) used = x;
        if (val) {
            MODX_TRY(tok_cps_push_utf8(out, val));
            MODX_TRY(tok_cps_append(out, v + j + used, slen - used));
        } else {
            MODX_TRY(tok_cps_push(out, '&'));
            MODX_TRY(tok_cps_append(out, v + j, slen));
        }
        i = j + slen;
    }
    return MODX_OK;
}
