/* Contrastive and Mod-X losses: BLAS vs naive on awkward shapes, finite
 * differences, exact zeros for excluded rows, and the PyTorch reference files
 * written by tools/gen_loss_ref.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "features_util.h"
#include "harness.h"
#include "io/safetensors.h"
#include "loss/contrastive.h"
#include "loss/modx.h"


static int close_rel(double got, double want, double tol) { return fabs(got - want) <= tol * fmax(1.0, fabs(want)); }

static const int SHAPES[][2] = {{1, 1}, {2, 3}, {7, 5}, {8, 16}, {37, 19}, {65, 3}};
#define NSHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

TEST(loss_contrastive_blas_matches_naive) {
    const float scales[] = {0.0f, 2.6592600f, 4.6051702f};
    Rng r;
    rng_seed(&r, 11);
    for (int si = 0; si < NSHAPES; si++)
        for (int li = 0; li < 3; li++) {
            const int B = SHAPES[si][0], E = SHAPES[si][1];
            const size_t n = (size_t)B * E;
            float *V = fzalloc(n), *T = fzalloc(n), *dV = fzalloc(n), *dT = fzalloc(n), *nV = fzalloc(n),
                  *nT = fzalloc(n), *scratch = fzalloc(contrastive_scratch_floats(B));
            rand_unit_rows(&r, V, B, E);
            noisy_copy(&r, T, V, B, E, 0.7);
            float dls = 0.0f, nls = 0.0f;
            float loss = contrastive_forward_backward(dV, dT, &dls, scratch, V, T, scales[li], B, E);
            double want = contrastive_forward_backward_naive(nV, nT, &nls, V, T, scales[li], B, E);
            int ok = close_rel(loss, want, 1e-5) && close_rel(dls, nls, 1e-4) &&
                     harness_close_f32(__FILE__, __LINE__, "dV blas vs naive", dV, nV, n, 1e-7, 1e-4) &&
                     harness_close_f32(__FILE__, __LINE__, "dT blas vs naive", dT, nT, n, 1e-7, 1e-4);
            /* forward only gives the same loss; gradients are added, not written */
            float loss2 = contrastive_forward_backward(NULL, NULL, NULL, scratch, V, T, scales[li], B, E);
            float dls2 = 1.0f;
            for (size_t k = 0; k < n; k++) nV[k] = dV[k] + 1.0f, dV[k] = 1.0f;
            contrastive_forward_backward(dV, NULL, &dls2, scratch, V, T, scales[li], B, E);
            ok = ok && loss2 == loss && close_rel(dls2, 1.0 + dls, 1e-6) &&
                 harness_close_f32(__FILE__, __LINE__, "dV accumulates", dV, nV, n, 1e-6, 0);
            free(V), free(T), free(dV), free(dT), free(nV), free(nT), free(scratch);
            EXPECT(ok, "B %d E %d logit_scale %g: loss %.9g naive %.9g, dls %.9g naive %.9g", B, E, scales[li],
                   loss, want, dls, nls);
        }
}

/* A nearly trained batch at s = 100 (loss ≈ 0.03): the loss is small next to
 * the logits (≈ 100), so it and its gradients must not lose precision to
 * cancellation (logsumexp − diagonal, p_ii − 1). */
TEST(loss_contrastive_small_loss_high_scale) {
    enum { B = 16, E = 6 };
    float V[B * E], T[B * E], dV[B * E] = {0}, dT[B * E] = {0}, nV[B * E] = {0}, nT[B * E] = {0};
    float scratch[B * B + 3 * B], dls = 0.0f, nls = 0.0f;
    EXPECT(contrastive_scratch_floats(B) <= sizeof scratch / sizeof scratch[0], "scratch too small");
    Rng r;
    rng_seed(&r, 8);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.3);
    float loss = contrastive_forward_backward(dV, dT, &dls, scratch, V, T, 4.6051702f, B, E);
    double want = contrastive_forward_backward_naive(nV, nT, &nls, V, T, 4.6051702f, B, E);
    EXPECT(want > 1e-6 && want < 0.05, "batch not in the small-loss regime: %g", want);
    /* float logits of size 100 carry ~1e-5 absolute rounding (the naive
     * version forms them in double), hence 3e-5 here rather than 1e-5 */
    EXPECT(fabs(loss - want) <= 3e-5 * want, "loss %.9g, naive %.9g (rel %.3g)", loss, want, fabs(loss - want) / want);
    EXPECT(fabs(dls - nls) <= 1e-4 * fabs(nls), "dlogit_scale %.9g, naive %.9g", dls, nls);
    EXPECT_CLOSE("dV small loss", dV, nV, B * E, 0, 1e-4);
    EXPECT_CLOSE("dT small loss", dT, nT, B * E, 0, 1e-4);
    printf("    loss %.4g at s = 100: rel err %.2g, dV %.2g, dT %.2g\n", want, fabs(loss - want) / want,
           rel_err(dV, nV, B * E), rel_err(dT, nT, B * E));
}

