/* cumulative (TiC-CLIP): each phase warm-starts from the previous phase's
 * model and trains on its new data together with a replay of the earlier
 * phases' data (phase 0's set included, whatever cache it comes from), at
 * most `buffer` pairs of it (0: all of it).
 *
 * The phase's data is loader parts (data/loader.h), mixed uniformly: one part
 * per earlier phase j = 0 … k−1 holding the q_j images chosen from it, then
 * the new phase's images. When the earlier data fit the budget every policy
 * takes all of it; else the policy chooses:
 *   all          q_j ∝ n_j (a uniform sample of the old data);
 *   equal        the same q_j for every earlier phase;
 *   exponential  q_j ∝ decay^(k−1−j): the most recent phases weigh most;
 *   reservoir    a reservoir (Algorithm R) of `buffer` pairs fed phase 0's,
 *                then phase 1's, … images: what it held stays until pushed out.
 * The shares are capped by each phase's size, the remainder passed on to the
 * others (water-filling), rounded by largest remainder. Within a phase the
 * q_j images are a seeded sample. Everything is a function of (train.seed, k),
 * so a resumed phase rebuilds the same mix.
 *
 * Steps: `fixed` = finetune's (train.epochs × ⌊n_k / B⌋, equal compute), or
 * `proportional` = train.epochs passes over the whole mix. */
#include "strategy/parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

enum { POLICY_ALL, POLICY_EQUAL, POLICY_EXPONENTIAL, POLICY_RESERVOIR };
enum { STEPS_FIXED, STEPS_PROPORTIONAL };

static const char *const POLICIES[] = {"all", "equal", "exponential", "reservoir", NULL};
static const char *const STEPS[] = {"fixed", "proportional", NULL};
static const char *const *const CHOICES[] = {NULL, POLICIES, NULL, STEPS};

static const StrategyHyper HYPERS[] = {
    {"buffer", "cumulative_buffer", 0, 0, 2147483647.0, 1, "pairs of earlier phases replayed per phase (0: all)"},
    {"policy", "cumulative_policy", POLICY_ALL, 0, 3, 1, "which earlier pairs fill the budget: all, equal, exponential, reservoir"},
    {"decay", "cumulative_decay", 0.5, 1e-6, 1, 0, "exponential policy: phase j's weight is decay^(k-1-j)"},
    {"steps", "cumulative_steps", STEPS_FIXED, 0, 1, 1, "fixed: finetune's steps; proportional: epochs over the whole mix"},
};

typedef struct {
    LoaderPart *parts;
    uint32_t **subsets;
    int n;
} MixState;

/* Water-filling: q (n) with Σq = M ≤ Σcap, q_j ≤ cap_j, q ∝ w among the
 * uncapped phases; largest remainder, ties to the later phase. */
