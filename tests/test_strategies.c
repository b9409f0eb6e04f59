/* Continual-learning baselines: LwF (BLAS vs naive, finite differences, two
 * exact identities, the PyTorch reference of tools/gen_lwf_ref.py), EWC
 * (Fisher accumulation, penalty value and finite differences), the replay
 * reservoir (uniformity, determinism, capacity, batch fill, save/load), the
 * weight-space merge, and the step's loss kinds on the micro model. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "features_util.h"
#include "harness.h"
#include "strategy_util.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "loss/contrastive.h"
#include "loss/ewc.h"
#include "loss/lwf.h"
#include "train/merge.h"
#include "train/replay.h"
#include "train/step.h"

#define MICRO_CFG "tests/fixtures/clip_micro.json"


/* ---------------------------------------------------------------- LwF */

typedef struct {
    float *V, *T, *Vo, *To;
    float ls, ls_old, tau;
    int B, E;
} LwfCtx;

static double lwf_ctx_loss(void *p) {
    LwfCtx *c = p;
    return lwf_forward_backward_naive(NULL, NULL, NULL, c->V, c->T, c->Vo, c->To, c->ls, c->ls_old, c->tau, 1.0f,
                                      c->B, c->E);
}

static const int LWF_SHAPES[][2] = {{1, 1}, {2, 3}, {7, 5}, {8, 16}, {37, 19}, {65, 3}};

TEST(strat_lwf_blas_matches_naive) {
    const float taus[] = {1.0f, 2.0f, 0.5f};
    const float scales[][2] = {{0.0f, 0.0f}, {2.6592600f, 2.0f}, {4.6051702f, 4.0f}};
    Rng r;
    rng_seed(&r, 21);
    double worst = 0.0;
    for (int si = 0; si < 6; si++)
        for (int ti = 0; ti < 3; ti++) {
            const int B = LWF_SHAPES[si][0], E = LWF_SHAPES[si][1];
            const size_t n = (size_t)B * E;
            const float ls = scales[ti][0], lso = scales[ti][1], tau = taus[ti], w = 1.7f;
            float *V = fzalloc(n), *T = fzalloc(n), *Vo = fzalloc(n), *To = fzalloc(n), *dV = fzalloc(n), *dT = fzalloc(n), *nV = fzalloc(n),
                  *nT = fzalloc(n), *scratch = fzalloc(lwf_scratch_floats(B));
            rand_unit_rows(&r, V, B, E);
            noisy_copy(&r, T, V, B, E, 0.7);
            noisy_copy(&r, Vo, V, B, E, 0.4);
            noisy_copy(&r, To, Vo, B, E, 0.9);
            float dls = 0.0f, nls = 0.0f;
            float loss = lwf_forward_backward(dV, dT, &dls, scratch, V, T, Vo, To, ls, lso, tau, w, B, E);
            double want = lwf_forward_backward_naive(nV, nT, &nls, V, T, Vo, To, ls, lso, tau, w, B, E);
            int ok = fabs(loss - want) <= 1e-5 * fmax(1.0, fabs(want)) &&
                     fabs(dls - nls) <= 1e-4 * fmax(1.0, fabs(nls)) &&
                     harness_close_f32(__FILE__, __LINE__, "lwf dV blas vs naive", dV, nV, n, 1e-9, 1e-4) &&
                     harness_close_f32(__FILE__, __LINE__, "lwf dT blas vs naive", dT, nT, n, 1e-9, 1e-4);
            if (B > 1) /* B = 1: one-entry softmaxes, p = q = 1, every gradient is 0 */
                worst = fmax(worst, fmax(rel_err(dV, nV, n), rel_err(dT, nT, n)));
            /* forward only: same loss; gradients are added, not written */
            float loss2 = lwf_forward_backward(NULL, NULL, NULL, scratch, V, T, Vo, To, ls, lso, tau, w, B, E);
            float dls2 = 1.0f;
            for (size_t k = 0; k < n; k++) nT[k] = dT[k] + 1.0f, dT[k] = 1.0f;
            lwf_forward_backward(NULL, dT, &dls2, scratch, V, T, Vo, To, ls, lso, tau, w, B, E);
            ok = ok && loss2 == loss && fabs(dls2 - (1.0 + dls)) <= 1e-5 * fmax(1.0, fabs(dls)) &&
                 harness_close_f32(__FILE__, __LINE__, "lwf dT accumulates", dT, nT, n, 1e-5, 0);
            free(V), free(T), free(Vo), free(To), free(dV), free(dT), free(nV), free(nT), free(scratch);
            EXPECT(ok, "B %d E %d tau %g: loss %.9g naive %.9g, dls %.9g naive %.9g", B, E, tau, loss, want, dls,
                   nls);
        }
    printf("    lwf blas vs naive: worst gradient rel diff %.2g over the B > 1 cases\n", worst);
}

