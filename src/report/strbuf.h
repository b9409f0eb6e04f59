/* A growable, NUL-terminated string buffer for building SVG and HTML text.
 *
 * Errors are sticky: the first failed append (out of memory, size overflow)
 * records a message with modx_fail, sets `failed`, and every later append is a
 * no-op. Build a whole document with unchecked appends, then call
 * strbuf_status() once. The buffer owns `data`; free it with strbuf_free(). */
#ifndef MODX_REPORT_STRBUF_H
#define MODX_REPORT_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/error.h"

typedef struct {
    char *data; /* NUL-terminated once anything was appended; NULL while empty */
    size_t len; /* bytes before the terminating NUL */
    size_t cap; /* bytes allocated */
    int failed; /* sticky: an append failed (status in `status`) */
    ModxStatus status;
} StrBuf;

/* An empty buffer; no allocation until the first append. */
void strbuf_init(StrBuf *sb);
/* Releases the memory and resets to empty. Safe on an initialised buffer. */
void strbuf_free(StrBuf *sb);
/* MODX_OK, or the status of the first failed append (message already recorded). */
ModxStatus strbuf_status(const StrBuf *sb);
/* The text, "" when empty (never NULL). Valid until the next append or free. */
const char *strbuf_cstr(const StrBuf *sb);
/* Makes room for `extra` more bytes (plus the NUL); grows geometrically. */
ModxStatus strbuf_reserve(StrBuf *sb, size_t extra);

/* Appends n raw bytes / a C string / printf-formatted text (no escaping). */
void strbuf_append(StrBuf *sb, const char *s, size_t n);
void strbuf_puts(StrBuf *sb, const char *s);
void strbuf_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(StrBuf *sb, const char *fmt, va_list ap);

/* Appends `s` escaped for XML/HTML text and attribute values: & < > " ' become
 * entities; control characters other than tab/newline/CR, and bytes that are
 * not valid UTF-8, become U+FFFD. NULL appends nothing. */
void strbuf_escape(StrBuf *sb, const char *s);
/* The same for the first n bytes of s (which may contain NUL bytes). */
void strbuf_escape_n(StrBuf *sb, const char *s, size_t n);

/* Appends the contents of `src` to `dst` and frees `src`. If `src` had failed,
 * `dst` becomes failed with the same status (the message is kept). */
void strbuf_absorb(StrBuf *dst, StrBuf *src);

/* Appends a finite number with at most `decimals` digits after the point,
 * trailing zeros and "-0" removed ("12.5", "3", "-0.25"). A non-finite value
 * appends "0": SVG/HTML never see "nan" or "inf" from here. */
void strbuf_number(StrBuf *sb, double v, int decimals);
/* The same text into out[cap] (cap >= 32); returns its length. */
size_t strbuf_format_number(char *out, size_t cap, double v, int decimals);

#endif
