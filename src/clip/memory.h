/* The memory a training run of a CLIP model holds, estimated from its config
 * before anything is allocated, and the check of that estimate against a
 * budget (the training commands refuse a model that would not fit instead of
 * asking malloc for terabytes).
 *
 * Estimate for batch B (bytes, overflow-checked 64-bit arithmetic):
 *   parameters: 4 float copies of the flat buffer (weights, gradients, the two
 *               AdamW moments), 4 bytes each;
 *   activations: the training arena of clip_acts_new(cfg, B, training = 1).
 * It leaves out what does not grow with the model (dataset cache mappings,
 * tables) and a strategy's frozen copy of the previous model, so it is a lower
 * bound of the run's peak. */
#ifndef MODX_CLIP_MEMORY_H
#define MODX_CLIP_MEMORY_H

#include <stdint.h>

#include "clip/config.h"
#include "core/error.h"

typedef struct {
    uint64_t n_params;    /* Σ numel of the parameter table */
    uint64_t param_bytes; /* 4 copies × 4 bytes × n_params */
    uint64_t act_bytes;   /* training activations for the batch */
    uint64_t total;
} ClipMemoryEstimate;

/* Fills *est for a validated config and batch >= 1. A size beyond 2^64 bytes
 * is MODX_ERR_INVALID naming the config. */
ModxStatus clip_memory_estimate(const ClipConfig *cfg, int batch, ClipMemoryEstimate *est);

/* MODX_OK when the estimate for `batch` fits in `budget` bytes (0 = no limit);
 * otherwise MODX_ERR_INVALID with a message naming `source` (the config), the
 * estimate, its parts and the budget. */
ModxStatus clip_memory_check(const ClipConfig *cfg, int batch, uint64_t budget, const char *source);

#endif
