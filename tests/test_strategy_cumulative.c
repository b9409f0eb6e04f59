/* cumulative's data mix (src/strategy/cumulative.c) and oracle's: the loader
 * parts before_phase builds from the earlier phases' data under each buffer
 * policy and budget, driven through the hooks as the continual driver calls
 * them (no model needed: the hooks only choose data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "strategy/strategy.h"

#define MAXN 400

/* History of n earlier phases of the given sizes, image ids j*1000 + i; the new phase has 12. */
typedef struct {
    LoaderPart h[8];
    uint32_t ids[8][MAXN], now[12];
} Hist;

static void hist_init(Hist *t, const size_t *sizes, int n) {
    memset(t, 0, sizeof *t);
    for (int j = 0; j < n; j++) {
        for (size_t i = 0; i < sizes[j]; i++) t->ids[j][i] = (uint32_t)(j * 1000 + i);
        t->h[j] = (LoaderPart){.images = t->ids[j], .n_images = sizes[j], .share = 1};
    }
    for (int i = 0; i < 12; i++) t->now[i] = 9000u + (uint32_t)i;
}

/* Runs before_phase of si at phase n; counts per earlier phase in q (−1 when
 * no part holds it), the new phase's part last. Returns the parts' count. */
static int mix(const StrategyInst *si, Hist *t, int n, size_t *q, int64_t *steps, int check_ids) {
    StrategyPhase sp = {.si = si, .phase = n, .batch = 4, .epochs = 2, .run_seed = 7, .images = t->now,
                        .n_images = 12, .history = t->h, .n_history = n};
    if (strategy_before_phase(&sp) != MODX_OK) return -1;
    for (int j = 0; j <= n; j++) q[j] = 0;
    for (int p = 0; p < sp.n_parts; p++)
        for (size_t i = 0; i < sp.parts[p].n_images; i++) {
            uint32_t id = sp.parts[p].images[i];
            int j = id >= 9000 ? n : (int)(id / 1000);
            q[j]++;
            if (check_ids && i > 0 && sp.parts[p].images[i - 1] >= id) q[j] = 999999; /* ordered, distinct */
        }
    int np = sp.n_parts;
    if (steps) *steps = sp.steps;
    strategy_end_phase(&sp);
    return np;
}

static StrategyInst cum(const char *name, double buffer, double policy, double decay) {
    StrategyInst si;
    CHECK(strategy_inst_named(&si, "cumulative") == MODX_OK, "cumulative");
    snprintf(si.name, sizeof si.name, "%s", name);
    CHECK(strategy_inst_set(&si, "buffer", buffer, "t") == MODX_OK, "buffer");
    CHECK(strategy_inst_set(&si, "policy", policy, "t") == MODX_OK, "policy");
    CHECK(strategy_inst_set(&si, "decay", decay, "t") == MODX_OK, "decay");
    return si;
}

TEST(strategy_cumulative_policies_share_the_budget) {
    Hist t;
    size_t q[9];
    int64_t steps = -1;
    const size_t a[3] = {10, 3, 10};
    hist_init(&t, a, 3);
    /* no budget: everything, one part per phase and the new one; fixed steps = finetune's 2 x 12/4 */
    StrategyInst si = cum("c", 0, 0, 0.5);
    EXPECT(mix(&si, &t, 3, q, &steps, 1) == 4 && q[0] == 10 && q[1] == 3 && q[2] == 10 && q[3] == 12,
           "all: %zu %zu %zu %zu", q[0], q[1], q[2], q[3]);
    EXPECT(steps == 6, "fixed steps %lld", (long long)steps);
    EXPECT(strategy_inst_set(&si, "steps", 1, "t") == MODX_OK, "steps");
    EXPECT(mix(&si, &t, 3, q, &steps, 1) == 4 && steps == 0, "proportional: steps %lld", (long long)steps);
    /* equal, 12 of 23: 4 each, phase 1 capped at 3, its 1 left over to the latest phase */
    si = cum("c", 12, 1, 0.5);
    EXPECT(mix(&si, &t, 3, q, NULL, 1) == 4 && q[0] == 4 && q[1] == 3 && q[2] == 5 && q[3] == 12,
           "equal: %zu %zu %zu", q[0], q[1], q[2]);
    /* all, 12 of 23: ∝ size (5.22, 1.57, 5.22): floors 5, 1, 5, the one left to the largest remainder */
    si = cum("c", 12, 0, 0.5);
    EXPECT(mix(&si, &t, 3, q, NULL, 1) == 4 && q[0] + q[1] + q[2] == 12 && q[0] == 5 && q[1] == 2 && q[2] == 5,
           "all: %zu %zu %zu", q[0], q[1], q[2]);
    /* exponential, decay 0.5 over three phases of 100: weights 1/4, 1/2, 1 of 70 */
    const size_t b[3] = {100, 100, 100};
    hist_init(&t, b, 3);
    si = cum("c", 70, 2, 0.5);
    EXPECT(mix(&si, &t, 3, q, NULL, 1) == 4 && q[0] == 10 && q[1] == 20 && q[2] == 40, "exponential: %zu %zu %zu",
           q[0], q[1], q[2]);
    /* a budget over all the old data takes all of it, whatever the policy */
    si = cum("c", 1000, 2, 0.5);
    EXPECT(mix(&si, &t, 3, q, NULL, 1) == 4 && q[0] == 100 && q[1] == 100 && q[2] == 100, "budget over all");
}

