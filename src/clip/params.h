/* The parameter table of a CLIP model: ONE list, keyed by the OpenCLIP
 * state-dict names, that drives shapes, offsets into the flat parameter buffer,
 * initialisation, the weight-decay mask, checkpoint names and gradient checks.
 *
 * Parameters live in one flat float buffer, packed in table order with no
 * padding (total = Σ numel; ViT-B/32 has 151,277,313 including logit_scale).
 * Gradients and optimizer moments use the same layout, so an update is one loop.
 *
 * Names (i = block index, C = tower width, N = G²+1, T = context, E = embed):
 *   visual.class_embedding (C)   visual.positional_embedding (N, C)
 *   visual.conv1.weight (C, 3, P, P)   visual.ln_pre.{weight,bias} (C)
 *   visual.transformer.resblocks.i.{ln_1.weight, ln_1.bias (C), attn.in_proj_weight (3C, C),
 *       attn.in_proj_bias (3C), attn.out_proj.weight (C, C), attn.out_proj.bias (C),
 *       ln_2.weight, ln_2.bias (C), mlp.c_fc.weight (F, C), mlp.c_fc.bias (F),
 *       mlp.c_proj.weight (C, F), mlp.c_proj.bias (C)}       F = MLP width
 *   visual.ln_post.{weight,bias} (C)   visual.proj (C, E)
 *   token_embedding.weight (V, C)   positional_embedding (T, C)
 *   transformer.resblocks.i.* (as above)   ln_final.{weight,bias} (C)
 *   text_projection (C, E)   logit_scale (scalar, shape [])
 *
 * Weight decay follows OpenCLIP's training script exactly: a parameter is
 * EXCLUDED from decay when ndim < 2 or its name contains "bn", "ln", "bias" or
 * "logit_scale". So gains, biases, logit_scale and visual.class_embedding (1-D)
 * get no decay, while every ≥2-D tensor — linear/conv/in_proj/out_proj/c_fc/
 * c_proj weights, proj, text_projection, AND token_embedding.weight,
 * positional_embedding and visual.positional_embedding — is decayed.
 *
 * Initialisation (seeded, deterministic; each tensor draws from its own stream
 * rng_seed_stream(seed, index), so it does not depend on the other tensors):
 *   text tower, OpenCLIP TextTransformer.init_parameters: token_embedding
 *     N(0, 0.02²), positional_embedding N(0, 0.01²), in_proj_weight N(0, C^-1),
 *     out_proj.weight and c_proj.weight N(0, (C^-0.5·(2L)^-0.5)²), c_fc.weight
 *     N(0, (2C)^-1), text_projection N(0, C^-1);
 *   image tower, VisionTransformer.__init__: class_embedding, positional_embedding
 *     and proj = C^-0.5·N(0, 1);
 *   PyTorch defaults elsewhere: LayerNorm weight 1, bias 0; in_proj_weight
 *     xavier_uniform (±sqrt(6/(C+3C))), in_proj_bias and out_proj.bias 0;
 *     Linear/conv weights kaiming_uniform(a=√5) = U(±1/sqrt(fan_in)) and Linear
 *     biases U(±1/sqrt(fan_in)) (c_fc, c_proj biases in both towers;
 *     out_proj.weight and c_fc/c_proj weights in the image tower; conv1);
 *   logit_scale = ln(1/0.07).
 *
 * ModifiedResNet image tower (vision_cfg.layers a list; w = width, C = 32w,
 * planes = w·2^s in stage s, G = image_size/32), in OpenCLIP's order:
 *   visual.conv1.weight (w/2, 3, 3, 3)  visual.bn1.* (w/2)  visual.conv2.weight (w/2, w/2, 3, 3)
 *   visual.bn2.* (w/2)  visual.conv3.weight (w, w/2, 3, 3)  visual.bn3.* (w)
 *   visual.layer{s+1}.{i}.{conv1.weight (planes, in, 1, 1), bn1.* (planes),
 *       conv2.weight (planes, planes, 3, 3), bn2.*, conv3.weight (4·planes, planes, 1, 1),
 *       bn3.* (4·planes), and when stride > 1 or in ≠ 4·planes: downsample.0.weight
 *       (4·planes, in, 1, 1), downsample.1.* (4·planes)}
 *   visual.attnpool.positional_embedding (G²+1, C)
 *   visual.attnpool.{k,q,v}_proj.{weight (C, C), bias (C)}  visual.attnpool.c_proj.{weight (E, C), bias (E)}
 * where bn*.* are weight and bias (parameters) and running_mean, running_var
 * (C each) and num_batches_tracked (scalar, I64 in files) — STATE, see below.
 * Init (OpenCLIP ModifiedResNet.init_parameters + PyTorch defaults): convs
 * U(±1/sqrt(fan_in)); BatchNorm weight 1, bias 0, except every Bottleneck's bn3
 * weight = 0; attnpool q/k/v/c_proj weights N(0, C^-1) (std = in_features^-0.5),
 * their biases U(±C^-0.5) (nn.Linear default); positional_embedding N(0, C^-1).
 * The text tower is the one above.
 *
 * MODEL STATE. BatchNorm running statistics are state, not parameters: they sit
 * in a second flat float buffer (the model's `state`, state_total floats) laid
 * out by the table's state list (state_items, same ParamInfo, state = 1), which
 * the same builder fills beside the parameters. Loops over `items` (optimizer
 * segments, weight decay, gradients, EWC) therefore never see state; checkpoints
 * save and load both lists; WiSE-FT merging mixes the state buffer like weights
 * (counters rounded when written). A ViT has no state (state_count 0). */
