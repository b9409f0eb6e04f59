/* replay: a reservoir buffer of past phases' pairs mixed into every batch
 * (train/replay.h). Before phase 1 it holds phase 0's pairs (whatever cache
 * phase 0's set comes from: the buffer stores ids of the run's cache set,
 * data/cacheset.h), and after each phase the phase's pairs are offered once
 * each; so a phase replays only what came before it. The buffer is saved beside each phase's
 * checkpoint (replay.safetensors) and the next phase starts from it. */
#include "strategy/parts.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"
#include "data/loader.h"

static const StrategyHyper HYPERS[] = {STRATEGY_REPLAY_HYPERS};

/* Offers a phase's pairs to the reservoir once each: every image with its
 * epoch-0 caption, in image order, as ids of the run's cache set. */
static ModxStatus offer_phase(const CacheSet *set, const Cache *c, const uint32_t *images, size_t n, uint64_t seed,
                              ReplayBuffer *rb) {
    LoaderConfig lc = {.cache = c, .images = images, .n_images = n, .batch = 1, .seed = seed, .drop_last = 1,
                       .shuffle = 0, .prefetch = 0};
    int ci = set ? cacheset_find(set, c) : -1;
    if (set && ci < 0) return modx_fail(MODX_ERR_INVALID, "replay: a phase's cache is not one of the run's");
    uint32_t ib = ci >= 0 ? (uint32_t)set->image_base[ci] : 0, cb = ci >= 0 ? (uint32_t)set->caption_base[ci] : 0;
    DataLoader *ld;
    MODX_TRY(loader_create(&ld, &lc));
    for (size_t i = 0; i < n; i++) replay_offer(rb, ib + images[i], cb + loader_caption_for(ld, 0, images[i]));
    loader_free(ld);
    return MODX_OK;
}

ModxStatus strategy_replay_before(StrategyPhase *sp) {
    ReplayBuffer *rb = modx_calloc(1, sizeof *rb, "replay buffer");
    if (!rb) return MODX_ERR_NOMEM;
    ModxStatus st;
    if (sp->phase == 1) {
        st = replay_new(rb, (uint32_t)strategy_hp(sp->si, "buffer"), rng_mix64(sp->run_seed ^ 0x7265706c6179ull));
        if (st == MODX_OK && sp->n_prev && (sp->caches || sp->prev_cache == sp->cache))
            st = offer_phase(sp->caches, sp->prev_cache, sp->prev_images, sp->n_prev, sp->prev_seed, rb);
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s/replay.safetensors", sp->prev_dir);
        st = replay_load(rb, path);
    }
    if (st != MODX_OK) {
        replay_free(rb);
        free(rb);
        return st;
    }
    sp->replay = rb;
    sp->replay_fraction = strategy_hp(sp->si, "fraction");
    return MODX_OK;
}

ModxStatus strategy_replay_after(StrategyPhase *sp) {
    char path[4096];
    snprintf(path, sizeof path, "%s/replay.safetensors", sp->dir);
    MODX_TRY(offer_phase(sp->caches, sp->cache, sp->images, sp->n_images, sp->seed, sp->replay));
    return replay_save(sp->replay, path);
}

void strategy_replay_end(StrategyPhase *sp) {
    if (!sp->replay) return;
    replay_free(sp->replay);
    free(sp->replay);
    sp->replay = NULL;
}

const StrategyDesc strategy_replay = {
    .name = "replay",
    .summary = "a reservoir buffer of past phases' pairs mixed into every batch",
    .flags = STRATEGY_SHARED_CACHE,
    .hypers = HYPERS,
    .n_hypers = 2,
    .before_phase = strategy_replay_before,
    .after_phase = strategy_replay_after,
    .end_phase = strategy_replay_end,
};
