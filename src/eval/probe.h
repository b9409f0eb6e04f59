/* The probe set of the spatial-disorder analysis (SPEC §6): a fixed list of P
 * image–caption pairs — the FIRST caption (lowest caption index) of each of the
 * first P images of an image list, in list order — and the features a model
 * gives them. One selection serves every caller, so the probe files the
 * continual engine writes (RUN_DIR/.../probe.safetensors) and the features
 * `modx analyze --ckpt` computes are of the same pairs:
 *
 *   uint32_t *imgs; size_t n;
 *   phases_subset_by_split(cache, 1u << DATASET_SPLIT_TEST, &imgs, &n);   // or any test-set image list
 *   ProbeSet ps;    probe_select(&ps, cache, "data.cache", imgs, n, 500);
 *   ProbeFeatures f; probe_encode(&f, model, cache, "data.cache", &ps, 64);
 *   probe_features_save(&f, "run/modx/phase2/probe.safetensors", meta, n_meta);
 *   probe_features_free(&f); probe_set_free(&ps);
 */
#ifndef MODX_EVAL_PROBE_H
#define MODX_EVAL_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/features_file.h"
#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "eval/encode.h"

typedef struct {
    int n;              /* P pairs */
    uint32_t *images;   /* (n) cache image index of pair i (owned) */
    uint32_t *captions; /* (n) cache caption index of pair i: the first caption of images[i] (owned) */
} ProbeSet;

/* Pairs from the first P entries of images[0..n_images) (cache image indices,
 * e.g. a test split from phases_subset_by_split). P must be in [2, n_images]
 * (P = 0 means all n_images). Errors (MODX_ERR_INVALID, naming the cache
 * `name`): P out of range, an index >= the cache's image count, an image
 * listed twice among the first P, an image without a caption. Free with
 * probe_set_free. */
ModxStatus probe_select(ProbeSet *out, const Cache *c, const char *name, const uint32_t *images, size_t n_images,
                        int P);
void probe_set_free(ProbeSet *ps);

/* The model's L2-normalised image and text features of the probe pairs,
 * out->image and out->text (P, E), row i = pair i; encoded `batch` at a time
 * through eval_encode (same preprocessing as every evaluation). The cache must
 * match the model (eval_encode's checks). Free with probe_features_free. */
ModxStatus probe_encode(ProbeFeatures *out, const ClipModel *m, const Cache *c, const char *name, const ProbeSet *ps,
                        int batch);

/* The probe features taken from an encoding of an image list whose first ps->n images are the probe's
 * (ps from probe_select on that list, s from eval_encode of it): the first ps->n image rows and each
 * pair's caption row, so an evaluation of the probe's test set gives the probe without encoding it
 * again. An image list that does not start with the probe's images is an error. */
ModxStatus probe_from_encoded(ProbeFeatures *out, const EncodedSet *s, const uint32_t *images, const char *name,
                              const ProbeSet *ps);
/* probe_encode with the model loaded from a checkpoint file (checkpoint_load_default with config_path as the fallback:
 * the config from the file's metadata, else config_path; NULL: none) and freed
 * again. Errors name the file. */
ModxStatus probe_encode_checkpoint(ProbeFeatures *out, const char *ckpt_path, const char *config_path, const Cache *c,
                                   const char *name, const ProbeSet *ps, int batch);

#endif
