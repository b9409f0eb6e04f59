/* AdamW, the warmup + cosine schedule, clipping, the logit_scale clamp and the
 * finiteness checks; the 5-step trajectory of tools/gen_adamw_ref.py. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "io/safetensors.h"
#include "train/optim.h"
#include "train/schedule.h"

/* Flat layout of the fixture: w1 (4,3) | b1 (3) | w2 (2,5) | logit_scale () */
#define NPARAM 26
static const OptimSegment FIX_SEGS[] = {
    {"w1", 0, 12, 1}, {"b1", 12, 3, 0}, {"w2", 15, 10, 1}, {"logit_scale", 25, 1, 0}};
static const char *FIX_NAMES[] = {"w1", "b1", "w2", "logit_scale"};

/* Shapes of the fixture tensors, in the order of FIX_SEGS. */
static const int FIX_NDIM[] = {2, 1, 2, 0};
static const int64_t FIX_SHAPE[][2] = {{4, 3}, {3, 0}, {2, 5}, {0, 0}};

#define ST(call)                                                       \
    do {                                                               \
        if ((call) != MODX_OK) {                                       \
            harness_fail(__FILE__, __LINE__, "%s", modx_last_error()); \
            goto done;                                                 \
        }                                                              \
    } while (0)

/* Reads <prefix>.<name> for the four parameters into the flat layout. */
static ModxStatus read_flat(const SafeTensors *st, const char *prefix, float *out) {
    char name[64];
    for (int s = 0; s < 4; s++) {
        snprintf(name, sizeof name, "%s.%s", prefix, FIX_NAMES[s]);
        MODX_TRY(safetensors_read_f32(st, name, FIX_NDIM[s], FIX_SHAPE[s], out + FIX_SEGS[s].offset));
    }
    return MODX_OK;
}

static void run_fixture(const char *run, int clip) {
    SafeTensors *st = NULL;
    AdamW opt = {0};
    float params[NPARAM], grads[NPARAM], want[NPARAM], lr_want[5], hyper[5], norms[5];
    char name[64];
    ST(safetensors_open(&st, "tests/fixtures/adamw_5steps.safetensors"));
    ST(read_flat(st, "init", params));
    ST(safetensors_read_f32(st, "lr", 1, (const int64_t[]){5}, lr_want));
    ST(safetensors_read_f32(st, "hyper", 1, (const int64_t[]){5}, hyper));
    snprintf(name, sizeof name, "%s.grad_norm", run);
    ST(safetensors_read_f32(st, name, 1, (const int64_t[]){5}, norms));
    AdamWConfig cfg = adamw_default_config();
    cfg.weight_decay = hyper[3];
    cfg.grad_clip = clip ? hyper[4] : 0.0;
    ST(adamw_init(&opt, &cfg, NPARAM, FIX_SEGS, 4));
    ST(adamw_set_clamp(&opt, 25, 0.0f, OPTIM_LOGIT_SCALE_MAX));
    double worst = 0.0;
    for (int k = 0; k < 5; k++) {
        double lr = schedule_cosine_lr(hyper[0], k, (int64_t)hyper[1], (int64_t)hyper[2]);
        if (fabs(lr - lr_want[k]) > 1e-7 * lr_want[k]) {
            harness_fail(__FILE__, __LINE__, "step %d: lr %.9g, torch LambdaLR %.9g", k, lr, lr_want[k]);
            break;
        }
        snprintf(name, sizeof name, "grad%d", k);
        ST(read_flat(st, name, grads));
        double gn = 0.0;
        if (adamw_step(&opt, params, grads, lr, &gn) != MODX_OK) {
            harness_fail(__FILE__, __LINE__, "step %d: %s", k, modx_last_error());
            break;
        }
        if (fabs(gn - norms[k]) > 1e-6 * norms[k]) {
            harness_fail(__FILE__, __LINE__, "step %d: grad norm %.9g, torch %.9g", k, gn, norms[k]);
            break;
        }
        snprintf(name, sizeof name, "%s.step%d", run, k);
        ST(read_flat(st, name, want));
        for (int s = 0; s < 4; s++) {
            const OptimSegment *sg = &FIX_SEGS[s];
            double mx = 0.0, d = 0.0;
            for (size_t i = 0; i < sg->count; i++) {
                mx = fmax(mx, fabs(want[sg->offset + i]));
                d = fmax(d, fabs((double)params[sg->offset + i] - want[sg->offset + i]));
            }
            worst = fmax(worst, d / mx);
        }
        snprintf(name, sizeof name, "%s step %d params", run, k);
        if (!harness_close_f32(__FILE__, __LINE__, name, params, want, NPARAM, 0, 1e-5)) break;
        if (k >= 1 && params[25] != OPTIM_LOGIT_SCALE_MAX) {
            harness_fail(__FILE__, __LINE__, "step %d: logit_scale %.9g, the clamp should hold it at ln 100", k,
                         params[25]);
            break;
        }
    }
    if (opt.step == 5) printf("    %s: max error over 5 steps %.3g of each tensor's max|value|\n", run, worst);
    else harness_fail(__FILE__, __LINE__, "%s: stopped after %lld steps", run, (long long)opt.step);
done:
    safetensors_close(st);
    adamw_free(&opt);
}