/* Central difference of a double-valued f over one float input, using the
 * step actually representable in float. */
#define FD_STEP 1e-3

typedef double (*LossFn)(const float *V, const float *T, float ls, void *ctx);

static double fd_entry(LossFn f, float *x, size_t k, float *V, float *T, float *ls, void *ctx) {
    const float orig = x[k];
    x[k] = (float)(orig + FD_STEP);
    const double hp = (double)x[k] - orig, lp = f(V, T, *ls, ctx);
    x[k] = (float)(orig - FD_STEP);
    const double hm = orig - (double)x[k], lm = f(V, T, *ls, ctx);
    x[k] = orig;
    return (lp - lm) / (hp + hm);
}

/* Checks dV, dT, dls against central differences of f; returns the largest
 * error relative to max|gradient|. */
static double fd_check(LossFn f, void *ctx, float *V, float *T, float ls, const float *dV, const float *dT, float dls,
                       int B, int E) {
    double maxg = fabs(dls), maxerr = 0.0;
    const size_t n = (size_t)B * E;
    for (size_t k = 0; k < n; k++) maxg = fmax(maxg, fmax(fabs(dV[k]), fabs(dT[k])));
    for (size_t k = 0; k < n; k++) {
        maxerr = fmax(maxerr, fabs(fd_entry(f, V, k, V, T, &ls, ctx) - dV[k]));
        maxerr = fmax(maxerr, fabs(fd_entry(f, T, k, V, T, &ls, ctx) - dT[k]));
    }
    maxerr = fmax(maxerr, fabs(fd_entry(f, &ls, 0, V, T, &ls, ctx) - dls));
    return maxerr / fmax(maxg, 1e-30);
}

static double con_loss_fn(const float *V, const float *T, float ls, void *ctx) {
    const int *be = ctx;
    return contrastive_forward_backward_naive(NULL, NULL, NULL, V, T, ls, be[0], be[1]);
}

TEST(loss_contrastive_finite_difference) {
    const int B = 5, E = 4;
    int be[2] = {B, E};
    float V[20], T[20], dV[20] = {0}, dT[20] = {0}, dls = 0.0f, scratch[64];
    Rng r;
    rng_seed(&r, 5);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.8);
    const float ls = 1.3f;
    contrastive_forward_backward(dV, dT, &dls, scratch, V, T, ls, B, E);
    double err = fd_check(con_loss_fn, be, V, T, ls, dV, dT, dls, B, E);
    EXPECT(err < 1e-4, "finite differences disagree: max error %.3g of max|grad|", err);
}

typedef struct {
    int B, E, select;
    float alpha;
    const float *Vo, *To;
} ModxCtx;

static double modx_loss_fn(const float *V, const float *T, float ls, void *ctx) {
    const ModxCtx *c = ctx;
    return contrastive_forward_backward_naive(NULL, NULL, NULL, V, T, ls, c->B, c->E) +
           c->alpha * modx_kl_forward_backward_naive(NULL, NULL, NULL, NULL, V, T, c->Vo, c->To, c->alpha, c->select,
                                                     c->B, c->E);
}

/* Old features whose rows are a mix of right and wrong retrievals. */
static void mixed_old_features(Rng *r, float *Vo, float *To, const float *V, int B, int E) {
    noisy_copy(r, Vo, V, B, E, 0.5);
    noisy_copy(r, To, Vo, B, E, 1.2);
}