TEST(strat_lwf_finite_difference) {
    enum { B = 5, E = 4 };
    float V[B * E], T[B * E], Vo[B * E], To[B * E];
    Rng r;
    rng_seed(&r, 6);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.8);
    noisy_copy(&r, Vo, V, B, E, 0.5);
    noisy_copy(&r, To, Vo, B, E, 1.0);
    const float taus[] = {1.0f, 2.0f};
    for (int ti = 0; ti < 2; ti++) {
        LwfCtx c = {V, T, Vo, To, 1.3f, 0.9f, taus[ti], B, E};
        float dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f, scratch[2 * B * B + 7 * B];
        lwf_forward_backward(dV, dT, &dls, scratch, V, T, Vo, To, c.ls, c.ls_old, c.tau, 1.0f, B, E);
        GradcheckResult gv = gradcheck_tensor(lwf_ctx_loss, &c, V, dV, B * E, 1e-3f, 100, 1);
        GradcheckResult gt = gradcheck_tensor(lwf_ctx_loss, &c, T, dT, B * E, 1e-3f, 100, 2);
        GradcheckResult gs = gradcheck_tensor(lwf_ctx_loss, &c, &c.ls, &dls, 1, 1e-3f, 1, 3);
        printf("    lwf tau %g: fd rel err dV %.2g dT %.2g dlogit_scale %.2g (dls %.4g)\n", c.tau, gv.max_rel,
               gt.max_rel, gs.max_rel, dls);
        EXPECT(gv.checked == B * E && gt.checked == B * E && gs.checked == 1, "not every entry checked");
        EXPECT(gv.max_rel < 1e-4 && gt.max_rel < 1e-4 && gs.max_rel < 1e-4,
               "tau %g: finite differences disagree: dV %.3g dT %.3g dls %.3g", c.tau, gv.max_rel, gt.max_rel,
               gs.max_rel);
        EXPECT(fabs(dls) > 1e-3, "dlogit_scale %g: the check would be vacuous", dls);
    }
}

/* Old model == current model: the soft CE equals the mean entropy of the
 * softmax rows and columns (computed here directly), and every gradient is
 * exactly zero (p − q = 0 entry by entry). */
TEST(strat_lwf_identity_same_model) {
    enum { B = 9, E = 7 };
    float V[B * E], T[B * E], dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f, scratch[2 * B * B + 7 * B];
    Rng r;
    rng_seed(&r, 17);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.6);
    const float ls = 2.3f, tau = 1.5f;
    float loss = lwf_forward_backward(dV, dT, &dls, scratch, V, T, V, T, ls, ls, tau, 1.0f, B, E);
    double ent = 0.0, s = exp(ls);
    for (int dir = 0; dir < 2; dir++)
        for (int i = 0; i < B; i++) {
            double x[B], mx = -INFINITY, z = 0.0;
            for (int j = 0; j < B; j++) {
                /* row i of Z = s·V·Tᵀ, or row i of Zᵀ */
                const float *v = dir ? V + j * E : V + i * E, *t = dir ? T + i * E : T + j * E;
                x[j] = s * gradcheck_dot(v, t, E) / tau;
                mx = fmax(mx, x[j]);
            }
            for (int j = 0; j < B; j++) z += exp(x[j] - mx);
            for (int j = 0; j < B; j++) {
                double lp = x[j] - mx - log(z);
                ent -= exp(lp) * lp;
            }
        }
    ent *= 0.5 / B;
    EXPECT(fabs(loss - ent) <= 1e-5 * ent, "loss %.9g, mean entropy %.9g", loss, ent);
    double gmax = fabs(dls);
    for (int k = 0; k < B * E; k++) gmax = fmax(gmax, fmax(fabs(dV[k]), fabs(dT[k])));
    EXPECT(gmax == 0.0, "old == new: largest gradient entry %g, expected exactly 0", gmax);
    /* the naive version agrees up to its own rounding */
    float nV[B * E] = {0}, nT[B * E] = {0}, nls = 0.0f;
    double nl = lwf_forward_backward_naive(nV, nT, &nls, V, T, V, T, ls, ls, tau, 1.0f, B, E);
    gmax = fabs(nls);
    for (int k = 0; k < B * E; k++) gmax = fmax(gmax, fmax(fabs(nV[k]), fabs(nT[k])));
    EXPECT(fabs(nl - ent) <= 1e-9 * ent && gmax < 1e-9, "naive: loss %.12g vs %.12g, max grad %g", nl, ent, gmax);
}

