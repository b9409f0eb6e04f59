/* zscl's loss term on the reference batch (src/strategy/zscl.c): λ·L_lwf
 * (τ = 1) between the current and the starting model's logits. Its feature
 * and logit-scale gradients are checked by finite differences against the
 * double-precision reference (loss/lwf.h's naive loops); λ scales it; with the
 * current model equal to the starting one every feature gradient is zero. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "features_util.h"
#include "gradcheck.h"
#include "harness.h"
#include "loss/lwf.h"
#include "strategy/parts.h"

enum { B = 6, E = 5 };

typedef struct {
    float V[B * E], T[B * E], Vo[B * E], To[B * E];
    float ls, lso, lambda;
} Feat;

static double ref_loss(void *p) {
    Feat *f = p;
    return f->lambda * lwf_forward_backward_naive(NULL, NULL, NULL, f->V, f->T, f->Vo, f->To, f->ls, f->lso, 1.0f, 1.0f,
                                                  B, E);
}

static StepLoss run_term(const StrategyInst *si, Feat *f, float *dV, float *dT, float *dls) {
    static float scratch[4096];
    CHECK(step_loss_scratch_floats(B) <= sizeof scratch / sizeof *scratch, "scratch");
    memset(dV, 0, sizeof(float) * B * E), memset(dT, 0, sizeof(float) * B * E), *dls = 0;
    StepLossIO io = {.V = f->V, .T = f->T, .Vo = f->Vo, .To = f->To, .scale = f->ls, .scale_old = f->lso, .B = B, .E = E,
                     .scratch = scratch, .dV = dV, .dT = dT, .dscale = dls};
    StepLoss out = {0};
    CHECK(strategy_zscl_term(si, &io, &out) == MODX_OK, "%s", modx_last_error());
    return out;
}

TEST(strategy_zscl_term_gradcheck) {
    Feat f;
    Rng r;
    rng_seed(&r, 5);
    rand_unit_rows(&r, f.V, B, E);
    noisy_copy(&r, f.T, f.V, B, E, 0.4);
    noisy_copy(&r, f.Vo, f.V, B, E, 0.7);
    noisy_copy(&r, f.To, f.Vo, B, E, 0.4);
    f.ls = 1.7f, f.lso = 2.2f, f.lambda = 2.5f;
    StrategyInst si;
    EXPECT(strategy_inst_named(&si, "zscl") == MODX_OK && strategy_inst_set(&si, "lambda", 2.5, "t") == MODX_OK, "%s",
           modx_last_error());
    float dV[B * E], dT[B * E], dls;
    StepLoss l = run_term(&si, &f, dV, dT, &dls);
    double want = ref_loss(&f);
    EXPECT(fabs(l.loss - want) < 1e-5 * fmax(1, fabs(want)) && fabs(l.loss - 2.5 * l.loss_kl) < 1e-5 * fabs(l.loss),
           "loss %.7g, reference %.7g, term %.7g", l.loss, want, l.loss_kl);
    GradcheckResult gv = gradcheck_tensor(ref_loss, &f, f.V, dV, B * E, 1e-3f, 100, 1);
    GradcheckResult gt = gradcheck_tensor(ref_loss, &f, f.T, dT, B * E, 1e-3f, 100, 2);
    GradcheckResult gs = gradcheck_tensor(ref_loss, &f, &f.ls, &dls, 1, 1e-3f, 1, 3);
    printf("    zscl term: fd rel err dV %.2g dT %.2g dlogit_scale %.2g (dls %.3g)\n", gv.max_rel, gt.max_rel, gs.max_rel,
           dls);
    EXPECT(gv.checked == B * E && gt.checked == B * E && gv.max_rel < 1e-4 && gt.max_rel < 1e-4 && gs.max_rel < 1e-4,
           "finite differences disagree: dV %.3g dT %.3g dls %.3g", gv.max_rel, gt.max_rel, gs.max_rel);
    EXPECT(fabs(dls) > 1e-4, "dlogit_scale %g: the check would be vacuous", dls);
    /* the current model equal to the starting one: no feature gradient */
    memcpy(f.Vo, f.V, sizeof f.V), memcpy(f.To, f.T, sizeof f.T), f.lso = f.ls;
    run_term(&si, &f, dV, dT, &dls);
    double mx = 0;
    for (int i = 0; i < B * E; i++) mx = fmax(mx, fmax(fabs(dV[i]), fabs(dT[i])));
    EXPECT(mx < 1e-6, "same model: gradient %g", mx);
    EXPECT(strategy_inst_set(&si, "interval", 2.5, "t") == MODX_ERR_INVALID, "interval 2.5 accepted");
    EXPECT(strategy_inst_set(&si, "lambda", -1, "t") == MODX_ERR_INVALID, "lambda -1 accepted");
}