TEST(loss_modx_finite_difference) {
    const int B = 6, E = 4;
    const size_t n = (size_t)B * E;
    float V[24], T[24], Vo[24], To[24], scratch[2 * 36 + 6 * 6];
    Rng r;
    rng_seed(&r, 3);
    int tries = 0, nr = 0, nc = 0;
    do { /* draw until both directions have kept and excluded rows */
        rand_unit_rows(&r, V, B, E);
        noisy_copy(&r, T, V, B, E, 0.8);
        mixed_old_features(&r, Vo, To, V, B, E);
        modx_kl_forward_backward(NULL, NULL, scratch, NULL, NULL, &nr, &nc, V, T, Vo, To, 1.0f, 1, B, E);
    } while (!(nr > 0 && nr < B && nc > 0 && nc < B) && ++tries < 200);
    EXPECT(tries < 200, "no draw with a mix of kept and excluded rows");
    for (int select = 0; select <= 1; select++) {
        ModxCtx ctx = {B, E, select, 2.5f, Vo, To};
        float dV[24] = {0}, dT[24] = {0}, dls = 0.0f;
        ModxLossResult res;
        modx_loss_forward_backward(&res, dV, dT, &dls, scratch, V, T, Vo, To, 1.1f, ctx.alpha, select, B, E);
        EXPECT(close_rel(res.loss, modx_loss_fn(V, T, 1.1f, &ctx), 1e-5), "loss %.9g vs naive %.9g", res.loss,
               modx_loss_fn(V, T, 1.1f, &ctx));
        EXPECT(select ? (res.selected_i2t == nr && res.selected_t2i == nc)
                      : (res.selected_i2t == B && res.selected_t2i == B),
               "selected %d/%d rows, expected %d/%d", res.selected_i2t, res.selected_t2i, select ? nr : B,
               select ? nc : B);
        double err = fd_check(modx_loss_fn, &ctx, V, T, 1.1f, dV, dT, dls, B, E);
        EXPECT(err < 1e-4, "select %d: finite differences disagree: max error %.3g of max|grad|", select, err);
        (void)n;
    }
}

TEST(loss_modx_blas_matches_naive) {
    Rng r;
    rng_seed(&r, 21);
    for (int si = 0; si < NSHAPES; si++)
        for (int select = 0; select <= 1; select++) {
            const int B = SHAPES[si][0], E = SHAPES[si][1];
            const size_t n = (size_t)B * E;
            float *V = fzalloc(n), *T = fzalloc(n), *Vo = fzalloc(n), *To = fzalloc(n), *dV = fzalloc(n),
                  *dT = fzalloc(n), *nV = fzalloc(n), *nT = fzalloc(n), *scratch = fzalloc(modx_scratch_floats(B));
            uint8_t *k1 = calloc((size_t)B, 1), *k2 = calloc((size_t)B, 1), *n1 = calloc((size_t)B, 1),
                    *n2 = calloc((size_t)B, 1);
            rand_unit_rows(&r, V, B, E);
            noisy_copy(&r, T, V, B, E, 0.7);
            mixed_old_features(&r, Vo, To, V, B, E);
            int nr = -1, nc = -1;
            float kl = modx_kl_forward_backward(dV, dT, scratch, k1, k2, &nr, &nc, V, T, Vo, To, 1.7f, select, B, E);
            double want = modx_kl_forward_backward_naive(nV, nT, n1, n2, V, T, Vo, To, 1.7f, select, B, E);
            int cnt_r = 0, cnt_c = 0;
            for (int i = 0; i < B; i++) cnt_r += k1[i], cnt_c += k2[i];
            int ok = !memcmp(k1, n1, (size_t)B) && !memcmp(k2, n2, (size_t)B) && cnt_r == nr && cnt_c == nc &&
                     fabs(kl - want) <= 1e-5 * fmax(1.0, fabs(want)) + 1e-6 &&
                     harness_close_f32(__FILE__, __LINE__, "dV modx blas vs naive", dV, nV, n, 1e-7, 1e-4) &&
                     harness_close_f32(__FILE__, __LINE__, "dT modx blas vs naive", dT, nT, n, 1e-7, 1e-4);
            free(V), free(T), free(Vo), free(To), free(dV), free(dT), free(nV), free(nT), free(scratch);
            free(k1), free(k2), free(n1), free(n2);
            EXPECT(ok, "B %d E %d select %d: kl %.9g naive %.9g, kept %d/%d", B, E, select, kl, want, nr, nc);
        }
}

