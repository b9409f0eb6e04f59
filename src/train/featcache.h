/* The frozen old model's features for a whole phase, computed once.
 *
 * Mod-X and LwF distil from the previous phase's model, which is frozen, and
 * a phase's inputs are deterministic (an image's pixels and a caption's
 * tokens are the same every time they are drawn: no augmentation). So the old
 * model's features of every image of the phase, the captions its batches will
 * draw (the loader's draws are known in advance: loader_caption_for; or every
 * caption of those images) and every pair the replay buffer holds at the
 * phase's start (the buffer only changes after the phase) can be encoded once
 * before the first step and looked up per batch, instead of a second forward
 * every step.
 *
 * Exactly equal to the per-step forward: rows are encoded in chunks of exactly
 * the step's batch B (the last chunk padded by repeating its last row), with
 * the step's activations arena and precision, so every matrix product has the
 * shapes of the step's own forward, and each row's result depends only on its
 * own input (the old model's towers are row-independent: LayerNorm per token,
 * attention per sample, BatchNorm on running statistics). tests/cli checks
 * bit-identical losses and checkpoints against the per-step path. (Under N
 * ranks the step forwards B/N rows, so there the two agree to rounding, as the
 * N-rank step agrees with the one-process step.) Replay pairs of another cache
 * of the run are not cached: their batches run the old model.
 *
 * Size: (images + captions encoded) × E floats + 4 bytes per cache image and caption
 * for the row maps. oldfeat_build leaves the cache empty (the step then
 * forwards the old model every step) when that exceeds the room the caller
 * gives it. A resumed phase builds it again from the same old model, so
 * resume stays byte-identical. */
#ifndef MODX_TRAIN_FEATCACHE_H
#define MODX_TRAIN_FEATCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "train/replay.h"

typedef struct {
    int E;
    size_t n_img, n_cap;          /* rows encoded */
    uint64_t n_cache_img, n_cache_cap; /* the dataset cache's images and captions */
    int32_t *img_row, *cap_row;   /* (cache images), (cache captions): row in V / T, −1 when not encoded */
    float *V, *T;                 /* (n_img, E), (n_cap, E) the old model's features */
} OldFeatCache;

/* What one phase needs encoded. */
typedef struct {
    const ClipModel *old;
    ClipActs *acts;            /* a forward arena of old for at least B rows (the step's old_acts) */
    int B;                     /* the rows of a chunk: the step's local_B (its batch in a job of one) */
    const Cache *cache;
    const uint32_t *images;    /* the phase's images */
    size_t n_images;
    const uint32_t *captions;  /* the captions to encode (may repeat); NULL: every caption of the images */
    size_t n_captions;
    const ReplayBuffer *replay;/* NULL: none */
    uint64_t room;             /* bytes the cache may take (0: no limit) */
} OldFeatPlan;

/* The room for the cache of a run of cfg at batch B under a memory budget:
 * budget − the model's training estimate (clip/memory.h) − the frozen copy's
 * weights; budget 0 (none given): half the memory available now. At least 1
 * (0 would mean no limit). */
ModxStatus oldfeat_room(const ClipConfig *cfg, int B, uint64_t budget, uint64_t *room);
/* The bytes the cache of a plan takes (rows and maps), without encoding. */
ModxStatus oldfeat_bytes(const OldFeatPlan *p, uint64_t *bytes);
/* Encodes the plan's rows into fc (zeroed first). *built = 0 (and fc empty)
 * when the cache needs more than p->room bytes. */
ModxStatus oldfeat_build(OldFeatCache *fc, const OldFeatPlan *p, int *built);
/* Copies the rows of B pairs (image img[j], caption cap[j]) into Vo, To
 * (B, E). 0 (nothing written) when a row is not in the cache. */
int oldfeat_lookup(const OldFeatCache *fc, const uint32_t *img, const uint32_t *cap, int B, float *Vo, float *To);
void oldfeat_free(OldFeatCache *fc);

#endif
