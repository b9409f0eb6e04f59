#include "data/brace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **names;
    size_t n, cap;
} NameList;

static ModxStatus list_push(NameList *l, char *name) {
    if (!name) return modx_fail(MODX_ERR_NOMEM, "out of memory expanding a shard pattern");
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->names, cap * sizeof *p);
        if (!p) {
            free(name);
            return modx_fail(MODX_ERR_NOMEM, "out of memory expanding a shard pattern");
        }
        l->names = p, l->cap = cap;
    }
    l->names[l->n++] = name;
    return MODX_OK;
}

void brace_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The alternatives of one group body (without braces) into `alts`. */
static ModxStatus group_alternatives(const char *pattern, const char *body, size_t len, NameList *alts) {
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (body[i] == '.' && body[i + 1] == '.') dots = body + i;
    if (dots && !memchr(body, ',', len)) {
        size_t la = (size_t)(dots - body), lb = len - la - 2;
        if (la == 0 || lb == 0 || la > 18 || lb > 18 || strspn(body, "0123456789") != la ||
            strspn(dots + 2, "0123456789") != lb)
            return modx_fail(MODX_ERR_INVALID, "shard pattern '%s': expected {FIRST..LAST} with non-negative integers, "
                             "found {%.*s}", pattern, (int)len, body);
        unsigned long long a = strtoull(body, NULL, 10), b = strtoull(dots + 2, NULL, 10);
        int width = (body[0] == '0' && la > 1) || (dots[2] == '0' && lb > 1) ? (int)(la > lb ? la : lb) : 0;
        unsigned long long count = (a > b ? a - b : b - a) + 1;
        if (count > BRACE_MAX_RESULTS)
            return modx_fail(MODX_ERR_INVALID, "shard pattern '%s': {%.*s} gives %llu names, more than %d", pattern,
                             (int)len, body, count, BRACE_MAX_RESULTS);
        for (unsigned long long k = 0; k < count; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%0*llu", width, a <= b ? a + k : a - k);
            MODX_TRY(list_push(alts, strdup(buf)));
        }
        return MODX_OK;
    }
    for (size_t start = 0;;) {
        const char *comma = memchr(body + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - body) : len;
        MODX_TRY(list_push(alts, strndup(body + start, end - start)));
        if (!comma) return MODX_OK;
        start = end + 1;
    }
}

/* Every prefix in `in` joined with every alternative, then `lit` (len bytes). */
static ModxStatus cross(const char *pattern, NameList *acc, const NameList *alts, const char *lit, size_t len) {
    NameList next = {0};
    ModxStatus st = MODX_OK;
    if ((double)acc->n * (double)alts->n > BRACE_MAX_RESULTS) {
        st = modx_fail(MODX_ERR_INVALID, "shard pattern '%s': expands to more than %d names", pattern, BRACE_MAX_RESULTS);
        goto fail;
    }
    for (size_t i = 0; i < acc->n && st == MODX_OK; i++)
        for (size_t k = 0; k < alts->n && st == MODX_OK; k++) {
            size_t la = strlen(acc->names[i]), lb = strlen(alts->names[k]);
            char *s = malloc(la + lb + len + 1);
            if (s) {
                memcpy(s, acc->names[i], la);
                memcpy(s + la, alts->names[k], lb);
                memcpy(s + la + lb, lit, len);
                s[la + lb + len] = 0;
            }
            st = list_push(&next, s);
        }
    if (st != MODX_OK) goto fail;
    brace_free(acc->names, acc->n);
    *acc = next;
    return MODX_OK;
fail:
    brace_free(next.names, next.n);
    return st;
}

ModxStatus brace_expand(const char *pattern, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    NameList acc = {0}, alts = {0};
    const char *open = strchr(pattern, '{');
    size_t lit = open ? (size_t)(open - pattern) : strlen(pattern);
    ModxStatus st = list_push(&acc, strndup(pattern, lit));
    for (const char *p = open; st == MODX_OK && p;) {
        const char *close = strchr(p, '}'), *inner = strchr(p + 1, '{');
        if (!close || (inner && inner < close)) {
            st = modx_fail(MODX_ERR_INVALID, "shard pattern '%s': expected a '}' closing the '{' at offset %zu%s", pattern,
                           (size_t)(p - pattern), inner && close ? " (groups do not nest)" : "");
            break;
        }
        if ((st = group_alternatives(pattern, p + 1, (size_t)(close - p - 1), &alts)) != MODX_OK) break;
        const char *next = strchr(close + 1, '{');
        size_t len = next ? (size_t)(next - close - 1) : strlen(close + 1);
        st = cross(pattern, &acc, &alts, close + 1, len);
        brace_free(alts.names, alts.n);
        alts = (NameList){0};
        p = next;
    }
    if (st == MODX_OK && strchr(pattern, '}') && !open)
        st = modx_fail(MODX_ERR_INVALID, "shard pattern '%s': a '}' without a '{'", pattern);
    brace_free(alts.names, alts.n);
    if (st != MODX_OK) {
        brace_free(acc.names, acc.n);
        return st;
    }
    *out = acc.names;
    *n = acc.n;
    return MODX_OK;
}