TEST(loss_modx_excluded_rows_exactly_zero) {
    /* T_old[i] = V_old[i+1]: row i of Q peaks at column i−1, column j at row
     * j+1, so the old model got every row wrong in both directions. */
    enum { B = 7, E = 9 };
    float V[B * E], T[B * E], Vo[B * E], To[B * E], scratch[2 * B * B + 6 * B];
    float dV[B * E] = {0}, dT[B * E] = {0}, cV[B * E] = {0}, cT[B * E] = {0}, dls = 0.0f, cls = 0.0f;
    Rng r;
    rng_seed(&r, 9);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.6);
    rand_unit_rows(&r, Vo, B, E);
    for (int i = 0; i < B; i++) memcpy(To + i * E, Vo + ((i + 1) % B) * E, sizeof(float) * E);
    uint8_t k1[B], k2[B];
    int nr = -1, nc = -1;
    float kl = modx_kl_forward_backward(dV, dT, scratch, k1, k2, &nr, &nc, V, T, Vo, To, 5.0f, 1, B, E);
    EXPECT(nr == 0 && nc == 0, "expected every row excluded, kept %d and %d", nr, nc);
    EXPECT(kl == 0.0f, "excluded rows gave KL %.9g", kl);
    for (int k = 0; k < B * E; k++) EXPECT(dV[k] == 0.0f && dT[k] == 0.0f, "gradient %g %g at %d", dV[k], dT[k], k);
    /* The whole Mod-X loss then equals the contrastive loss, bit for bit. */
    ModxLossResult res;
    memset(dV, 0, sizeof dV);
    modx_loss_forward_backward(&res, dV, dT, &dls, scratch, V, T, Vo, To, 2.0f, 5.0f, 1, B, E);
    float con = contrastive_forward_backward(cV, cT, &cls, scratch, V, T, 2.0f, B, E);
    EXPECT(res.loss == con && res.loss_con == con && res.loss_kl == 0.0f, "loss %.9g vs contrastive %.9g", res.loss,
           con);
    EXPECT(!memcmp(dV, cV, sizeof dV) && !memcmp(dT, cT, sizeof dT) && dls == cls, "gradients differ");
    memset(cV, 0, sizeof cV);
    /* Without selection the same batch is distilled. */
    kl = modx_kl_forward_backward(NULL, NULL, scratch, NULL, NULL, &nr, &nc, V, T, Vo, To, 5.0f, 0, B, E);
    EXPECT(nr == B && nc == B && kl > 0.01f, "noselect: kept %d %d, KL %g", nr, nc, kl);
    /* T_old[3] = V_old[3] as well: row 3 of Q now has an exact tie between
     * columns 2 and 3 (T_old[2] = T_old[3]); torch.argmax takes the first, so
     * the row stays excluded while column 3 (row 3 of Q') is kept. Checked on
     * the naive version, whose equal inputs give bit-equal dot products. */
    memcpy(To + 3 * E, Vo + 3 * E, sizeof(float) * E);
    modx_kl_forward_backward_naive(NULL, NULL, k1, k2, V, T, Vo, To, 1.0f, 1, B, E);
    EXPECT(!k1[3] && k2[3], "tie: row 3 kept %d (want 0), column 3 kept %d (want 1)", k1[3], k2[3]);
    /* Break the tie (T_old[2] = −V_old[3]): row 3 is kept in both directions,
     * and the loss is exactly those kept rows' KL. */
    for (int k = 0; k < E; k++) To[2 * E + k] = -Vo[3 * E + k];
    memset(dV, 0, sizeof dV);
    kl = modx_kl_forward_backward(dV, NULL, scratch, k1, k2, &nr, &nc, V, T, Vo, To, 1.0f, 1, B, E);
    uint8_t n1[B], n2[B];
    double want = modx_kl_forward_backward_naive(cV, NULL, n1, n2, V, T, Vo, To, 1.0f, 1, B, E);
    EXPECT(k1[3] && k2[3] && nr >= 1 && nr < B && nc >= 1 && nc < B, "row 3 not kept (kept %d %d)", nr, nc);
    EXPECT(!memcmp(k1, n1, B) && !memcmp(k2, n2, B), "BLAS and naive select different rows");
    EXPECT(fabs(kl - want) < 1e-6, "KL %.9g vs naive %.9g", kl, want);
    EXPECT_CLOSE("dV one kept row, blas vs naive", dV, cV, B * E, 1e-7, 1e-4);
}

