#include "report/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/size.h"

void strbuf_init(StrBuf *sb) { memset(sb, 0, sizeof *sb); }

void strbuf_free(StrBuf *sb) {
    free(sb->data);
    strbuf_init(sb);
}

ModxStatus strbuf_status(const StrBuf *sb) { return sb->failed ? sb->status : MODX_OK; }

const char *strbuf_cstr(const StrBuf *sb) { return sb->data ? sb->data : ""; }

static void strbuf_set_failed(StrBuf *sb, ModxStatus st) {
    if (!sb->failed) {
        sb->failed = 1;
        sb->status = st;
    }
}

ModxStatus strbuf_reserve(StrBuf *sb, size_t extra) {
    if (sb->failed) return sb->status;
    size_t need;
    if (!size_add(sb->len, extra, &need) || !size_add(need, 1, &need)) {
        strbuf_set_failed(sb, MODX_ERR_NOMEM);
        return modx_fail(MODX_ERR_NOMEM, "string buffer: growing %zu bytes by %zu overflows size_t", sb->len,
                         extra);
    }
    if (need <= sb->cap) return MODX_OK;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need) {
        if (!size_mul(cap, 2, &cap)) {
            cap = need;
            break;
        }
    }
    char *p = realloc(sb->data, cap);
    if (!p) {
        strbuf_set_failed(sb, MODX_ERR_NOMEM);
        return modx_fail(MODX_ERR_NOMEM, "string buffer: out of memory growing to %zu bytes", cap);
    }
    if (!sb->data) p[0] = '\0';
    sb->data = p;
    sb->cap = cap;
    return MODX_OK;
}

void strbuf_append(StrBuf *sb, const char *s, size_t n) {
    if (sb->failed || strbuf_reserve(sb, n) != MODX_OK) return;
    if (n) memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void strbuf_puts(StrBuf *sb, const char *s) {
    if (s) strbuf_append(sb, s, strlen(s));
}

void strbuf_vprintf(StrBuf *sb, const char *fmt, va_list ap) {
    if (sb->failed) return;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        strbuf_set_failed(sb, MODX_ERR_INVALID);
        modx_fail(MODX_ERR_INVALID, "string buffer: bad format string '%s'", fmt);
        return;
    }
    if ((size_t)n < sizeof small) {
        strbuf_append(sb, small, (size_t)n);
        return;
    }
    if (strbuf_reserve(sb, (size_t)n) != MODX_OK) return;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_printf(StrBuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void strbuf_escape(StrBuf *sb, const char *s) {
    if (s) strbuf_escape_n(sb, s, strlen(s));
}

void strbuf_absorb(StrBuf *dst, StrBuf *src) {
    if (src->failed) strbuf_set_failed(dst, src->status);
    else if (src->len) strbuf_append(dst, src->data, src->len);
    strbuf_free(src);
}

void strbuf_escape_n(StrBuf *sb, const char *s, size_t n) {
    if (!s) return;
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *p = (const unsigned char *)s;
    size_t left = n;
    while (left > 0 && !sb->failed) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t run = 0;
        while (run < left && p[run] >= 0x20 && p[run] < 0x7f && !strchr("&<>\"'", p[run])) run++;
        if (run) {
            strbuf_append(sb, (const char *)p, run);
            p += run;
            left -= run;
            continue;
        }
        unsigned char c = p[0];
        switch (c) {
        case '&': strbuf_puts(sb, "&amp;"); p++; left--; continue;
        case '<': strbuf_puts(sb, "&lt;"); p++; left--; continue;
        case '>': strbuf_puts(sb, "&gt;"); p++; left--; continue;
        case '"': strbuf_puts(sb, "&quot;"); p++; left--; continue;
        case '\'': strbuf_puts(sb, "&#39;"); p++; left--; continue;
        case '\t': case '\n': case '\r': strbuf_append(sb, (const char *)p, 1); p++; left--; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            strbuf_puts(sb, replacement);
            p++;
            left--;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)left, &cp);
        if (k <= 0 || (cp >= 0x80 && cp < 0xA0) || cp == 0xFFFE || cp == 0xFFFF) { /* invalid UTF-8, C1 control, non-character */
            strbuf_puts(sb, replacement);
            p += k > 0 ? (size_t)k : 1;
            left -= k > 0 ? (size_t)k : 1;
            continue;
        }
        strbuf_append(sb, (const char *)p, (size_t)k);
        p += k;
        left -= (size_t)k;
    }
}

size_t strbuf_format_number(char *out, size_t cap, double v, int decimals) {
    if (!isfinite(v)) v = 0;
    if (decimals < 0) decimals = 0;
    if (decimals > 12) decimals = 12;
    int n = snprintf(out, cap, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= cap) n = snprintf(out, cap, "%.6g", v);
    if (n < 0) n = 0;
    if ((size_t)n >= cap) n = (int)cap - 1;
    if (strchr(out, '.') && !strchr(out, 'e')) {
        while (n > 0 && out[n - 1] == '0') out[--n] = '\0';
        if (n > 0 && out[n - 1] == '.') out[--n] = '\0';
    }
    if (!strcmp(out, "-0")) {
        out[0] = '0';
        out[1] = '\0';
        n = 1;
    }
    return (size_t)n;
}

void strbuf_number(StrBuf *sb, double v, int decimals) {
    char tmp[64];
    size_t n = strbuf_format_number(tmp, sizeof tmp, v, decimals);
    strbuf_append(sb, tmp, n);
}
