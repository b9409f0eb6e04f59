#include "data/dataset.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

void dataset_init(Dataset *ds) { memset(ds, 0, sizeof *ds); }

void dataset_free(Dataset *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->n_images; i++) free(ds->images[i].path), free(ds->images[i].bytes), free(ds->images[i].group);
    for (size_t i = 0; i < ds->n_captions; i++) free(ds->captions[i].text);
    for (size_t i = 0; i < ds->n_domains; i++) free(ds->domains[i]);
    for (size_t i = 0; i < ds->n_skipped; i++) free(ds->skipped[i]);
    free(ds->images);
    free(ds->captions);
    free(ds->domains);
    free(ds->skipped);
    memset(ds, 0, sizeof *ds);
}

static const char *const SPLIT_NAMES[] = {"none", "train", "val", "test", "restval"};

const char *dataset_split_name(int split) {
    return split >= 0 && split <= DATASET_SPLIT_RESTVAL ? SPLIT_NAMES[split] : "?";
}

ModxStatus dataset_parse_splits(const char *text, unsigned *mask) {
    if (!strcmp(text, "all")) {
        *mask = DATASET_SPLITS_ALL;
        return MODX_OK;
    }
    unsigned m = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, '+');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = -1;
        for (int k = 0; k <= DATASET_SPLIT_RESTVAL; k++)
            if (strlen(SPLIT_NAMES[k]) == len && !strncmp(SPLIT_NAMES[k], p, len)) found = k;
        if (found < 0)
            return modx_fail(MODX_ERR_INVALID,
                             "split list '%s': expected names from train, val, test, restval, none joined by '+' "
                             "(or 'all'), found '%.*s'",
                             text, (int)len, p);
        m |= 1u << found;
        if (!end) break;
        p = end + 1;
    }
    *mask = m;
    return MODX_OK;
}