TEST(optim_adamw_matches_pytorch) { run_fixture("noclip", 0); }
TEST(optim_adamw_clipped_matches_pytorch) { run_fixture("clip", 1); }

TEST(optim_schedule_formulas) {
    /* warmup: base·(step+1)/warmup; then 0.5·(1+cos(π·e/es))·base */
    EXPECT(schedule_cosine_lr(0.5, 0, 4, 12) == 0.5 * 1 / 4, "step 0");
    EXPECT(schedule_cosine_lr(0.5, 3, 4, 12) == 0.5, "last warmup step");
    EXPECT(schedule_cosine_lr(0.5, 4, 4, 12) == 0.5, "first cosine step");
    EXPECT(fabs(schedule_cosine_lr(0.5, 8, 4, 12) - 0.25) < 1e-15, "cosine midpoint %.17g",
           schedule_cosine_lr(0.5, 8, 4, 12));
    EXPECT(fabs(schedule_cosine_lr(0.5, 6, 4, 12) - 0.25 * (1 + cos(M_PI / 4))) < 1e-15, "cosine quarter");
    EXPECT(schedule_cosine_lr(0.5, 12, 4, 12) == 0.0 && schedule_cosine_lr(0.5, 40, 4, 12) == 0.0, "after total");
    EXPECT(schedule_cosine_lr(0.5, 0, 0, 10) == 0.5, "no warmup starts at base");
    EXPECT(fabs(schedule_cosine_lr(0.5, 5, 10, 10) - 0.3) < 1e-15, "all warmup");
    double prev = 1.0;
    for (int s = 4; s < 12; s++) {
        double lr = schedule_cosine_lr(0.5, s, 4, 12);
        EXPECT(lr <= prev && lr > 0.0, "not decreasing at %d", s);
        prev = lr;
    }
}

TEST(optim_nonfinite_gradient_names_step) {
    AdamW opt;
    AdamWConfig cfg = adamw_default_config();
    float p[NPARAM], g[NPARAM], before[NPARAM];
    for (int i = 0; i < NPARAM; i++) p[i] = 0.1f * (float)i, g[i] = 0.01f * (float)(i % 5 - 2);
    EXPECT(adamw_init(&opt, &cfg, NPARAM, FIX_SEGS, 4) == MODX_OK, "init");
    EXPECT(adamw_step(&opt, p, g, 1e-3, NULL) == MODX_OK, "finite step failed: %s", modx_last_error());
    memcpy(before, p, sizeof p);
    float m0 = opt.m[13];
    g[14] = NAN;
    double gn = 0.0;
    ModxStatus st = adamw_step(&opt, p, g, 1e-3, &gn);
    const char *msg = modx_last_error();
    int ok = st == MODX_ERR_NUMERIC && strstr(msg, "step 1") && strstr(msg, "'b1'") && strstr(msg, "element 2") &&
             isnan(gn) && opt.step == 1 && !memcmp(p, before, sizeof p) && opt.m[13] == m0;
    g[14] = 0.0f;
    g[3] = -INFINITY;
    ModxStatus st2 = adamw_step(&opt, p, g, 1e-3, NULL);
    int ok2 = st2 == MODX_ERR_NUMERIC && strstr(modx_last_error(), "'w1'") != NULL;
    adamw_free(&opt);
    EXPECT(ok, "status %s, message '%s', step %lld", modx_status_name(st), msg, (long long)opt.step);
    EXPECT(ok2, "inf gradient: status %s, message '%s'", modx_status_name(st2), modx_last_error());
}

