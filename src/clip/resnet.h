/* The ModifiedResNet image tower of OpenAI CLIP / OpenCLIP (SPEC §9), over NCHW
 * activations (B images, S = image_size, w = width):
 *   stem:   3×3 conv stride 2 (3 → w/2), BN, ReLU; 3×3 conv (w/2 → w/2), BN, ReLU;
 *           3×3 conv (w/2 → w), BN, ReLU; 2×2 average pool           → (w, S/4, S/4)
 *   stages s = 0..3 of Bottlenecks (planes w·2^s, expansion 4; the first block of
 *           stages 1..3 has stride 2):
 *           out = ReLU(BN3(conv3₁ₓ₁(pool_stride(ReLU(BN2(conv2₃ₓ₃(ReLU(BN1(conv1₁ₓ₁(x)))))))))
 *                      + identity),
 *           identity = x, or BN(conv₁ₓ₁(pool_stride(x))) when stride > 1 or the
 *           width changes (anti-aliased strides: pooling replaces strided convs)
 *   head:   attention pooling (nn/attnpool.h) of the (32w, S/32, S/32) map → (B, E).
 * BatchNorm runs in training mode (batch statistics; the running statistics and
 * num_batches_tracked are updated in the model's state, as PyTorch does on every
 * training-mode forward) or eval mode (running statistics). In a data-parallel
 * job (core/dist.h, more than one rank) every rank's arenas see one slice of each
 * training batch, so training-mode statistics are synchronised across the ranks
 * (nn/batchnorm.h: one exchange of 2·C + 1 doubles per BN layer in the forward
 * and one in the backward); every rank must then run the same training-mode
 * forwards and backwards, as the data-parallel step does. Internal to src/clip. */
#ifndef MODX_CLIP_RESNET_H
#define MODX_CLIP_RESNET_H

#include <stddef.h>

#include "clip/config.h"
#include "clip/params.h"
#include "core/error.h"
#include "nn/attnpool.h"
#include "nn/batchnorm.h"

/* A convolution followed by BatchNorm: pointers into the parameter buffer (conv,
 * bn_w, bn_b) and into the state buffer (rm, rv, nbt; NULL in a gradient binding). */
typedef struct {
    float *conv;       /* (Cout, Cin, K, K) */
    float *bn_w, *bn_b; /* (Cout) */
    float *rm, *rv;    /* (Cout) running mean / variance */
    float *nbt;        /* (1) num_batches_tracked */
} RnConvBn;

typedef struct {
    RnConvBn c1, c2, c3, down;
    int inplanes, planes, stride, has_down;
    int S; /* input height = width */
} RnBlock;

typedef struct {
    RnConvBn stem[3];
    RnBlock blocks[CLIP_MAX_LAYERS];
    int nblocks;
    AttnPoolWeights pool;
} ResnetWeights;

typedef struct ResnetActs ResnetActs;

/* Binds w to a parameter buffer laid out by t (and, when state is not NULL, to
 * the state buffer), with the block geometry of cfg. */
void resnet_bind(ResnetWeights *w, const ClipConfig *cfg, const ParamTable *t, float *params, float *state);
/* Activations for up to max_B images; training = 1 keeps every layer's
 * activations and the backward scratch, 0 reuses buffers block to block. */
ModxStatus resnet_acts_new(ResnetActs **out, const ClipConfig *cfg, int max_B, int training);
void resnet_acts_free(ResnetActs *a);
/* Training-mode BatchNorm of a's forwards and backwards takes its statistics
 * over nslices slices of each batch, this arena's being slice `slice`, through
 * gather (nn/batchnorm.h); nslices ≤ 1 turns it off. resnet_acts_new sets the
 * job's ranks (core/dist.h) when there are several; tests set their own.
 * Errors: out of memory (then off). */
ModxStatus resnet_acts_set_bn_sync(ResnetActs *a, BatchnormGatherFn gather, void *ctx, int slice, int nslices);
size_t resnet_acts_floats(const ResnetActs *a);
/* The floats resnet_acts_new would allocate, without allocating (memory estimates). */
ModxStatus resnet_acts_floats_for(const ClipConfig *cfg, int max_B, int training, uint64_t *floats);
/* out (B, E) = the tower on images (B, 3, S, S). bn_train: batch statistics and
 * running-statistics update (w's state pointers must be bound), else running statistics.
 * A failed exchange of statistics (MPI failing) is a CHECK failure. */
void resnet_forward(float *out, const ResnetWeights *w, ResnetActs *a, const float *images, int B, int bn_train);
/* Adds the parameter gradients of the last forward (a training arena) into g,
 * given dout (B, E). */
void resnet_backward(const ResnetWeights *g, const ResnetWeights *w, ResnetActs *a, const float *dout);

/* Matrix-product FLOPs (2 per multiply-add) of one image through the tower:
 * every convolution and the attention pool's projections and attention. */
double resnet_forward_flops(const ClipConfig *cfg);

#endif
