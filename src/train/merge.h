/* Weight-space ensembling (WiSE-FT): a model whose every parameter is the
 * linear mix of two models with the same config,
 *
 *   θ = (1 − t)·θ_A + t·θ_B,   t in [0, 1],
 *
 * every tensor included (logit_scale too). t = 0 gives A and t = 1 gives B bit
 * for bit (they are copied, not computed); other t are computed in double and
 * rounded once to float. Used to interpolate between the model before a phase
 * (A) and after it (B), trading the new phase's gains against forgetting. */
#ifndef MODX_TRAIN_MERGE_H
#define MODX_TRAIN_MERGE_H

#include <stddef.h>

#include "clip/model.h"
#include "core/error.h"

/* out[k] = (1 − t)·a[k] + t·b[k] for k < n; out may alias a or b.
 * t must be in [0, 1] (CHECKed; validate user input with merge_check_mix). */
void merge_params(float *out, const float *a, const float *b, size_t n, double t);

/* MODX_ERR_INVALID unless t is a finite number in [0, 1]. */
ModxStatus merge_check_mix(double t);

/* MODX_OK when A and B have the same config: the same parameter table (names
 * and shapes, in order) and the same settings that do not show in shapes
 * (heads, quick_gelu, ...). Otherwise MODX_ERR_INVALID with a message naming
 * both files (name_a, name_b) and the first differing parameter or setting. */
ModxStatus merge_check_compatible(const ClipModel *a, const ClipModel *b, const char *name_a, const char *name_b);

/* Loads A and B (config from each file's metadata, or config_path for both
 * when given), checks them, mixes and writes out_path as a checkpoint with
 * A's config and metadata modx.merge.a / modx.merge.b / modx.merge.mix. */
ModxStatus merge_checkpoints(const char *path_a, const char *path_b, double t, const char *out_path,
                             const char *config_path);

#endif