/* One-hot targets: old features are orthonormal rows (E ≥ B) with a huge old
 * scale, so softmax(Z°) is the identity in both directions and the soft CE is
 * exactly CLIP's contrastive loss, gradients included. */
TEST(strat_lwf_identity_onehot_is_contrastive) {
    enum { B = 6, E = 8 };
    float V[B * E], T[B * E], O[B * E] = {0}, scratch[2 * B * B + 7 * B];
    for (int i = 0; i < B; i++) O[i * E + i] = 1.0f;
    Rng r;
    rng_seed(&r, 29);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.7);
    const float ls = 2.0f, ls_old = 10.0f; /* s° = 22026: off-diagonal targets e^-22026 = 0 */
    float dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f, cV[B * E] = {0}, cT[B * E] = {0}, cls = 0.0f;
    float loss = lwf_forward_backward(dV, dT, &dls, scratch, V, T, O, O, ls, ls_old, 1.0f, 1.0f, B, E);
    float con = contrastive_forward_backward(cV, cT, &cls, scratch, V, T, ls, B, E);
    EXPECT(fabs(loss - con) <= 1e-6 * con, "lwf %.9g vs contrastive %.9g", loss, con);
    EXPECT(fabs(dls - cls) <= 1e-5 * fabs(cls), "dlogit_scale %.9g vs %.9g", dls, cls);
    EXPECT_CLOSE("one-hot lwf dV = contrastive dV", dV, cV, B * E, 0, 1e-5);
    EXPECT_CLOSE("one-hot lwf dT = contrastive dT", dT, cT, B * E, 0, 1e-5);
}

static int read_scalar(SafeTensors *st, const char *name, float *out) {
    return safetensors_read_f32(st, name, 0, NULL, out) == MODX_OK;
}

TEST(strat_lwf_pytorch_reference) {
    SafeTensors *st = NULL;
    EXPECT(safetensors_open(&st, "tests/fixtures/loss_lwf.safetensors") == MODX_OK, "%s", modx_last_error());
    enum { B = 8, E = 16 };
    const int64_t shape[2] = {B, E};
    float V[B * E], T[B * E], Vo[B * E], To[B * E], ls, lso;
    int ok = !safetensors_read_f32(st, "V", 2, shape, V) && !safetensors_read_f32(st, "T", 2, shape, T) &&
             !safetensors_read_f32(st, "V_old", 2, shape, Vo) && !safetensors_read_f32(st, "T_old", 2, shape, To) &&
             read_scalar(st, "logit_scale", &ls) && read_scalar(st, "logit_scale_old", &lso);
    for (int t = 1; ok && t <= 2; t++) {
        char name[32];
        float tau, want_loss, want_dls, wV[B * E], wT[B * E];
        snprintf(name, sizeof name, "tau%d.tau", t);
        ok = read_scalar(st, name, &tau);
        snprintf(name, sizeof name, "tau%d.loss", t);
        ok = ok && read_scalar(st, name, &want_loss);
        snprintf(name, sizeof name, "tau%d.dlogit_scale", t);
        ok = ok && read_scalar(st, name, &want_dls);
        snprintf(name, sizeof name, "tau%d.dV", t);
        ok = ok && !safetensors_read_f32(st, name, 2, shape, wV);
        snprintf(name, sizeof name, "tau%d.dT", t);
        ok = ok && !safetensors_read_f32(st, name, 2, shape, wT);
        if (!ok) break;
        float dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f, scratch[2 * B * B + 7 * B];
        float loss = lwf_forward_backward(dV, dT, &dls, scratch, V, T, Vo, To, ls, lso, tau, 1.0f, B, E);
        printf("    lwf vs pytorch tau %g: loss %.7g (rel %.2g), dV %.2g, dT %.2g, dls %.2g\n", tau, loss,
               fabs(loss - want_loss) / want_loss, rel_err(dV, wV, B * E), rel_err(dT, wT, B * E),
               fabs(dls - want_dls) / fabs(want_dls));
        EXPECT(fabs(loss - want_loss) <= 1e-5 * fabs(want_loss), "tau %g: loss %.9g, torch %.9g", tau, loss,
               want_loss);
        EXPECT(fabs(dls - want_dls) <= 1e-3 * fabs(want_dls), "tau %g: dlogit_scale %.9g, torch %.9g", tau, dls,
               want_dls);
        EXPECT_CLOSE("lwf dV vs torch", dV, wV, B * E, 0, 1e-3);
        EXPECT_CLOSE("lwf dT vs torch", dT, wT, B * E, 0, 1e-3);
    }
    safetensors_close(st);
    EXPECT(ok, "reading the fixture: %s", modx_last_error());
}