static ModxStatus grow(void **ptr, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return MODX_OK;
    size_t ncap = *cap ? *cap : 16, bytes;
    while (ncap < need) {
        if (!size_mul(ncap, 2, &ncap)) return modx_fail(MODX_ERR_NOMEM, "too many %s", what);
    }
    if (!size_mul(ncap, elem, &bytes)) return modx_fail(MODX_ERR_NOMEM, "too many %s", what);
    void *p = realloc(*ptr, bytes);
    if (!p) return modx_fail(MODX_ERR_NOMEM, "out of memory growing the %s table to %zu entries", what, ncap);
    *ptr = p;
    *cap = ncap;
    return MODX_OK;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) {
        modx_fail(MODX_ERR_NOMEM, "out of memory copying a %zu-byte string", n);
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

ModxStatus dataset_domain_id(Dataset *ds, const char *name, uint32_t *id) {
    for (size_t i = 0; i < ds->n_domains; i++)
        if (!strcmp(ds->domains[i], name)) {
            *id = (uint32_t)i;
            return MODX_OK;
        }
    if (!name[0]) return modx_fail(MODX_ERR_FORMAT, "domain name: expected a non-empty string");
    if (ds->n_domains >= 65535) return modx_fail(MODX_ERR_FORMAT, "too many domains (at most 65535)");
    char **d = realloc(ds->domains, (ds->n_domains + 1) * sizeof *d);
    if (!d) return modx_fail(MODX_ERR_NOMEM, "out of memory adding domain '%s'", name);
    ds->domains = d;
    if (!(d[ds->n_domains] = dup_n(name, strlen(name)))) return MODX_ERR_NOMEM;
    *id = (uint32_t)ds->n_domains++;
    return MODX_OK;
}

ModxStatus dataset_add_image(Dataset *ds, const char *path, uint32_t domain, int split, uint32_t *index) {
    if (ds->n_images >= UINT32_MAX - 1) return modx_fail(MODX_ERR_FORMAT, "too many images (at most 2^32 - 2)");
    MODX_TRY(grow((void **)&ds->images, &ds->cap_images, ds->n_images + 1, sizeof *ds->images, "image"));
    char *p = dup_n(path, strlen(path));
    if (!p) return MODX_ERR_NOMEM;
    DatasetImage *im = &ds->images[ds->n_images];
    im->path = p;
    im->domain = domain;
    im->split = (uint8_t)split;
    im->bytes = NULL;
    im->n_bytes = 0;
    im->group = NULL;
    if (index) *index = (uint32_t)ds->n_images;
    ds->n_images++;
    return MODX_OK;
}

ModxStatus dataset_set_group(Dataset *ds, uint32_t index, const char *group) {
    CHECK(index < ds->n_images, "dataset_set_group: image %u of %zu", index, ds->n_images);
    char *g = dup_n(group, strlen(group));
    if (!g) return MODX_ERR_NOMEM;
    free(ds->images[index].group);
    ds->images[index].group = g;
    return MODX_OK;
}

void dataset_set_image_bytes(Dataset *ds, uint32_t index, uint8_t *bytes, size_t n) {
    CHECK(index < ds->n_images, "dataset_set_image_bytes: image %u of %zu", index, ds->n_images);
    free(ds->images[index].bytes);
    ds->images[index].bytes = bytes;
    ds->images[index].n_bytes = n;
}

ModxStatus dataset_add_caption(Dataset *ds, const char *text, size_t len) {
    CHECK(ds->n_images > 0, "dataset_add_caption before any image");
    if (ds->n_captions >= UINT32_MAX - 1) return modx_fail(MODX_ERR_FORMAT, "too many captions (at most 2^32 - 2)");
    MODX_TRY(grow((void **)&ds->captions, &ds->cap_captions, ds->n_captions + 1, sizeof *ds->captions, "caption"));
    char *t = dup_n(text, len);
    if (!t) return MODX_ERR_NOMEM;
    ds->captions[ds->n_captions].text = t;
    ds->captions[ds->n_captions].image = (uint32_t)(ds->n_images - 1);
    ds->n_captions++;
    return MODX_OK;
}

ModxStatus dataset_add_json_captions(Dataset *ds, const cJSON *arr, const char *key) {
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        const cJSON *v = !key ? it : cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, key) : NULL;
        if (cJSON_IsString(v) && !dataset_caption_problem(v->valuestring, strlen(v->valuestring)))
            MODX_TRY(dataset_add_caption(ds, v->valuestring, strlen(v->valuestring)));
    }
    return MODX_OK;
}

ModxStatus dataset_add_skip(Dataset *ds, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **s = realloc(ds->skipped, (ds->n_skipped + 1) * sizeof *s);
    if (!s) return modx_fail(MODX_ERR_NOMEM, "out of memory recording a skipped item");
    ds->skipped = s;
    if (!(s[ds->n_skipped] = dup_n(buf, strlen(buf)))) return MODX_ERR_NOMEM;
    ds->n_skipped++;
    return MODX_OK;
}

ModxStatus dataset_bad_item(Dataset *ds, int skip_bad, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (skip_bad) return dataset_add_skip(ds, "%s", buf);
    return modx_fail(MODX_ERR_FORMAT, "%s%s", buf, " (use --skip-bad to leave such items out)");
}

int utf8_valid(const char *str, size_t n, size_t *bad_at) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            goto bad;
        }
        if (n - i < len) goto bad;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        i += len;
    }
    return 1;
bad:
    if (bad_at) *bad_at = i;
    return 0;
}

