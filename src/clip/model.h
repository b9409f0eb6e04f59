/* The CLIP model (OpenAI layout as in OpenCLIP, SPEC §2): a ViT or ModifiedResNet
 * (clip/resnet.h, SPEC §9) image tower and a causal text transformer, each ending
 * in a projection to E dimensions and an L2 normalisation.
 *
 * Ownership: a ClipModel owns its config copy, its parameter table, ONE flat
 * parameter buffer (`params`, table.total floats, table order) and, for a ResNet
 * tower, ONE flat state buffer (`state`: BatchNorm running statistics, see
 * clip/params.h). Gradients are a
 * separate flat buffer of the same layout owned by the caller (a frozen model
 * needs none). Activations live in a ClipActs arena sized once for a maximum
 * batch; the forward and backward never allocate.
 *
 * Layouts: images (B, 3, S, S) float, already normalised with the CLIP mean/std;
 * tokens (B, T) int32 with ids in [0, V); features (B, E) row-major.
 * The EOT position of a text row is the first position of its largest token id.
 *
 * Threads: the kernels parallelise with OpenMP inside one call; GEMMs go to
 * core/gemm.h (oneDNN on the same OpenMP pool). Run OpenMP with
 * OMP_WAIT_POLICY=passive (set in the environment before start-up): spinning
 * OpenMP workers otherwise steal the cores other jobs and the dnnl_sgemm
 * packing threads need (measured 4-8x slower on 2 busy cores).
 * One ClipActs must not be used by two calls at once; a model may be shared
 * read-only by several forwards on different arenas. */
#ifndef MODX_CLIP_MODEL_H
#define MODX_CLIP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "clip/config.h"
#include "clip/params.h"
#include "clip/resnet.h"
#include "clip/transformer.h"
#include "core/error.h"

/* Pointers into a flat buffer (parameters or gradients), bound by name through
 * the parameter table. */
typedef struct {
    float *class_embedding;      /* (C) */
    float *positional_embedding; /* (N, C) */
    float *conv1;                /* (C, 3, P, P) */
    float *ln_pre_w, *ln_pre_b;  /* (C) */
    ClipBlockWeights blocks[CLIP_MAX_LAYERS];
    float *ln_post_w, *ln_post_b; /* (C) */
    float *proj;                  /* (C, E) */
    ResnetWeights rn;             /* the ModifiedResNet tower instead (cfg.vision.resnet); the ViT fields are NULL */
} ClipVisionWeights;

typedef struct {
    float *token_embedding;      /* (V, C) */
    float *positional_embedding; /* (T, C) */
    ClipBlockWeights blocks[CLIP_MAX_LAYERS];
    float *ln_final_w, *ln_final_b; /* (C) */
    float *text_projection;         /* (C, E) */
} ClipTextWeights;

typedef struct {
    ClipVisionWeights visual;
    ClipTextWeights text;
    float *logit_scale; /* (1) */
} ClipWeights;

/* How BatchNorm layers (ResNet tower only) normalise:
 *   CLIP_BN_AUTO  (default) training mode on a training activation arena, eval mode
 *                 on a forward-only arena — so training steps use batch statistics
 *                 and update the running ones, while evaluation, probes and the
 *                 frozen old model of Mod-X/LwF (forward-only arenas) use the
 *                 running statistics, as in PyTorch with model.train()/eval();
 *   CLIP_BN_TRAIN batch statistics (and running-statistics update) on any arena;
 *   CLIP_BN_EVAL  running statistics on any arena (e.g. `modx grad --eval`). */
typedef enum { CLIP_BN_AUTO, CLIP_BN_TRAIN, CLIP_BN_EVAL } ClipBnMode;

typedef struct {
    ClipConfig cfg;
    ParamTable table;
    float *params; /* (table.total), owned */
    float *state;  /* (table.state_total), owned; NULL when the model has no state (ViT) */
    ClipWeights w; /* pointers into params (and state) */
    ClipBnMode bn_mode;
} ClipModel;

typedef struct ClipActs ClipActs; /* activation arena, opaque */

/* Creates a model for a validated config with zeroed parameters. */
ModxStatus clip_model_new(ClipModel **out, const ClipConfig *cfg);
void clip_model_free(ClipModel *m);
/* Initialises every parameter (see clip/params.h), deterministic in `seed`. */
void clip_model_init(ClipModel *m, uint64_t seed);
size_t clip_model_num_params(const ClipModel *m);
/* Binds the per-tensor pointers of any flat buffer with the model's layout
 * (e.g. a gradient buffer). The ResNet's state pointers are bound (to m->state)
 * only when base is m->params; for any other buffer they are NULL. */
void clip_weights_bind(ClipWeights *w, const ClipModel *m, float *base);
/* The logit_scale parameter (the losses use exp of it; the model does not). */
static inline float clip_logit_scale(const ClipModel *m) { return m->w.logit_scale[0]; }
/* Index of logit_scale in the flat buffers (where a loss adds its gradient). */
static inline size_t clip_logit_scale_index(const ClipModel *m) { return (size_t)(m->w.logit_scale - m->params); }
/* MODX_ERR_NUMERIC naming `source` (e.g. the checkpoint), the tensor and the
 * element when a parameter is NaN or infinite; MODX_OK otherwise. */
ModxStatus clip_model_check_finite(const ClipModel *m, const char *source);
/* Sets how BatchNorm normalises (see ClipBnMode); no effect on a ViT. */
void clip_model_set_bn_mode(ClipModel *m, ClipBnMode mode);
/* A deep copy (config, table, parameters, state, BatchNorm mode), e.g. the frozen model of the
 * previous phase. Free with clip_model_free. */
ModxStatus clip_model_clone(ClipModel **out, const ClipModel *src);

/* Allocates activations for batches of up to max_B pairs. training = 1 keeps
 * every layer's activations and the backward scratch; training = 0 keeps one
 * layer's worth (forward only, e.g. the frozen old model or evaluation). */
ModxStatus clip_acts_new(ClipActs **out, const ClipConfig *cfg, int max_B, int training);
void clip_acts_free(ClipActs *a);
size_t clip_acts_bytes(const ClipActs *a);
/* The bytes clip_acts_new would allocate, computed without allocating
 * (overflow-checked: a size beyond 2^64 is MODX_ERR_INVALID). */
ModxStatus clip_acts_size(const ClipConfig *cfg, int max_B, int training, uint64_t *bytes);

/* Image tower: features (B, E) L2-normalised. B in [1, max_B]. A ResNet tower in
 * BatchNorm training mode updates the model's running statistics (m->state). */
ModxStatus clip_encode_image(const ClipModel *m, ClipActs *a, const float *images, int B, float *features);
/* Text tower: checks every id is in [0, V) (MODX_ERR_INVALID naming row, position, id). */
ModxStatus clip_encode_text(const ClipModel *m, ClipActs *a, const int32_t *tokens, int B, float *features);
/* Both towers on B pairs. Either output may be NULL when not wanted by the caller
 * (the features are still kept in the arena for the backward). */
ModxStatus clip_forward(const ClipModel *m, ClipActs *a, const float *images, const int32_t *tokens, int B,
                        float *image_features, float *text_features);

/* Adds into grads (the model's flat layout) the gradient of a loss given its
 * gradient w.r.t. the L2-normalised features of the last forward on `a`
 * (which must be a training arena). Either d_* may be NULL to skip that tower;
 * a non-NULL one requires that tower's forward to have run. */
void clip_backward(const ClipModel *m, ClipActs *a, const float *d_image_features, const float *d_text_features,
                   float *grads);

#endif