/* ---------------------------------------------------------------- EWC */

typedef struct {
    float *params;
    const float *star, *fisher;
    float lambda;
    size_t n;
} EwcCtx;

static double ewc_ctx_loss(void *p) {
    EwcCtx *c = p;
    return ewc_penalty(NULL, c->params, c->star, c->fisher, c->lambda, c->n);
}

TEST(strat_ewc_penalty_value_and_gradient) {
    enum { N = 1000 }; /* more than EWC_CHUNKS, not a multiple of it */
    float *theta = fzalloc(N), *star = fzalloc(N), *fisher = fzalloc(N), *g = fzalloc(N), *g0 = fzalloc(N), *g0copy = fzalloc(N);
    Rng r;
    rng_seed(&r, 44);
    for (int k = 0; k < N; k++) {
        theta[k] = (float)rng_normal(&r);
        star[k] = theta[k] + 0.1f * (float)rng_normal(&r);
        fisher[k] = (float)(rng_uniform(&r) * rng_uniform(&r));
        g0[k] = g[k] = (float)rng_normal(&r); /* the penalty is ADDED */
    }
    const float lambda = 3.5f;
    double pen = ewc_penalty(g, theta, star, fisher, lambda, N), want = 0.0;
    for (int k = 0; k < N; k++) {
        double d = (double)theta[k] - star[k];
        want += 0.5 * lambda * fisher[k] * d * d;
    }
    int ok = fabs(pen - want) <= 1e-12 * want;
    float *dpen = fzalloc(N);
    for (int k = 0; k < N; k++) dpen[k] = g[k] - g0[k];
    EwcCtx c = {theta, star, fisher, lambda, N};
    GradcheckResult gr = gradcheck_tensor(ewc_ctx_loss, &c, theta, dpen, N, 1e-2f, 200, 9);
    /* at θ = θ*: zero penalty and zero gradient; null grads is forward only */
    memcpy(g0copy, g0, N * sizeof *g0);
    double at_star = ewc_penalty(g0, star, star, fisher, lambda, N);
    double fwd = ewc_penalty(NULL, theta, star, fisher, lambda, N);
    int unchanged = !memcmp(g0, g0copy, N * sizeof *g0);
    printf("    ewc: penalty %.9g (direct %.9g), fd rel err %.2g over %zu entries\n", pen, want, gr.max_rel,
           gr.checked);
    free(theta), free(star), free(fisher), free(g), free(g0), free(g0copy), free(dpen);
    EXPECT(ok, "penalty %.12g, direct sum %.12g", pen, want);
    EXPECT(gr.checked == 200 && gr.max_rel < 1e-3, "finite differences: rel err %.3g", gr.max_rel);
    EXPECT(at_star == 0.0 && unchanged, "at theta*: penalty %g (gradient must be unchanged)", at_star);
    EXPECT(fwd == pen, "forward-only penalty %.12g differs from %.12g", fwd, pen);
}