TEST(loss_modx_alpha_rule) {
    EXPECT(modx_alpha_for_batch(280) == 20.0f, "alpha(280) = %g", modx_alpha_for_batch(280));
    EXPECT(fabsf(modx_alpha_for_batch(64) - 87.5f) < 1e-5f, "alpha(64) = %g", modx_alpha_for_batch(64));
    EXPECT(fabsf(modx_alpha_for_batch(1) * 1 - 5600.0f) < 1e-2f, "alpha(1) = %g", modx_alpha_for_batch(1));
}

TEST(loss_deterministic_bitwise) {
    enum { B = 33, E = 17 };
    static float V[B * E], T[B * E], Vo[B * E], To[B * E], d1[2][B * E], d2[2][B * E], s1[2 * B * B + 6 * B];
    Rng r;
    rng_seed(&r, 77);
    rand_unit_rows(&r, V, B, E);
    noisy_copy(&r, T, V, B, E, 0.7);
    mixed_old_features(&r, Vo, To, V, B, E);
    ModxLossResult a, b;
    float la = 0.0f, lb = 0.0f;
    memset(d1, 0, sizeof d1);
    memset(d2, 0, sizeof d2);
    modx_loss_forward_backward(&a, d1[0], d1[1], &la, s1, V, T, Vo, To, 2.9f, 4.0f, 1, B, E);
    modx_loss_forward_backward(&b, d2[0], d2[1], &lb, s1, V, T, Vo, To, 2.9f, 4.0f, 1, B, E);
    EXPECT(!memcmp(&a, &b, sizeof a) && la == lb && !memcmp(d1, d2, sizeof d1), "two identical calls differ");
}

/* ---- PyTorch references (tools/gen_loss_ref.py) ---- */

/* Reads an F32 tensor of shape (d0, d1), (d0) or () — ndim 2, 1, 0. */
static ModxStatus rd(const SafeTensors *st, const char *name, int ndim, int64_t d0, int64_t d1, float *out) {
    const int64_t shape[2] = {d0, d1};
    return safetensors_read_f32(st, name, ndim, shape, out);
}

/* On failure: report the reader's message, close the file, end the case. */
#define ST(call)                                                           \
    do {                                                                   \
        if ((call) != MODX_OK) {                                           \
            harness_fail(__FILE__, __LINE__, "%s", modx_last_error());     \
            safetensors_close(st);                                         \
            return;                                                        \
        }                                                                  \
    } while (0)

TEST(loss_contrastive_matches_pytorch) {
    enum { B = 8, E = 16 };
    SafeTensors *st = NULL;
    float V[B * E], T[B * E], wdV[B * E], wdT[B * E], ls, wloss, wdls, scratch[B * B + 3 * B];
    float dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f;
    ST(safetensors_open(&st, "tests/fixtures/loss_contrastive.safetensors"));
    ST(rd(st, "V", 2, B, E, V));
    ST(rd(st, "T", 2, B, E, T));
    ST(rd(st, "logit_scale", 0, 0, 0, &ls));
    ST(rd(st, "loss", 0, 0, 0, &wloss));
    ST(rd(st, "dV", 2, B, E, wdV));
    ST(rd(st, "dT", 2, B, E, wdT));
    ST(rd(st, "dlogit_scale", 0, 0, 0, &wdls));
    safetensors_close(st);
    float loss = contrastive_forward_backward(dV, dT, &dls, scratch, V, T, ls, B, E);
    EXPECT(fabsf(loss - wloss) <= 1e-5f * fabsf(wloss), "loss %.9g, torch %.9g", loss, wloss);
    EXPECT(fabsf(dls - wdls) <= 1e-4f * fabsf(wdls), "dlogit_scale %.9g, torch %.9g", dls, wdls);
    EXPECT_CLOSE("dV vs torch", dV, wdV, B * E, 0, 1e-4);
    EXPECT_CLOSE("dT vs torch", dT, wdT, B * E, 0, 1e-4);
    printf("    vs torch: loss rel %.2g, dV %.2g, dT %.2g, dlogit_scale %.2g\n", fabs(loss - wloss) / fabs(wloss),
           rel_err(dV, wdV, B * E), rel_err(dT, wdT, B * E), fabs(dls - wdls) / fabs(wdls));
}

