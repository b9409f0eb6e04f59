/* Status codes, readable failure messages, and the always-on CHECK for bugs.
 *
 * Library code never exits. A function that can fail on input data, I/O or
 * memory returns a ModxStatus and records a message with modx_fail(); the
 * caller reads it with modx_last_error(). The message names the file, the item
 * and what was expected versus found. Only src/cli turns a status into an exit
 * code.
 *
 * CHECK is for programming errors (broken invariants), never for input data:
 * it prints file:line and aborts. */
#ifndef MODX_CORE_ERROR_H
#define MODX_CORE_ERROR_H

#include <stddef.h>

#include "modx.h"

/* The status codes, modx_last_error, modx_clear_error and modx_status_name
 * are part of the public API (include/modx.h); ModxStatus is the library's
 * own name for modx_status. */
typedef modx_status ModxStatus;

/* Records a printf-style message for the calling thread and returns `code`.
 * Typical use: `return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': expected ...", path, name);` */
ModxStatus modx_fail(ModxStatus code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message ("while loading x: " + old message). */
void modx_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that records MODX_ERR_NOMEM with `what` on failure and returns NULL.
 * The memory is zeroed. Free with free(). */
void *modx_calloc(size_t count, size_t size, const char *what);

void modx_check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) modx_check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__); \
    } while (0)

/* Propagates a non-OK status from an expression. */
#define MODX_TRY(expr)                      \
    do {                                    \
        ModxStatus modx_try_st_ = (expr);   \
        if (modx_try_st_ != MODX_OK) return modx_try_st_; \
    } while (0)

#endif
