#include "tok/clean.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok/html.h"
#include "tok/tables.h"

/* ftfy's LIGATURES table. */
static const struct {
    uint32_t cp;
    uint32_t to[3];
} LIGATURES[] = {
    {0x0132, {'I', 'J'}}, {0x0133, {'i', 'j'}}, {0x0149, {0x02BC, 'n'}},
    {0x01F1, {'D', 'Z'}}, {0x01F2, {'D', 'z'}}, {0x01F3, {'d', 'z'}},
    {0x01C4, {'D', 0x017D}}, {0x01C5, {'D', 0x017E}}, {0x01C6, {'d', 0x017E}},
    {0x01C7, {'L', 'J'}}, {0x01C8, {'L', 'j'}}, {0x01C9, {'l', 'j'}},
    {0x01CA, {'N', 'J'}}, {0x01CB, {'N', 'j'}}, {0x01CC, {'n', 'j'}},
    {0xFB00, {'f', 'f'}}, {0xFB01, {'f', 'i'}}, {0xFB02, {'f', 'l'}},
    {0xFB03, {'f', 'f', 'i'}}, {0xFB04, {'f', 'f', 'l'}}, {0xFB05, {0x017F, 't'}}, {0xFB06, {'s', 't'}},
};

static int is_removed_control(uint32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* Normalises UTF-8 with utf8proc (`options`) and appends the result to out. */
static ModxStatus utf8proc_append(const uint32_t *cps, size_t n, utf8proc_option_t options, TokCps *out) {
    char *utf8;
    size_t len;
    MODX_TRY(tok_utf8_encode(cps, n, &utf8, &len));
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)utf8, (utf8proc_ssize_t)len, &res, options);
    free(utf8);
    if (r < 0) {
        free(res);
        return modx_fail(MODX_ERR_FORMAT, "text normalisation failed: %s", utf8proc_errmsg(r));
    }
    ModxStatus st = tok_utf8_decode((const char *)res, (size_t)r, out);
    free(res);
    return st;
}

/* fix_c1_controls (Windows-1252, its undefined bytes kept), fix_latin_ligatures,
 * fix_character_width, uncurl_quotes: each a per-character translation applied
 * to the whole text in turn, as ftfy does. */
static ModxStatus translate_step(int step, const TokCps *in, TokCps *out) {
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < in->n && st == MODX_OK; i++) {
        uint32_t c = in->v[i];
        if (step == 0) {
            if (c >= 0x80 && c <= 0x9F)
                for (int k = 0; k < tok_html_invalid_charref_count; k++)
                    if (tok_html_invalid_charrefs[k].from == c) { c = tok_html_invalid_charrefs[k].to; break; }
        } else if (step == 1) {
            size_t k = 0, nl = sizeof LIGATURES / sizeof LIGATURES[0];
            while (k < nl && LIGATURES[k].cp != c) k++;
            if (k < nl) {
                for (int m = 0; m < 3 && LIGATURES[k].to[m] && st == MODX_OK; m++) st = tok_cps_push(out, LIGATURES[k].to[m]);
                continue;
            }
        } else if (step == 2) {
            if (c == 0x3000) c = ' ';
            if (c >= 0xFF01 && c <= 0xFFEF) {
                st = utf8proc_append(&c, 1, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out);
                continue;
            }
        } else {
            if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
            else if (c >= 0x201C && c <= 0x201F) c = '"';
        }
        st = tok_cps_push(out, c);
    }
    return st;
}

/* One pass of the ftfy subset over in, into out. */
static ModxStatus ftfy_pass(const TokCps *in, TokCps *out) {
    TokCps t = {0}, u = {0};
    ModxStatus st = tok_cps_append(&t, in->v, in->n);
    for (int step = 0; step < 4 && st == MODX_OK; step++) {
        u.n = 0;
        st = translate_step(step, &t, &u);
        TokCps x = t;
        t = u;
        u = x;
    }
    /* remove_terminal_escapes, then remove_control_chars */
    u.n = 0;
    for (size_t i = 0; i < t.n && st == MODX_OK; i++) {
        if (t.v[i] == 0x1B && i + 1 < t.n && t.v[i + 1] == '[') {
            size_t j = i + 2;
            while (j < t.n && (t.v[j] == ';' || utf8proc_category((utf8proc_int32_t)t.v[j]) == UTF8PROC_CATEGORY_ND)) j++;
            if (j < t.n && t.v[j] < 0x80 && ((t.v[j] | 0x20) >= 'a' && (t.v[j] | 0x20) <= 'z')) {
                i = j;
                continue;
            }
        }
        if (!is_removed_control(t.v[i])) st = tok_cps_push(&u, t.v[i]);
    }
    if (st == MODX_OK) st = utf8proc_append(u.v, u.n, UTF8PROC_STABLE | UTF8PROC_COMPOSE, out);
    tok_cps_free(&t);
    tok_cps_free(&u);
    return st;
}

static int cps_equal(const TokCps *a, const TokCps *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(uint32_t)) == 0);
}

static void py_strip(const TokCps *s, size_t *lo, size_t *hi) {
    size_t a = 0, b = s->n;
    while (a < b && tok_is_py_space(s->v[a])) a++;
    while (b > a && tok_is_py_space(s->v[b - 1])) b--;
    *lo = a;
    *hi = b;
}

ModxStatus tok_clean(const char *text, size_t n, TokCps *out) {
    TokCps a = {0}, b = {0};
    ModxStatus st = tok_utf8_decode(text, n, &a);
    /* ftfy subset until nothing changes (a pass never grows the work much; the
     * bound only guards against a cycle, which these steps cannot form) */
    for (int pass = 0; st == MODX_OK && pass < 16; pass++) {
        b.n = 0;
        st = ftfy_pass(&a, &b);
        if (st != MODX_OK) break;
        int same = cps_equal(&a, &b);
        TokCps t = a;
        a = b;
        b = t;
        if (same) break;
    }
    /* html.unescape twice */
    for (int k = 0; k < 2 && st == MODX_OK; k++) {
        b.n = 0;
        st = tok_html_unescape(&a, &b);
        TokCps t = a;
        a = b;
        b = t;
    }
    /* strip, \s+ -> ' ', strip */
    if (st == MODX_OK) {
        size_t lo, hi;
        py_strip(&a, &lo, &hi);
        b.n = 0;
        for (size_t i = lo; i < hi && st == MODX_OK; i++) {
            if (tok_is_regex_space(a.v[i])) {
                while (i + 1 < hi && tok_is_regex_space(a.v[i + 1])) i++;
                st = tok_cps_push(&b, ' ');
            } else {
                st = tok_cps_push(&b, a.v[i]);
            }
        }
        if (st == MODX_OK) {
            py_strip(&b, &lo, &hi);
            TokCps mid = {b.v ? b.v + lo : NULL, hi - lo, hi - lo};
            st = tok_lower(&mid, out);
        }
    }
    tok_cps_free(&a);
    tok_cps_free(&b);
    return st;
}