TEST(strat_ewc_fisher_accumulate_finish) {
    enum { N = 7, NB = 3 };
    float fisher[N] = {0}, g[NB][N];
    Rng r;
    rng_seed(&r, 5);
    for (int b = 0; b < NB; b++) {
        for (int k = 0; k < N; k++) g[b][k] = (float)rng_normal(&r);
        ewc_fisher_accumulate(fisher, g[b], N);
    }
    EXPECT(ewc_fisher_finish(fisher, N, NB, NULL) == MODX_OK, "%s", modx_last_error());
    for (int k = 0; k < N; k++) {
        double want = 0.0;
        for (int b = 0; b < NB; b++) want += (double)g[b][k] * g[b][k];
        want /= NB;
        EXPECT(fabs(fisher[k] - want) <= 1e-6 * want, "F[%d] = %.9g, mean of squares %.9g", k, fisher[k], want);
    }
    EXPECT(ewc_fisher_finish(fisher, N, 0, NULL) == MODX_ERR_INVALID, "0 batches accepted");
    EXPECT(strstr(modx_last_error(), "0 batches"), "message: %s", modx_last_error());
    /* a non-finite entry is named by its parameter */
    ClipConfig cfg;
    ParamTable t;
    EXPECT(clip_config_load(&cfg, MICRO_CFG) == MODX_OK && param_table_build(&t, &cfg) == MODX_OK, "%s",
           modx_last_error());
    float *big = fzalloc(t.total);
    const ParamInfo *p = param_table_find(&t, "visual.proj");
    big[p->offset + 5] = INFINITY;
    ModxStatus st = ewc_fisher_finish(big, t.total, 2, &t);
    int named = strstr(modx_last_error(), "'visual.proj' (element 5)") != NULL;
    free(big);
    param_table_free(&t);
    EXPECT(st == MODX_ERR_INVALID && named, "status %d, message: %s", st, modx_last_error());
}

/* ---------------------------------------------------------------- replay */

/* Each of N offered pairs must end up in a reservoir of K with probability
 * K/N. Over S seeds, the inclusion count c_i of pair i has mean S·K/N and
 * variance S·p(1−p); Σ (c_i − e)²/(e(1−p)) is then about χ² with N−1 degrees
 * of freedom (mean N−1 = 49, sd ≈ 10). Bound: 49 + 4·sd ≈ 90. The seeds are
 * fixed, so the statistic is a fixed, printed number. */
TEST(strat_replay_reservoir_uniform) {
    enum { N = 50, K = 10, S = 4000 };
    long count[N] = {0}, slot_count[K] = {0};
    for (int s = 0; s < S; s++) {
        ReplayBuffer rb;
        EXPECT(replay_new(&rb, K, 1000 + (uint64_t)s) == MODX_OK, "%s", modx_last_error());
        for (uint32_t i = 0; i < N; i++) replay_offer(&rb, i, 7 * i + 1);
        int ok = rb.size == K && rb.seen == N;
        for (int k = 0; k < K; k++) {
            count[rb.image[k]]++;
            ok &= rb.caption[k] == 7 * rb.image[k] + 1;
        }
        /* replay batch draws: slot frequencies must be uniform too */
        uint32_t im[4], cap[4];
        for (int d = 0; d < 5; d++) {
            int got = replay_fill(&rb, im, cap, 8, 0.5);
            ok &= got == 4;
            for (int a = 0; a < got; a++) {
                for (int b = 0; b < a; b++) ok &= im[a] != im[b]; /* distinct (images are distinct here) */
                for (int k = 0; k < K; k++)
                    if (rb.image[k] == im[a]) slot_count[k]++;
            }
        }
        replay_free(&rb);
        EXPECT(ok, "seed %d: size %u seen %llu or a caption/distinctness error", 1000 + s, rb.size,
               (unsigned long long)rb.seen);
    }
    const double p = (double)K / N, e = (double)S * p;
    double chi = 0.0;
    for (int i = 0; i < N; i++) chi += (count[i] - e) * (count[i] - e) / (e * (1 - p));
    /* draws: 5·4 per seed over K slots, each slot with probability 4/K per draw */
    const double ps = 4.0 / K, es = 5.0 * S * ps;
    double chi_s = 0.0;
    for (int k = 0; k < K; k++) chi_s += (slot_count[k] - es) * (slot_count[k] - es) / (es * (1 - ps));
    printf("    reservoir inclusion chi2 %.1f (49 dof), batch draw chi2 %.1f (9 dof)\n", chi, chi_s);
    EXPECT(chi < 90.0, "inclusion counts not uniform: chi2 %.1f with 49 dof", chi);
    EXPECT(chi_s < 30.0, "replay draws not uniform over slots: chi2 %.1f with 9 dof", chi_s);
}