TEST(strategy_cumulative_reservoir_keeps_what_it_held) {
    Hist t;
    const size_t a[4] = {50, 50, 50, 50};
    hist_init(&t, a, 4);
    StrategyInst si = cum("c", 20, 3, 0.5);
    /* the reservoir at phase 3 (fed phases 0..2) and at 4 (fed 0..3): 20 pairs each; what phase 4's
     * holds of phases 0..2 is a subset of phase 3's */
    StrategyPhase s3 = {.si = &si, .phase = 3, .batch = 4, .epochs = 1, .run_seed = 7, .images = t.now, .n_images = 12,
                        .history = t.h, .n_history = 3};
    StrategyPhase s4 = s3;
    s4.phase = 4, s4.n_history = 4;
    EXPECT(strategy_before_phase(&s3) == MODX_OK && strategy_before_phase(&s4) == MODX_OK, "hooks");
    unsigned char held[4000] = {0};
    size_t n3 = 0, n4 = 0, kept = 0;
    for (int p = 0; p + 1 < s3.n_parts; p++)
        for (size_t i = 0; i < s3.parts[p].n_images; i++) held[s3.parts[p].images[i]] = 1, n3++;
    for (int p = 0; p + 1 < s4.n_parts; p++)
        for (size_t i = 0; i < s4.parts[p].n_images; i++) {
            uint32_t id = s4.parts[p].images[i];
            n4++;
            kept += id < 3000 ? !held[id] : 0; /* an old pair that came back after leaving */
        }
    EXPECT(n3 == 20 && n4 == 20 && kept == 0, "reservoir: %zu, %zu pairs, %zu came back", n3, n4, kept);
    strategy_end_phase(&s3);
    strategy_end_phase(&s4);
}

/* The acceptance point: cumulative with policy all and a budget ≥ all the
 * data trains on oracle's data mix: the same parts, the same images. */
TEST(strategy_cumulative_all_is_oracles_mix) {
    Hist t;
    const size_t a[3] = {12, 7, 12};
    hist_init(&t, a, 3);
    StrategyInst c = cum("c", 31, 0, 0.5), o;
    EXPECT(strategy_inst_named(&o, "oracle") == MODX_OK, "oracle");
    EXPECT(o.desc->flags & STRATEGY_FROM_START, "oracle starts every phase from phase 0's model");
    StrategyPhase sc = {.si = &c, .phase = 3, .batch = 4, .epochs = 2, .run_seed = 7, .images = t.now, .n_images = 12,
                        .history = t.h, .n_history = 3};
    StrategyPhase so = sc;
    so.si = &o;
    EXPECT(strategy_before_phase(&sc) == MODX_OK && strategy_before_phase(&so) == MODX_OK, "hooks");
    int same = sc.n_parts == so.n_parts && sc.n_parts == 4 && so.steps == 0 && sc.proportions == so.proportions;
    for (int p = 0; same && p < sc.n_parts; p++)
        same = sc.parts[p].n_images == so.parts[p].n_images && sc.parts[p].cache == so.parts[p].cache &&
               !memcmp(sc.parts[p].images, so.parts[p].images, sc.parts[p].n_images * sizeof(uint32_t));
    EXPECT(same, "cumulative (all, budget 31) and oracle build the same parts");
    strategy_end_phase(&sc);
    strategy_end_phase(&so);
}