#ifndef MODX_CLIP_PARAMS_H
#define MODX_CLIP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "clip/config.h"
#include "core/error.h"

#define PARAM_NAME_MAX 64
#define PARAM_MAX_DIMS 4

typedef enum {
    PARAM_INIT_CONST,   /* every entry = arg */
    PARAM_INIT_NORMAL,  /* N(0, arg²) */
    PARAM_INIT_UNIFORM, /* U(−arg, arg) */
} ParamInitKind;

typedef struct {
    char name[PARAM_NAME_MAX]; /* OpenCLIP state-dict key */
    int ndim;                  /* 0 for logit_scale */
    int64_t shape[PARAM_MAX_DIMS];
    size_t offset;             /* in floats, into the flat buffer */
    size_t numel;
    int decay;                 /* 1 = weight decay applies (OpenCLIP rule, see above) */
    ParamInitKind init;
    float init_arg;
    int state;                 /* 1: a state entry (offset into the state buffer), never optimised */
    int count;                 /* state only: a counter kept as float, saved as I64 (num_batches_tracked) */
} ParamInfo;

typedef struct {
    int count;
    ParamInfo *items; /* count entries, in buffer order */
    size_t total;     /* Σ numel: the length of the flat buffer */
    int state_count;  /* model state (BatchNorm running statistics); 0 for a ViT */
    ParamInfo *state_items;
    size_t state_total; /* Σ numel: the length of the flat state buffer */
} ParamTable;

/* Builds the table for a validated config. Free with param_table_free. */
ModxStatus param_table_build(ParamTable *t, const ClipConfig *cfg);
void param_table_free(ParamTable *t);
/* NULL when absent. */
const ParamInfo *param_table_find(const ParamTable *t, const char *name);
/* OpenCLIP's decay rule on a name and rank: 0 when ndim < 2 or the name contains
 * "bn", "ln", "bias" or "logit_scale"; else 1. */
int param_decays(const char *name, int ndim);
/* The state entry called `name`; NULL when absent. */
const ParamInfo *param_table_find_state(const ParamTable *t, const char *name);
/* Fills params (t->total floats) with the initialisation above. */
void param_table_init(const ParamTable *t, float *params, uint64_t seed);
/* Fills state (t->state_total floats): running_mean 0, running_var 1, counts 0. */
void param_table_init_state(const ParamTable *t, float *state);
/* Writes "(a, b, c)" (or "()" for a scalar) into buf. */
void param_shape_str(const ParamInfo *p, char *buf, size_t cap);

#endif