TEST(strat_replay_deterministic_capacity_and_fill) {
    ReplayBuffer a, b, c;
    EXPECT(replay_new(&a, 5, 77) == MODX_OK && replay_new(&b, 5, 77) == MODX_OK && replay_new(&c, 5, 78) == MODX_OK,
           "%s", modx_last_error());
    int kept = 0;
    for (uint32_t i = 0; i < 3; i++) {
        int64_t slot = replay_offer(&a, i, i + 100);
        replay_offer(&b, i, i + 100);
        replay_offer(&c, i, i + 100);
        EXPECT(slot == (int64_t)i && a.size == i + 1, "filling: offer %u went to slot %lld, size %u", i,
               (long long)slot, a.size);
    }
    /* fewer stored pairs than the replay share: clamped to size */
    uint32_t im[16], cap[16];
    EXPECT(replay_batch_count(&a, 16, 0.5) == 3 && replay_batch_count(&a, 4, 0.5) == 2 &&
               replay_batch_count(&a, 4, 0.0) == 0 && replay_batch_count(&a, 5, REPLAY_FRACTION_DEFAULT) == 3,
           "batch counts");
    EXPECT(replay_fill(&a, im, cap, 16, 1.0) == 3, "fill with 3 stored pairs");
    replay_fill(&b, im, cap, 16, 1.0); /* keep a and b's sample streams in step */
    for (uint32_t i = 3; i < 1000; i++) {
        int64_t sa = replay_offer(&a, i, i + 100);
        kept += sa >= 0;
        EXPECT(replay_offer(&b, i, i + 100) == sa, "same seed, different decision at offer %u", i);
        replay_offer(&c, i, i + 100);
    }
    EXPECT(a.size == 5 && a.seen == 1000, "size %u seen %llu", a.size, (unsigned long long)a.seen);
    EXPECT(!memcmp(a.image, b.image, 5 * sizeof *a.image) && !memcmp(a.caption, b.caption, 5 * sizeof *a.caption),
           "same seed, different contents");
    EXPECT(memcmp(a.image, c.image, 5 * sizeof *a.image), "seeds 77 and 78 gave the same reservoir");
    /* E[kept] = Σ_{n=4}^{1000} 5/n ≈ 5·(ln 1000 − ln 3) ≈ 29 */
    EXPECT(kept > 10 && kept < 60, "%d of 997 late offers kept (expected about 29)", kept);
    int k = replay_fill(&a, im, cap, 6, 0.5);
    EXPECT(k == 3, "fill returned %d", k);
    for (int i = 0; i < k; i++) {
        int found = 0;
        for (int s = 0; s < 5; s++) found |= a.image[s] == im[i] && a.caption[s] == cap[i];
        EXPECT(found && cap[i] == im[i] + 100, "drawn pair (%u, %u) is not a stored pair", im[i], cap[i]);
    }

    /* save, load, and both copies continue identically */
    char path[512];
    snprintf(path, sizeof path, "%s/replay.safetensors", harness_tmpdir());
    EXPECT(replay_save(&a, path) == MODX_OK, "%s", modx_last_error());
    ReplayBuffer l;
    EXPECT(replay_load(&l, path) == MODX_OK, "%s", modx_last_error());
    EXPECT(l.capacity == 5 && l.size == 5 && l.seen == 1000 && !memcmp(l.image, a.image, 5 * sizeof *a.image) &&
               !memcmp(l.caption, a.caption, 5 * sizeof *a.caption),
           "loaded state differs");
    uint32_t im2[16], cap2[16];
    for (uint32_t i = 1000; i < 1300; i++) EXPECT(replay_offer(&l, i, i) == replay_offer(&a, i, i), "offer %u", i);
    EXPECT(replay_fill(&a, im, cap, 8, 0.5) == 4 && replay_fill(&l, im2, cap2, 8, 0.5) == 4 &&
               !memcmp(im, im2, 4 * sizeof *im) && !memcmp(cap, cap2, 4 * sizeof *cap),
           "loaded buffer draws differently");
    /* restore refuses inconsistent counters */
    EXPECT(replay_restore(&c, a.image, a.caption, 4, 1000, &a.insert_rng, &a.sample_rng, "state.x") ==
                   MODX_ERR_FORMAT &&
               strstr(modx_last_error(), "state.x"),
           "inconsistent size accepted: %s", modx_last_error());
    replay_free(&a), replay_free(&b), replay_free(&c), replay_free(&l);
    EXPECT(replay_new(&a, 0, 1) == MODX_ERR_INVALID && strstr(modx_last_error(), "capacity 0"), "capacity 0: %s",
           modx_last_error());
    EXPECT(replay_load(&a, "tests/fixtures/loss_lwf.safetensors") == MODX_ERR_FORMAT &&
               strstr(modx_last_error(), "modx.replay.capacity"),
           "a file that is not a replay state: %s", modx_last_error());
}

/* ---------------------------------------------------------------- merge */