static ModxStatus fill_quotas(const double *w, const size_t *cap, int n, size_t M, size_t *q) {
    int *fixed = calloc((size_t)n, sizeof *fixed);
    double *fr = calloc((size_t)n, sizeof *fr);
    if (!fixed || !fr) {
        free(fixed), free(fr);
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    for (;;) {
        size_t left = M;
        double W = 0;
        for (int j = 0; j < n; j++) {
            if (fixed[j]) left -= cap[j];
            else W += w[j];
        }
        int capped = 0;
        for (int j = 0; j < n; j++)
            if (!fixed[j] && W > 0 && (double)left * w[j] / W >= (double)cap[j]) fixed[j] = 1, capped = 1;
        if (capped) continue;
        size_t given = 0;
        for (int j = 0; j < n; j++) {
            double x = fixed[j] ? (double)cap[j] : W > 0 ? (double)left * w[j] / W : 0;
            q[j] = fixed[j] ? cap[j] : (size_t)floor(x);
            fr[j] = fixed[j] ? -1 : x - (double)q[j];
            given += q[j];
        }
        for (; given < M; given++) {
            int best = -1;
            for (int j = 0; j < n; j++)
                if (q[j] < cap[j] && (best < 0 || fr[j] >= fr[best])) best = j;
            CHECK(best >= 0, "quota over the data");
            q[best]++, fr[best] = -1;
        }
        break;
    }
    free(fixed);
    free(fr);
    return MODX_OK;
}

/* keep (n): 1 for q of the n positions, a seeded sample. */
static ModxStatus sample_positions(size_t n, size_t q, uint64_t seed, unsigned char *keep) {
    uint32_t *idx = malloc((n + 1) * sizeof *idx);
    if (!idx) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    Rng g;
    rng_seed(&g, seed);
    for (size_t i = 0; i < q; i++) {
        size_t j = i + (size_t)rng_below(&g, n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
    memset(keep, 0, n);
    for (size_t i = 0; i < q; i++) keep[idx[i]] = 1;
    free(idx);
    return MODX_OK;
}

/* Reservoir of M over the earlier phases' images in order; keep[j][i] marks what it holds. */
static ModxStatus reservoir_keep(const LoaderPart *h, int n, size_t M, uint64_t seed, unsigned char **keep) {
    uint64_t *slot = malloc(M * sizeof *slot); /* (phase << 32) | position */
    if (!slot) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    Rng g;
    rng_seed(&g, seed);
    size_t seen = 0;
    for (int j = 0; j < n; j++)
        for (size_t i = 0; i < h[j].n_images; i++, seen++) {
            uint64_t id = (uint64_t)j << 32 | i;
            if (seen < M) slot[seen] = id;
            else {
                uint64_t r = rng_below(&g, seen + 1);
                if (r < M) slot[r] = id;
            }
        }
    for (int j = 0; j < n; j++) memset(keep[j], 0, h[j].n_images);
    for (size_t s = 0; s < M && s < seen; s++) keep[slot[s] >> 32][slot[s] & 0xffffffffu] = 1;
    free(slot);
    return MODX_OK;
}

static ModxStatus add_part(MixState *ms, const LoaderPart *src, const unsigned char *keep) {
    size_t q = 0;
    for (size_t i = 0; i < src->n_images; i++) q += keep ? keep[i] : 1;
    if (!q) return MODX_OK;
    uint32_t *sub = malloc(q * sizeof *sub);
    if (!sub) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (size_t i = 0, o = 0; i < src->n_images; i++)
        if (!keep || keep[i]) sub[o++] = src->images ? src->images[i] : (uint32_t)i;
    ms->subsets[ms->n] = sub;
    ms->parts[ms->n++] = (LoaderPart){.cache = src->cache, .images = sub, .n_images = q, .share = (double)q};
    return MODX_OK;
}

/* Marks the earlier pairs to replay: keep[j] (n_images of phase j). */
static ModxStatus choose(const StrategyPhase *sp, int policy, size_t M, double decay, unsigned char **keep) {
    int n = sp->n_history;
    uint64_t seed = rng_mix64(sp->run_seed ^ 0x63756d756cull);
    if (policy == POLICY_RESERVOIR) return reservoir_keep(sp->history, n, M, seed, keep);
    double *w = malloc((size_t)n * sizeof *w);
    size_t *cap = malloc((size_t)n * sizeof *cap), *q = malloc((size_t)n * sizeof *q);
    ModxStatus st = w && cap && q ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (int j = 0; j < n && st == MODX_OK; j++) {
        cap[j] = sp->history[j].n_images;
        w[j] = policy == POLICY_ALL ? (double)cap[j] : policy == POLICY_EQUAL ? 1.0 : pow(decay, n - 1 - j);
        if (!cap[j]) w[j] = 0;
    }
    if (st == MODX_OK) st = fill_quotas(w, cap, n, M, q);
    for (int j = 0; j < n && st == MODX_OK; j++)
        st = sample_positions(cap[j], q[j], rng_mix64(seed + (uint64_t)sp->phase * 1000003u + (uint64_t)j), keep[j]);
    free(w), free(cap), free(q);
    return st;
}

ModxStatus strategy_mix_before(StrategyPhase *sp, int policy, size_t budget, double decay) {
    int n = sp->n_history;
    MixState *ms = calloc(1, sizeof *ms);
    unsigned char **keep = calloc((size_t)n + 1, sizeof *keep);
    if (!ms || !keep || !(ms->parts = calloc((size_t)n + 1, sizeof *ms->parts)) ||
        !(ms->subsets = calloc((size_t)n + 1, sizeof *ms->subsets))) {
        free(keep);
        sp->state = ms;
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    sp->state = ms;
    size_t old = 0;
    for (int j = 0; j < n; j++) old += sp->history[j].n_images;
    ModxStatus st = MODX_OK;
    if (budget && budget < old) {
        for (int j = 0; j < n && st == MODX_OK; j++)
            if (!(keep[j] = malloc(sp->history[j].n_images + 1))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
        if (st == MODX_OK) st = choose(sp, policy, budget, decay, keep);
    }
    for (int j = 0; j < n && st == MODX_OK; j++) st = add_part(ms, &sp->history[j], keep[j]);
    LoaderPart now = {.cache = sp->cache, .images = sp->images, .n_images = sp->n_images};
    if (st == MODX_OK) st = add_part(ms, &now, NULL);
    for (int j = 0; j < n; j++) free(keep[j]);
    free(keep);
    sp->parts = ms->parts, sp->n_parts = ms->n, sp->proportions = 0;
    return st;
}

void strategy_mix_end(StrategyPhase *sp) {
    MixState *ms = sp->state;
    if (!ms) return;
    for (int j = 0; j < ms->n; j++) free(ms->subsets[j]);
    free(ms->subsets);
    free(ms->parts);
    free(ms);
    sp->state = NULL, sp->parts = NULL, sp->n_parts = 0;
}

static ModxStatus before(StrategyPhase *sp) {
    const double *hp = sp->si->hp;
    MODX_TRY(strategy_mix_before(sp, (int)hp[1], (size_t)hp[0], hp[2]));
    if ((int)hp[3] == STEPS_FIXED) sp->steps = (int64_t)sp->epochs * (int64_t)(sp->n_images / (size_t)sp->batch);
    return MODX_OK;
}

const StrategyDesc strategy_cumulative = {
    .name = "cumulative",
    .summary = "warm start, the new data plus a replay of earlier phases' data under a budget (TiC-CLIP)",
    .flags = STRATEGY_SHARED_CACHE,
    .hypers = HYPERS,
    .n_hypers = 4,
    .choices = CHOICES,
    .before_phase = before,
    .end_phase = strategy_mix_end,
};