const char *dataset_caption_problem(const char *text, size_t n) {
    static _Thread_local char why[96];
    size_t bad = 0;
    if (n == 0) return "expected a non-empty caption, found \"\"";
    if (memchr(text, '\0', n)) return "expected text without NUL characters";
    if (!utf8_valid(text, n, &bad)) {
        snprintf(why, sizeof why, "expected valid UTF-8 text, found a bad byte 0x%02x at byte %zu",
                 (unsigned)(unsigned char)text[bad], bad);
        return why;
    }
    size_t k = 0;
    while (k < n && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r')) k++;
    if (k == n) return "expected a non-empty caption, found only whitespace";
    return NULL;
}

char *dataset_join_path(const char *root, const char *path) {
    if (!root || !root[0] || path[0] == '/') return dup_n(path, strlen(path));
    size_t nr = strlen(root), np = strlen(path);
    int slash = root[nr - 1] != '/';
    char *out = malloc(nr + (size_t)slash + np + 1);
    if (!out) {
        modx_fail(MODX_ERR_NOMEM, "out of memory joining paths");
        return NULL;
    }
    memcpy(out, root, nr);
    if (slash) out[nr] = '/';
    memcpy(out + nr + slash, path, np + 1);
    return out;
}

ModxStatus dataset_read_file(const char *path, char **data, size_t *n) {
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading the file", path);
    }
    for (;;) {
        if (cap - len < 2) {
            char *nb = NULL;
            if (cap < SIZE_MAX / 2) nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading the file (%zu bytes so far)", path, len);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return modx_fail(MODX_ERR_IO, "%s: read error (is it a directory?)", path);
    }
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return MODX_OK;
}

/* Value of the 4 hex digits at p (p[0..4) all hex), else -1. */
static long hex4(const char *p) {
    long v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = p[k];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The code unit of a "\uXXXX" escape at text[i] (i < n), else -1. */
static long escape_at(const char *text, size_t n, size_t i) {
    if (i + 6 > n || text[i] != '\\' || text[i + 1] != 'u') return -1;
    return hex4(text + i + 2);
}

/* Offset of something JSON text would smuggle past cJSON: a NUL (a raw 0 byte,
 * or \u0000 inside a string: cJSON would keep the string only up to it,
 * silently cutting a caption or a name) or a UTF-16 surrogate escape without
 * its pair (not a character); n when there is none. */
static size_t json_nul_at(const char *text, size_t n) {
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (ch == '\0') return i;
        if (!in_str) {
            in_str = ch == '"';
        } else if (ch == '"') {
            in_str = 0;
        } else if (ch == '\\' && i + 1 < n) {
            long u = escape_at(text, n, i);
            if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF)) return i;
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = escape_at(text, n, i + 6);
                if (lo < 0xDC00 || lo > 0xDFFF) return i;
                i += 6; /* the pair's first half; the second is skipped below */
            }
            i++; /* the escaped character */
        }
    }
    return n;
}

const char *dataset_json_problem(const char *text, size_t n, size_t off, char *buf, size_t nbuf) {
    long u = off < n ? escape_at(text, n, off) : -1;
    if (off < n && text[off] == '\0')
        snprintf(buf, nbuf, "a NUL byte (not allowed in JSON text)");
    else if (u == 0)
        snprintf(buf, nbuf, "the escape \\u0000 (a NUL character, which a caption, path or name cannot hold)");
    else if (u >= 0xD800 && u <= 0xDFFF)
        snprintf(buf, nbuf, "the escape \\u%.4s, a lone UTF-16 %s surrogate (not a character; expected a \\uD800-"
                 "\\uDBFF \\uDC00-\\uDFFF pair)", text + off + 2, u <= 0xDBFF ? "high" : "low");
    else
        snprintf(buf, nbuf, "malformed JSON");
    return buf;
}

cJSON *dataset_json_parse(const char *text, size_t n, size_t *err_off) {
    size_t nul = json_nul_at(text, n);
    if (nul < n) {
        *err_off = nul;
        return NULL;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!v) {
        *err_off = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        return NULL;
    }
    size_t k = (size_t)(end - text);
    while (k < n && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r')) k++;
    if (k < n) {
        cJSON_Delete(v);
        *err_off = k;
        return NULL;
    }
    return v;
}

ModxStatus dataset_read_with(DatasetParseFn parse, Dataset *ds, const char *path, const char *root,
                             const DatasetOptions *opt) {
    char *text;
    size_t n;
    MODX_TRY(dataset_read_file(path, &text, &n));
    ModxStatus st = parse(ds, text, n, path, root ? root : "", opt);
    free(text);
    return st;
}