TEST(optim_check_finite_loss_and_norm) {
    EXPECT(optim_check_finite(1.5, 2.0, 3) == MODX_OK, "finite values rejected");
    EXPECT(optim_check_finite(NAN, 2.0, 12) == MODX_ERR_NUMERIC && strstr(modx_last_error(), "step 12: loss"),
           "NaN loss: '%s'", modx_last_error());
    EXPECT(optim_check_finite(1.0, INFINITY, 7) == MODX_ERR_NUMERIC &&
               strstr(modx_last_error(), "step 7: gradient norm"),
           "inf norm: '%s'", modx_last_error());
    EXPECT(optim_check_finite(-INFINITY, 1.0, 0) == MODX_ERR_NUMERIC, "-inf loss accepted");
}

TEST(optim_clamp_bites_both_ends) {
    AdamW opt;
    AdamWConfig cfg = adamw_default_config();
    OptimSegment segs[] = {{"logit_scale", 0, 1, 0}, {"x", 1, 1, 0}};
    float p[2] = {4.6f, 0.0005f}, g[2] = {-3.0f, 0.0f};
    EXPECT(adamw_init(&opt, &cfg, 2, segs, 2) == MODX_OK, "init");
    EXPECT(adamw_set_clamp(&opt, 0, 0.0f, OPTIM_LOGIT_SCALE_MAX) == MODX_OK, "clamp");
    EXPECT(adamw_step(&opt, p, g, 0.1, NULL) == MODX_OK, "step");
    int top = p[0] == OPTIM_LOGIT_SCALE_MAX;
    p[0] = 0.01f;
    g[0] = 5.0f;
    EXPECT(adamw_step(&opt, p, g, 0.1, NULL) == MODX_OK, "step");
    int bottom = p[0] == 0.0f;
    EXPECT(adamw_set_clamp(&opt, 2, 0.0f, 1.0f) == MODX_ERR_INVALID, "clamp offset past the buffer accepted");
    adamw_free(&opt);
    EXPECT(top, "upper clamp did not bite");
    EXPECT(bottom, "lower clamp did not bite");
    EXPECT(fabsf(OPTIM_LOGIT_SCALE_MAX - logf(100.0f)) < 1e-6f, "ln 100 constant");
}

TEST(optim_bad_segments_rejected) {
    AdamW opt;
    AdamWConfig cfg = adamw_default_config();
    OptimSegment outside[] = {{"a", 0, 4, 1}, {"b", 4, 7, 0}};
    OptimSegment overlap[] = {{"a", 0, 5, 1}, {"b", 4, 2, 0}};
    EXPECT(adamw_init(&opt, &cfg, 10, outside, 2) == MODX_ERR_INVALID && strstr(modx_last_error(), "'b'"),
           "segment outside the buffer: '%s'", modx_last_error());
    EXPECT(adamw_init(&opt, &cfg, 10, overlap, 2) == MODX_ERR_INVALID && strstr(modx_last_error(), "overlaps"),
           "overlap: '%s'", modx_last_error());
    cfg.beta2 = 1.0;
    EXPECT(adamw_init(&opt, &cfg, 10, overlap, 1) == MODX_ERR_INVALID, "beta2 = 1 accepted");
    adamw_free(&opt);
}