static int write_micro(const char *path, uint64_t seed, ClipModel **keep) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    if (clip_config_load(&cfg, MICRO_CFG) || clip_model_new(&m, &cfg)) return 0;
    clip_model_init(m, seed);
    int ok = checkpoint_save(path, m, m->params, NULL, 0) == MODX_OK;
    *keep = m;
    return ok;
}

TEST(strat_merge_endpoints_and_midpoint) {
    char pa[512], pb[512], pc[512];
    snprintf(pa, sizeof pa, "%s/merge_a.safetensors", harness_tmpdir());
    snprintf(pb, sizeof pb, "%s/merge_b.safetensors", harness_tmpdir());
    snprintf(pc, sizeof pc, "%s/merge_c.safetensors", harness_tmpdir());
    ClipModel *a = NULL, *b = NULL, *c = NULL;
    EXPECT(write_micro(pa, 1, &a) && write_micro(pb, 2, &b), "%s", modx_last_error());
    const size_t n = a->table.total;
    b->params[b->w.logit_scale - b->params] += 0.5f; /* logit_scale differs too */
    EXPECT(checkpoint_save(pb, b, b->params, NULL, 0) == MODX_OK, "%s", modx_last_error());
    const double ts[] = {0.0, 1.0, 0.5, 0.25};
    for (int i = 0; i < 4; i++) {
        EXPECT(merge_checkpoints(pa, pb, ts[i], pc, NULL) == MODX_OK, "t %g: %s", ts[i], modx_last_error());
        EXPECT(checkpoint_load(&c, pc, NULL) == MODX_OK, "%s", modx_last_error());
        size_t bad = n;
        for (size_t k = 0; k < n && bad == n; k++) {
            const float want = ts[i] == 0.0   ? a->params[k]
                               : ts[i] == 1.0 ? b->params[k]
                                              : (float)((1 - ts[i]) * a->params[k] + ts[i] * (double)b->params[k]);
            if (memcmp(&c->params[k], &want, sizeof want)) bad = k;
        }
        float ck = bad < n ? c->params[bad] : 0;
        clip_model_free(c);
        c = NULL;
        EXPECT(bad == n, "t %g: entry %zu is %.9g, expected the exact mix (a %.9g, b %.9g)", ts[i], bad, ck,
               a->params[bad], b->params[bad]);
    }
    /* midpoint: (a + b)/2 within one rounding */
    float *mid = fzalloc(n);
    merge_params(mid, a->params, b->params, n, 0.5);
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double want = 0.5 * ((double)a->params[k] + b->params[k]);
        worst = fmax(worst, fabs(mid[k] - want) / fmax(fabs(want), 1e-30));
    }
    free(mid);
    EXPECT(worst <= 6e-8, "midpoint rel err %.3g", worst);
    /* in place: out aliasing a */
    float *cp = fzalloc(n);
    memcpy(cp, a->params, n * sizeof *cp);
    merge_params(cp, cp, b->params, n, 1.0);
    int same = !memcmp(cp, b->params, n * sizeof *cp);
    free(cp);
    EXPECT(same, "in-place t = 1 did not give B");
    EXPECT(merge_checkpoints(pa, pb, 1.5, pc, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "[0, 1]"),
           "t = 1.5: %s", modx_last_error());
    EXPECT(merge_checkpoints(pa, pb, NAN, pc, NULL) == MODX_ERR_INVALID, "t = NaN accepted");
    /* a different config: another embed_dim changes the projections' shapes */
    ClipConfig cfg = a->cfg;
    cfg.embed_dim = 8;
    ClipModel *d = NULL;
    EXPECT(clip_model_new(&d, &cfg) == MODX_OK, "%s", modx_last_error());
    ModxStatus st = checkpoint_save(pb, d, d->params, NULL, 0);
    clip_model_free(d);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    st = merge_checkpoints(pa, pb, 0.5, pc, NULL);
    clip_model_free(a), clip_model_free(b);
    EXPECT(st == MODX_ERR_INVALID && strstr(modx_last_error(), "'visual.proj'") &&
               strstr(modx_last_error(), "merge_b.safetensors"),
           "mismatch: %s", modx_last_error());
}

/* ---------------------------------------------------------------- step */

/* Strategy loss terms on the micro model with the committed batch: the
 * contrastive term is the same with or without an old model; LwF against an
 * identical old model adds the entropy to the loss and nothing to the
 * gradient; Mod-X without selection against it adds nothing; a term needing
 * the old model fails without one. */
