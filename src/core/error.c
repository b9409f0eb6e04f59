#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODX_ERROR_CAP 2048

static _Thread_local char error_msg[MODX_ERROR_CAP];

ModxStatus modx_fail(ModxStatus code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof error_msg, fmt, ap);
    va_end(ap);
    return code;
}

void modx_error_prefix(const char *fmt, ...) {
    char prefix[MODX_ERROR_CAP];
    char old[MODX_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t np = strlen(prefix);
    memcpy(old, error_msg, sizeof old);
    if (np >= sizeof error_msg) np = sizeof error_msg - 1;
    memcpy(error_msg, prefix, np);
    size_t room = sizeof error_msg - 1 - np;
    size_t no = strnlen(old, room);
    memcpy(error_msg + np, old, no);
    error_msg[np + no] = '\0';
}

const char *modx_last_error(void) { return error_msg; }

void modx_clear_error(void) { error_msg[0] = '\0'; }

const char *modx_status_name(ModxStatus code) {
    switch (code) {
    case MODX_OK: return "ok";
    case MODX_ERR_IO: return "I/O error";
    case MODX_ERR_FORMAT: return "format error";
    case MODX_ERR_INVALID: return "invalid argument";
    case MODX_ERR_NOMEM: return "out of memory";
    case MODX_ERR_NUMERIC: return "numeric error";
    case MODX_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}

void *modx_calloc(size_t count, size_t size, const char *what) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) modx_fail(MODX_ERR_NOMEM, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
    return p;
}

void modx_check_failed(const char *file, int line, const char *cond, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "modx: internal error at %s:%d: CHECK(%s) failed: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
