/* The merge strategy (src/strategy/merge.c): after phase k the model is the
 * running mean of the end-points θ_0 … θ_k (or the fixed-weight average), and
 * that model replaces the phase's checkpoint. Driven through its hooks on the
 * micro model, as the continual driver calls them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/checkpoint.h"
#include "strategy/strategy.h"

/* One phase k of inst on m: the hooks around a "training" that adds delta. */
static int merge_phase(const StrategyInst *si, ClipModel *m, int k, float delta, const char *out) {
    StrategyPhase sp = {.si = si, .phase = k, .model = m, .out_path = out};
    int ok = strategy_before_phase(&sp) == MODX_OK;
    for (size_t i = 0; ok && i < m->table.total; i++) m->params[i] += delta;
    ok = ok && strategy_after_phase(&sp) == MODX_OK;
    strategy_end_phase(&sp);
    return ok;
}

TEST(strategy_merge_running_mean_of_end_points) {
    ClipModel *m = NULL, *saved = NULL;
    StrategyInst si;
    EXPECT(strategy_inst_named(&si, "merge") == MODX_OK, "%s", modx_last_error());
    EXPECT(checkpoint_load(&m, "tests/fixtures/clip_micro_ckpt.safetensors", "tests/fixtures/clip_micro.json") == MODX_OK,
           "%s", modx_last_error());
    if (!m) return;
    char out[512];
    snprintf(out, sizeof out, "%s/merge.safetensors", harness_tmpdir());
    float x0 = m->params[0];
    /* θ_0 = x0; phase 1 ends at θ̄_0 + 3, phase 2 at θ̄_1 + 6: θ̄_1 = x0 + 1.5, θ̄_2 = θ̄_1 + 6/3 = x0 + 3.5 */
    int ok = merge_phase(&si, m, 1, 3.0f, out);
    double after1 = m->params[0] - x0;
    ok = ok && merge_phase(&si, m, 2, 6.0f, out);
    double after2 = m->params[0] - x0;
    EXPECT(ok, "hooks: %s", modx_last_error());
    EXPECT(fabs(after1 - 1.5) < 1e-5 && fabs(after2 - 3.5) < 1e-5, "uniform mean: +%g after phase 1, +%g after 2",
           after1, after2);
    EXPECT(checkpoint_load(&saved, out, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(saved && !memcmp(saved->params, m->params, m->table.total * sizeof(float)),
           "the phase's checkpoint holds the merged weights");
    /* a fixed weight w: θ̄ = (1 − w)·θ̄ + w·θ */
    EXPECT(strategy_inst_set(&si, "weight", 0.25, "test") == MODX_OK, "%s", modx_last_error());
    float before = m->params[0];
    ok = merge_phase(&si, m, 3, 4.0f, out);
    EXPECT(ok && fabs((double)m->params[0] - before - 1.0) < 1e-5, "weight 0.25 of +4: moved %g",
           (double)m->params[0] - before);
    EXPECT(strategy_inst_set(&si, "weight", 1.5, "test") == MODX_ERR_INVALID, "weight 1.5 accepted");
    clip_model_free(saved);
    clip_model_free(m);
}