/* Floats outside every segment are never touched; weight decay only where flagged. */
TEST(optim_segments_and_decay_flags) {
    AdamW opt;
    AdamWConfig cfg = adamw_default_config();
    cfg.weight_decay = 0.5;
    OptimSegment segs[] = {{"dec", 0, 2, 1}, {"nodec", 3, 2, 0}};
    float p[6] = {1, 1, 7, 1, 1, 9}, g[6] = {0, 0, 3, 0, 0, 3};
    EXPECT(adamw_init(&opt, &cfg, 6, segs, 2) == MODX_OK, "init");
    EXPECT(adamw_step(&opt, p, g, 0.1, NULL) == MODX_OK, "step");
    adamw_free(&opt);
    EXPECT(p[2] == 7.0f && p[5] == 9.0f, "floats outside the segments changed: %g %g", p[2], p[5]);
    EXPECT(p[0] == (float)(1.0 * (1.0 - 0.1 * 0.5)) && p[3] == 1.0f, "decay: %.9g (want 0.95), %.9g (want 1)", p[0],
           p[3]);
}

/* Same inputs give bit-identical results whatever the thread count, and
 * saving (m, v, step) then restoring continues the exact same trajectory. */
TEST(optim_deterministic_and_resumable) {
    enum { N = 20000, STEPS = 4 };
    OptimSegment segs[] = {{"a", 0, 9000, 1}, {"b", 9000, 11000, 0}};
    AdamWConfig cfg = adamw_default_config();
    cfg.grad_clip = 5.0;
    float *p1 = malloc(N * sizeof *p1), *p2 = malloc(N * sizeof *p2), *g = malloc(STEPS * (size_t)N * sizeof *g),
          *gw = malloc(N * sizeof *gw);
    Rng r;
    rng_seed(&r, 4);
    for (int i = 0; i < N; i++) p1[i] = p2[i] = (float)rng_normal(&r);
    for (size_t i = 0; i < (size_t)STEPS * N; i++) g[i] = (float)rng_normal(&r) * 0.1f;
    AdamW a, b, c;
    adamw_init(&a, &cfg, N, segs, 2);
    adamw_init(&b, &cfg, N, segs, 2);
    int threads = omp_get_max_threads();
    double na = 0, nb = 0;
    int same = 1;
    for (int s = 0; s < STEPS; s++) {
        omp_set_num_threads(1);
        memcpy(gw, g + (size_t)s * N, N * sizeof *gw);
        adamw_step(&a, p1, gw, 1e-2, &na);
        omp_set_num_threads(threads > 1 ? threads : 3);
        memcpy(gw, g + (size_t)s * N, N * sizeof *gw);
        adamw_step(&b, p2, gw, 1e-2, &nb);
        same = same && na == nb;
        if (s == 1) { /* checkpoint b's state into c */
            adamw_init(&c, &cfg, N, segs, 2);
            memcpy(c.m, b.m, N * sizeof(float));
            memcpy(c.v, b.v, N * sizeof(float));
            c.step = b.step;
        }
    }
    omp_set_num_threads(threads);
    same = same && !memcmp(p1, p2, N * sizeof *p1) && !memcmp(a.m, b.m, N * sizeof(float)) &&
           !memcmp(a.v, b.v, N * sizeof(float));
    /* Resume: params after step 1 (recomputed from scratch) + c's saved
     * state, then steps 2 and 3 — must land exactly where a and b did. */
    float *p3 = malloc(N * sizeof *p3);
    AdamW d;
    adamw_init(&d, &cfg, N, segs, 2);
    Rng r2;
    rng_seed(&r2, 4);
    for (int i = 0; i < N; i++) p3[i] = (float)rng_normal(&r2);
    for (int s = 0; s < 2; s++) {
        memcpy(gw, g + (size_t)s * N, N * sizeof *gw);
        adamw_step(&d, p3, gw, 1e-2, NULL);
    }
    adamw_free(&d);
    for (int s = 2; s < STEPS; s++) {
        memcpy(gw, g + (size_t)s * N, N * sizeof *gw);
        adamw_step(&c, p3, gw, 1e-2, NULL);
    }
    int resumed = !memcmp(p3, p1, N * sizeof *p1) && c.step == STEPS;
    adamw_free(&a), adamw_free(&b), adamw_free(&c);
    free(p1), free(p2), free(p3), free(g), free(gw);
    EXPECT(same, "1 thread and %d threads gave different results", threads > 1 ? threads : 3);
    EXPECT(resumed, "resuming from saved (m, v, step) diverged");
}