static void check_modx_fixture(const char *prefix, int select) {
    enum { B = 8, E = 16 };
    SafeTensors *st = NULL;
    float V[B * E], T[B * E], Vo[B * E], To[B * E], wdV[B * E], wdT[B * E], ls, alpha, wloss, wkl, wcon, wdls;
    float dV[B * E] = {0}, dT[B * E] = {0}, dls = 0.0f, scratch[2 * B * B + 6 * B];
    int32_t keep[2][B];
    char name[64];
    ST(safetensors_open(&st, "tests/fixtures/loss_modx.safetensors"));
    ST(rd(st, "V", 2, B, E, V));
    ST(rd(st, "T", 2, B, E, T));
    ST(rd(st, "V_old", 2, B, E, Vo));
    ST(rd(st, "T_old", 2, B, E, To));
    ST(rd(st, "logit_scale", 0, 0, 0, &ls));
    ST(rd(st, "alpha", 0, 0, 0, &alpha));
    ST(rd(st, "loss_con", 0, 0, 0, &wcon));
    ST(safetensors_read_i32(st, "keep_i2t", 1, (const int64_t[]){B}, keep[0]));
    ST(safetensors_read_i32(st, "keep_t2i", 1, (const int64_t[]){B}, keep[1]));
#define GET(nm, nd, out) snprintf(name, sizeof name, "%s%s", prefix, nm); ST(rd(st, name, nd, B, E, out))
    GET("loss", 0, &wloss);
    GET("loss_kl", 0, &wkl);
    GET("dV", 2, wdV);
    GET("dT", 2, wdT);
    GET("dlogit_scale", 0, &wdls);
#undef GET
    safetensors_close(st);
    ModxLossResult res;
    modx_loss_forward_backward(&res, dV, dT, &dls, scratch, V, T, Vo, To, ls, alpha, select, B, E);
    uint8_t k1[B], k2[B];
    int nr, nc, wr = 0, wc = 0;
    modx_kl_forward_backward(NULL, NULL, scratch, k1, k2, &nr, &nc, V, T, Vo, To, alpha, 1, B, E);
    for (int i = 0; i < B; i++) {
        EXPECT(k1[i] == keep[0][i] && k2[i] == keep[1][i], "row %d: kept %d/%d, torch %d/%d", i, k1[i], k2[i],
               (int)keep[0][i], (int)keep[1][i]);
        wr += (int)keep[0][i], wc += (int)keep[1][i];
    }
    EXPECT(wr > 0 && wr < B && wc > 0 && wc < B, "fixture should mix kept and excluded rows (%d, %d)", wr, wc);
    EXPECT(select ? (res.selected_i2t == wr && res.selected_t2i == wc)
                  : (res.selected_i2t == B && res.selected_t2i == B),
           "selected %d %d", res.selected_i2t, res.selected_t2i);
    EXPECT(fabsf(res.loss - wloss) <= 1e-5f * fabsf(wloss), "%sloss %.9g, torch %.9g", prefix, res.loss, wloss);
    EXPECT(fabsf(res.loss_con - wcon) <= 1e-5f * fabsf(wcon), "loss_con %.9g, torch %.9g", res.loss_con, wcon);
    EXPECT(fabsf(res.loss_kl - wkl) <= 1e-5f * fabsf(wkl), "%sloss_kl %.9g, torch %.9g", prefix, res.loss_kl, wkl);
    EXPECT(fabsf(dls - wdls) <= 1e-4f * fabsf(wdls), "dlogit_scale %.9g, torch %.9g", dls, wdls);
    EXPECT_CLOSE("dV vs torch", dV, wdV, B * E, 0, 1e-4);
    EXPECT_CLOSE("dT vs torch", dT, wdT, B * E, 0, 1e-4);
    printf("    vs torch (kept %d/%d i2t, %d/%d t2i): loss rel %.2g, loss_kl %.2g, dV %.2g, dT %.2g, dls %.2g\n",
           res.selected_i2t, B, res.selected_t2i, B, fabs(res.loss - wloss) / fabs(wloss),
           fabs(res.loss_kl - wkl) / fabs(wkl), rel_err(dV, wdV, B * E), rel_err(dT, wdT, B * E),
           fabs(dls - wdls) / fabs(wdls));
}

