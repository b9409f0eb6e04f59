/* modx+replay with distill_rows = replay (src/strategy/modx_replay.c): the
 * contrastive loss on the whole batch plus α·Mod-X's KL on the replayed rows'
 * own similarities. Its feature gradients are checked by finite differences
 * against a double-precision reference of the same loss (the naive
 * contrastive and KL); the new rows get exactly the contrastive gradient;
 * distill_rows = all is Mod-X's loss unchanged. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "features_util.h"
#include "gradcheck.h"
#include "harness.h"
#include "loss/contrastive.h"
#include "loss/modx.h"
#include "strategy/parts.h"

enum { B = 7, E = 5, R = 3 };

typedef struct {
    float V[B * E], T[B * E], Vo[B * E], To[B * E];
    float ls, alpha;
} Feat;

/* The reference: L_con(all rows) + α·L_kl(the last R rows), in double. */
static double ref_loss(void *p) {
    Feat *f = p;
    size_t o = (size_t)(B - R) * E;
    return contrastive_forward_backward_naive(NULL, NULL, NULL, f->V, f->T, f->ls, B, E) +
           f->alpha * modx_kl_forward_backward_naive(NULL, NULL, NULL, NULL, f->V + o, f->T + o, f->Vo + o, f->To + o,
                                                     1.0f, 1, R, E);
}

static StepLoss run_term(const StrategyInst *si, Feat *f, int rows, float *dV, float *dT, float *dls) {
    static float scratch[4096];
    memset(dV, 0, sizeof(float) * B * E), memset(dT, 0, sizeof(float) * B * E), *dls = 0;
    StepLossIO io = {.V = f->V, .T = f->T, .Vo = f->Vo, .To = f->To, .scale = f->ls, .scale_old = f->ls, .B = B, .E = E,
                     .replay_rows = rows, .scratch = scratch, .dV = dV, .dT = dT, .dscale = dls};
    CHECK(step_loss_scratch_floats(B) <= sizeof scratch / sizeof *scratch, "scratch");
    StepLoss out = {0};
    CHECK(si->desc->loss(si, &io, &out) == MODX_OK, "%s", modx_last_error());
    return out;
}

TEST(strategy_modx_replay_rows_gradcheck) {
    Feat f;
    Rng r;
    rng_seed(&r, 11);
    rand_unit_rows(&r, f.V, B, E);
    noisy_copy(&r, f.T, f.V, B, E, 0.3);
    noisy_copy(&r, f.Vo, f.V, B, E, 0.6);
    noisy_copy(&r, f.To, f.Vo, B, E, 0.3);
    f.ls = 2.0f, f.alpha = 3.0f;
    StrategyInst si;
    EXPECT(strategy_inst_named(&si, "modx+replay") == MODX_OK && strategy_inst_set(&si, "alpha", 3.0, "t") == MODX_OK &&
               strategy_inst_set(&si, "distill_rows", 1, "t") == MODX_OK,
           "%s", modx_last_error());
    float dV[B * E], dT[B * E], dls, cV[B * E], cT[B * E], cls;
    StepLoss l = run_term(&si, &f, R, dV, dT, &dls);
    double want = ref_loss(&f);
    EXPECT(fabs(l.loss - want) < 1e-4 * fmax(1, fabs(want)) && l.loss_kl > 1e-3 && l.selected_i2t <= R,
           "loss %.7g, reference %.7g (kl %.4g, %d rows kept)", l.loss, want, l.loss_kl, l.selected_i2t);
    GradcheckResult gv = gradcheck_tensor(ref_loss, &f, f.V, dV, B * E, 1e-3f, 100, 1);
    GradcheckResult gt = gradcheck_tensor(ref_loss, &f, f.T, dT, B * E, 1e-3f, 100, 2);
    GradcheckResult gs = gradcheck_tensor(ref_loss, &f, &f.ls, &dls, 1, 1e-3f, 1, 3);
    printf("    modx+replay (replay rows): fd rel err dV %.2g dT %.2g dlogit_scale %.2g\n", gv.max_rel, gt.max_rel,
           gs.max_rel);
    EXPECT(gv.checked == B * E && gt.checked == B * E && gv.max_rel < 1e-3 && gt.max_rel < 1e-3 && gs.max_rel < 1e-3,
           "finite differences disagree: dV %.3g dT %.3g dls %.3g", gv.max_rel, gt.max_rel, gs.max_rel);
    /* the new rows' gradients are the contrastive loss's alone; the replayed rows' are not */
    StepLossIO cio = {.V = f.V, .T = f.T, .scale = f.ls, .B = B, .E = E, .dV = cV, .dT = cT, .dscale = &cls};
    float scratch[4096];
    cio.scratch = scratch;
    memset(cV, 0, sizeof cV), memset(cT, 0, sizeof cT), cls = 0;
    StepLoss c;
    EXPECT(step_loss_contrastive(NULL, &cio, &c) == MODX_OK, "contrastive");
    size_t o = (size_t)(B - R) * E;
    EXPECT(!memcmp(dV, cV, o * sizeof(float)) && !memcmp(dT, cT, o * sizeof(float)), "new rows distilled");
    EXPECT(memcmp(dV + o, cV + o, (size_t)R * E * sizeof(float)), "replayed rows not distilled");
    /* no replayed rows: the contrastive loss alone */
    l = run_term(&si, &f, 0, dV, dT, &dls);
    EXPECT(l.loss == c.loss && l.loss_kl == 0 && !memcmp(dV, cV, sizeof cV), "no replay rows: %.7g vs %.7g", l.loss,
           c.loss);
    /* distill_rows = all: Mod-X's loss on the whole batch, whatever replay_rows says */
    EXPECT(strategy_inst_set(&si, "distill_rows", 0, "t") == MODX_OK, "all");
    l = run_term(&si, &f, R, dV, dT, &dls);
    StepLoss m = run_term(&si, &f, 0, cV, cT, &cls);
    ModxLossResult mr;
    modx_loss_forward_backward(&mr, NULL, NULL, NULL, scratch, f.V, f.T, f.Vo, f.To, f.ls, 3.0f, 1, B, E);
    EXPECT(l.loss == m.loss && l.loss == mr.loss && !memcmp(dV, cV, sizeof cV), "all rows: %.7g %.7g %.7g", l.loss,
           m.loss, mr.loss);
    EXPECT(strategy_inst_set(&si, "distill_rows", 2, "t") == MODX_ERR_INVALID, "distill_rows 2 accepted");
}