TEST(strat_step_loss_kinds) {
    ClipModel *m = NULL, *old = NULL;
    SafeTensors *batch = NULL;
    EXPECT(checkpoint_load(&m, "tests/fixtures/clip_micro_ckpt.safetensors", MICRO_CFG) == MODX_OK &&
               checkpoint_load(&old, "tests/fixtures/clip_micro_ckpt.safetensors", MICRO_CFG) == MODX_OK &&
               safetensors_open(&batch, "tests/fixtures/clip_micro_batch.safetensors") == MODX_OK,
           "%s", modx_last_error());
    const ClipConfig *c = &m->cfg;
    const int B = (int)safetensors_find(batch, "images")->shape[0];
    int64_t is[4] = {B, 3, c->vision.image_size, c->vision.image_size}, ts[2] = {B, c->text.context_length};
    float *images = fzalloc((size_t)(is[0] * is[1] * is[2] * is[3]));
    int32_t *texts = calloc((size_t)(ts[0] * ts[1]), sizeof *texts);
    float *g1 = fzalloc(m->table.total), *g2 = fzalloc(m->table.total);
    ClipStep *s = NULL, *s0 = NULL;
    int ok = !safetensors_read_f32(batch, "images", 4, is, images) &&
             !safetensors_read_i32(batch, "texts", 2, ts, texts) && !clip_step_new(&s, m, old, B) &&
             !clip_step_new(&s0, m, NULL, B);
    StepLoss l1, l2;
    StrategyInst lwf_si, mx_si;
    ok = ok && !strategy_inst_named(&lwf_si, "lwf") && !strategy_inst_set(&lwf_si, "lambda", 2.0, "test") &&
         !strategy_inst_set(&lwf_si, "tau", 1.5, "test");
    const StepLossTerm con = {0}, con_fn = {step_loss_contrastive, NULL, 0, "contrastive"},
                       lwf = strategy_loss(&lwf_si), mx = test_modx_term(&mx_si, 3.0, 0);
    /* contrastive: the default term and the named function, with and without an old model */
    ok = ok && !clip_step_run(s0, images, texts, B, &con, g1, &l1) && !clip_step_run(s, images, texts, B, &con_fn, g2, &l2);
    int same = ok && l1.loss == l2.loss && !memcmp(g1, g2, m->table.total * sizeof *g1);
    /* LwF, old == current: loss = L_con + λ·entropy, gradient = contrastive's */
    ok = ok && !clip_step_run(s, images, texts, B, &lwf, g2, &l2);
    double grel = ok ? rel_err(g2, g1, m->table.total) : 1;
    /* Mod-X without selection, old == current: the KL term is 0 */
    StepLoss l3, l4;
    float *g3 = fzalloc(m->table.total);
    ok = ok && !clip_step_run(s, images, texts, B, &mx, g3, &l3);
    int same_mx = ok && l3.loss_kl == 0 && l3.selected_i2t == B && l3.loss == l1.loss;
    ModxStatus need_old = clip_step_run(s0, images, texts, B, &lwf, g3, &l4);
    int named = strstr(modx_last_error(), "lwf loss needs the old model") != NULL;
    clip_step_free(s), clip_step_free(s0);
    clip_model_free(m), clip_model_free(old);
    safetensors_close(batch);
    free(images), free(texts), free(g1), free(g2), free(g3);
    EXPECT(ok, "running the steps: %s", modx_last_error());
    EXPECT(same, "the default and the named contrastive term differ (loss %.9g vs %.9g)", l1.loss, l2.loss);
    printf("    step lwf(old = new): loss %.6g = con %.6g + 2 * %.6g (entropy); grad rel diff to contrastive %.2g\n",
           l2.loss, l2.loss_con, l2.loss_kl, grel);
    EXPECT(fabs(l2.loss - (l2.loss_con + 2.0 * l2.loss_kl)) <= 1e-6 * l2.loss && l2.loss_con == l1.loss &&
               l2.loss_kl > 0.1,
           "lwf step loss %.9g con %.9g kl %.9g", l2.loss, l2.loss_con, l2.loss_kl);
    EXPECT(grel == 0.0, "LwF with old = current changed the gradient (rel %.3g)", grel);
    EXPECT(same_mx, "Mod-X without selection against an identical old model: kl %.9g rows %d loss %.9g vs %.9g",
           l3.loss_kl, l3.selected_i2t, l3.loss, l1.loss);
    EXPECT(need_old == MODX_ERR_INVALID && named, "LwF without an old model: %d %s", need_old, modx_last_error());
}
