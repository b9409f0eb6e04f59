#include "analysis/features_file.h"

#include <stdlib.h>
#include <string.h>

#include "core/size.h"
#include "io/safetensors.h"

static ModxStatus check_tensor(const SafeTensors *st, const char *name, const StTensorInfo **out) {
    const char *path = safetensors_path(st);
    const StTensorInfo *t = safetensors_find(st, name);
    *out = t;
    if (!t)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' not found (a features file holds '%s' and '%s', both N x E)",
                         path, name, FEATURES_IMAGE_TENSOR, FEATURES_TEXT_TENSOR);
    if (t->ndim != 2)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': expected 2 dimensions (N, E), found %d", path, name, t->ndim);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': expected a float dtype (F32, F16, BF16, F64), found %s", path,
                         name, st_dtype_name(t->dtype));
    if (t->shape[0] < 2 || t->shape[1] < 1 || t->shape[0] > 0x7fffffff || t->shape[1] > 0x7fffffff)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': expected at least 2 rows and 1 column, found [%lld, %lld]", path,
                         name, (long long)t->shape[0], (long long)t->shape[1]);
    return MODX_OK;
}

ModxStatus probe_features_load(ProbeFeatures *out, const char *path) {
    memset(out, 0, sizeof *out);
    SafeTensors *st = NULL;
    MODX_TRY(safetensors_open(&st, path));
    const StTensorInfo *ti, *tt;
    ModxStatus s = check_tensor(st, FEATURES_IMAGE_TENSOR, &ti);
    if (!s) s = check_tensor(st, FEATURES_TEXT_TENSOR, &tt);
    if (s) goto fail;
    if (ti->shape[0] != tt->shape[0] || ti->shape[1] != tt->shape[1]) {
        s = modx_fail(MODX_ERR_FORMAT, "%s: '%s' is [%lld, %lld] but '%s' is [%lld, %lld]; expected the same (N, E)", path,
                      FEATURES_IMAGE_TENSOR, (long long)ti->shape[0], (long long)ti->shape[1], FEATURES_TEXT_TENSOR,
                      (long long)tt->shape[0], (long long)tt->shape[1]);
        goto fail;
    }
    size_t n;
    if (!size_mul((size_t)ti->shape[0], (size_t)ti->shape[1], &n)) {
        s = modx_fail(MODX_ERR_FORMAT, "%s: features too large", path);
        goto fail;
    }
    out->n = (int)ti->shape[0];
    out->e = (int)ti->shape[1];
    out->image = modx_calloc(n, sizeof(float), "image features");
    out->text = modx_calloc(n, sizeof(float), "text features");
    if (!out->image || !out->text) {
        s = MODX_ERR_NOMEM;
        goto fail;
    }
    int64_t shape[2] = {out->n, out->e};
    if ((s = safetensors_read_f32(st, FEATURES_IMAGE_TENSOR, 2, shape, out->image)) ||
        (s = safetensors_read_f32(st, FEATURES_TEXT_TENSOR, 2, shape, out->text)))
        goto fail;
    safetensors_close(st);
    return MODX_OK;
fail:
    safetensors_close(st);
    probe_features_free(out);
    return s;
}

void probe_features_free(ProbeFeatures *f) {
    free(f->image);
    free(f->text);
    f->image = f->text = NULL;
}

ModxStatus probe_features_save(const ProbeFeatures *f, const char *path, const char *const (*meta)[2], int n_meta) {
    if (f->n < 1 || f->e < 1 || !f->image || !f->text)
        return modx_fail(MODX_ERR_INVALID, "%s: no probe features to write (%d x %d)", path, f->n, f->e);
    SafeTensorsWriter *w = NULL;
    MODX_TRY(safetensors_writer_new(&w));
    int64_t shape[2] = {f->n, f->e};
    ModxStatus st = safetensors_writer_metadata(w, "modx.format", FEATURES_FORMAT);
    for (int i = 0; st == MODX_OK && i < n_meta; i++) st = safetensors_writer_metadata(w, meta[i][0], meta[i][1]);
    if (st == MODX_OK) st = safetensors_writer_add(w, FEATURES_IMAGE_TENSOR, ST_F32, 2, shape, f->image);
    if (st == MODX_OK) st = safetensors_writer_add(w, FEATURES_TEXT_TENSOR, ST_F32, 2, shape, f->text);
    if (st == MODX_OK) st = safetensors_writer_save(w, path);
    safetensors_writer_free(w);
    if (st != MODX_OK) modx_error_prefix("writing probe features: ");
    return st;
}
