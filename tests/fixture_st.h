/* A minimal safetensors reader for the loss and optimizer reference tests
 * (F32 / I64 tensors only, whole file in memory). Stopgap until the full
 * reader in src/io/safetensors.c is on this branch; every failure is reported
 * through the harness with the file, the tensor and what was expected. */
#ifndef MODX_TESTS_FIXTURE_ST_H
#define MODX_TESTS_FIXTURE_ST_H

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *path;
    unsigned char *blob;
    size_t size;
    cJSON *header;
    size_t data_start;
    char err[512];
} Fixture;

static inline void fixture_close(Fixture *fx) {
    free(fx->blob);
    cJSON_Delete(fx->header);
    memset(fx, 0, sizeof *fx);
}

/* Returns 1 on success; on failure fx->err says why. */
static inline int fixture_open(Fixture *fx, const char *path) {
    memset(fx, 0, sizeof *fx);
    fx->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(fx->err, sizeof fx->err, "%s: cannot open (regenerate with tools/)", path);
        return 0;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    fx->blob = malloc(sz > 0 ? (size_t)sz : 1);
    fx->size = sz > 0 ? (size_t)sz : 0;
    int ok = fx->blob && sz >= 8 && fread(fx->blob, 1, fx->size, f) == fx->size;
    fclose(f);
    uint64_t hl = 0;
    if (ok) memcpy(&hl, fx->blob, 8);
    if (!ok || hl > fx->size - 8) {
        snprintf(fx->err, sizeof fx->err, "%s: truncated or bad header length", path);
        return 0;
    }
    fx->header = cJSON_ParseWithLength((const char *)fx->blob + 8, (size_t)hl);
    fx->data_start = 8 + (size_t)hl;
    if (!fx->header) {
        snprintf(fx->err, sizeof fx->err, "%s: header is not valid JSON", path);
        return 0;
    }
    return 1;
}

/* Copies tensor `name` (dtype `want_dtype`, numel must equal n, elem_size
 * bytes each) into out. Returns 1 on success. */
static inline int fixture_read(Fixture *fx, const char *name, const char *want_dtype, size_t elem_size, size_t n,
                               void *out) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(fx->header, name);
    cJSON *dt = t ? cJSON_GetObjectItemCaseSensitive(t, "dtype") : NULL;
    cJSON *shape = t ? cJSON_GetObjectItemCaseSensitive(t, "shape") : NULL;
    cJSON *offs = t ? cJSON_GetObjectItemCaseSensitive(t, "data_offsets") : NULL;
    if (!t || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || cJSON_GetArraySize(offs) != 2) {
        snprintf(fx->err, sizeof fx->err, "%s: tensor '%s' missing or malformed", fx->path, name);
        return 0;
    }
    if (strcmp(dt->valuestring, want_dtype)) {
        snprintf(fx->err, sizeof fx->err, "%s: tensor '%s': expected dtype %s, found %s", fx->path, name, want_dtype,
                 dt->valuestring);
        return 0;
    }
    size_t numel = 1;
    cJSON *d;
    cJSON_ArrayForEach(d, shape) numel *= (size_t)d->valuedouble;
    size_t b = (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble, e = (size_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (numel != n || e < b || e - b != n * elem_size || fx->data_start + e > fx->size) {
        snprintf(fx->err, sizeof fx->err, "%s: tensor '%s': expected %zu elements, found %zu (bytes [%zu, %zu))",
                 fx->path, name, n, numel, b, e);
        return 0;
    }
    memcpy(out, fx->blob + fx->data_start + b, n * elem_size);
    return 1;
}

static inline int fixture_f32(Fixture *fx, const char *name, size_t n, float *out) {
    return fixture_read(fx, name, "F32", 4, n, out);
}

static inline int fixture_i64(Fixture *fx, const char *name, size_t n, int64_t *out) {
    return fixture_read(fx, name, "I64", 8, n, out);
}

#endif
