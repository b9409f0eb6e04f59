/* Probe features stored in a safetensors file: "image_features" and
 * "text_features", both (N, E) floating point (F32, or F16/BF16/F64 converted
 * to F32), row i of each being probe pair i. Used by `modx analyze --features`. */
#ifndef MODX_ANALYSIS_FEATURES_FILE_H
#define MODX_ANALYSIS_FEATURES_FILE_H

#include "core/error.h"

#define FEATURES_IMAGE_TENSOR "image_features"
#define FEATURES_TEXT_TENSOR "text_features"
#define FEATURES_FORMAT "modx-probe-1"

typedef struct {
    int n, e;
    float *image; /* (n, e), owned */
    float *text;  /* (n, e), owned */
} ProbeFeatures;

/* Reads path. Errors (MODX_ERR_FORMAT unless I/O) name the file and the tensor:
 * a missing tensor, a tensor that is not 2-D, an integer dtype, the two shapes
 * differing, fewer than 2 rows or no columns, sizes beyond int. Free with
 * probe_features_free. */
ModxStatus probe_features_load(ProbeFeatures *out, const char *path);
void probe_features_free(ProbeFeatures *f);

/* Writes f as a features file (both tensors F32 (n, e)) atomically, with the
 * metadata entries meta[0..n_meta) (key/value strings; may be NULL when
 * n_meta = 0) plus "modx.format" = "modx-probe-1". */
ModxStatus probe_features_save(const ProbeFeatures *f, const char *path, const char *const (*meta)[2], int n_meta);

#endif