TEST(loss_modx_matches_pytorch) { check_modx_fixture("", 1); }
TEST(loss_modx_noselect_matches_pytorch) { check_modx_fixture("noselect.", 0); }

/* The whole-model reference (tools/gen_clip_ref.py) stores the features its
 * losses saw: our losses must reproduce its loss values and row selection. */
TEST(loss_clip_micro_features_reproduce_losses) {
    enum { B = 6, E = 16 };
    SafeTensors *st = NULL;
    float V[B * E], T[B * E], Vo[B * E], To[B * E], ls, alpha, w[6], scratch[2 * B * B + 6 * B];
    int32_t keep[2][B];
    ST(safetensors_open(&st, "tests/fixtures/clip_micro_ckpt.safetensors"));
    ST(rd(st, "logit_scale", 0, 0, 0, &ls));
    safetensors_close(st);
    st = NULL;
    ST(safetensors_open(&st, "tests/fixtures/clip_micro_expected.safetensors"));
    ST(rd(st, "image_features", 2, B, E, V));
    ST(rd(st, "text_features", 2, B, E, T));
    ST(rd(st, "old_image_features", 2, B, E, Vo));
    ST(rd(st, "old_text_features", 2, B, E, To));
    ST(rd(st, "modx.alpha", 0, 0, 0, &alpha));
    ST(rd(st, "contrastive.loss", 0, 0, 0, &w[0]));
    ST(rd(st, "modx.loss", 0, 0, 0, &w[1]));
    ST(rd(st, "modx.loss_con", 0, 0, 0, &w[2]));
    ST(rd(st, "modx.loss_kl", 0, 0, 0, &w[3]));
    ST(safetensors_read_i32(st, "modx.keep_i2t", 1, (const int64_t[]){B}, keep[0]));
    ST(safetensors_read_i32(st, "modx.keep_t2i", 1, (const int64_t[]){B}, keep[1]));
    safetensors_close(st);
    float con = contrastive_forward_backward(NULL, NULL, NULL, scratch, V, T, ls, B, E);
    ModxLossResult res;
    modx_loss_forward_backward(&res, NULL, NULL, NULL, scratch, V, T, Vo, To, ls, alpha, 1, B, E);
    uint8_t k1[B], k2[B];
    modx_kl_forward_backward(NULL, NULL, scratch, k1, k2, NULL, NULL, V, T, Vo, To, alpha, 1, B, E);
    for (int i = 0; i < B; i++)
        EXPECT(k1[i] == keep[0][i] && k2[i] == keep[1][i], "row %d: kept %d/%d, torch %d/%d", i, k1[i], k2[i],
               (int)keep[0][i], (int)keep[1][i]);
    EXPECT(fabsf(con - w[0]) <= 1e-5f * w[0], "contrastive %.9g, torch %.9g", con, w[0]);
    EXPECT(fabsf(res.loss - w[1]) <= 1e-5f * w[1], "modx loss %.9g, torch %.9g", res.loss, w[1]);
    EXPECT(fabsf(res.loss_con - w[2]) <= 1e-5f * w[2], "modx loss_con %.9g, torch %.9g", res.loss_con, w[2]);
    EXPECT(fabsf(res.loss_kl - w[3]) <= 1e-5f * w[3], "modx loss_kl %.9g, torch %.9g", res.loss_kl, w[3]);
}
