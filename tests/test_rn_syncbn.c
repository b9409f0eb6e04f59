/* Synchronised BatchNorm (nn/batchnorm.h, clip/resnet.h): a batch split into
 * slices, each run by its own thread as a data-parallel job runs it by its own
 * rank, with the exchange simulated in memory (the same all-gather contract as
 * core/dist.c, no MPI), computes what one process computes with the whole
 * batch: BatchNorm forward and backward on uneven slices, and the whole
 * ModifiedResNet tower (configs/rn-tiny.json) on two half batches — outputs,
 * the summed parameter gradients and the running statistics, which every slice
 * ends with bit-identical. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "clip/resnet.h"
#include "gradcheck.h"
#include "harness.h"
#include "nn/batchnorm.h"

#define MAX_SLICES 4

/* The all-gather of a job of `nslices` ranks, simulated by threads. */
typedef struct {
    pthread_barrier_t bar;
    double *shared;
    int nslices, calls;
} Exchange;

typedef struct {
    Exchange *x;
    int slice;
} SliceLink;

static ModxStatus sim_gather(void *ctx, double *buf, size_t count) {
    SliceLink *s = ctx;
    Exchange *x = s->x;
    memcpy(x->shared + (size_t)s->slice * count, buf + (size_t)s->slice * count, count * sizeof(double));
    pthread_barrier_wait(&x->bar);
    memcpy(buf, x->shared, (size_t)x->nslices * count * sizeof(double));
    if (s->slice == 0) x->calls++;
    pthread_barrier_wait(&x->bar); /* nobody overwrites the exchange before all have read it */
    return MODX_OK;
}

static void exchange_init(Exchange *x, int nslices, size_t slot) {
    x->nslices = nslices, x->calls = 0;
    x->shared = calloc((size_t)nslices * slot, sizeof(double));
    CHECK(x->shared && !pthread_barrier_init(&x->bar, NULL, (unsigned)nslices), "exchange");
}

static void exchange_free(Exchange *x) {
    pthread_barrier_destroy(&x->bar);
    free(x->shared);
}

static float *randn(size_t n, float std, uint64_t seed) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    gradcheck_randn(p, n, std, seed);
    return p;
}

static float *copy_of(const float *p, size_t n) {
    float *q = malloc(n * sizeof(float));
    memcpy(q, p, n * sizeof(float));
    return q;
}

static double max_abs(const float *p, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(p[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* ---------------- BatchNorm on uneven slices ---------------- */

typedef struct {
    SliceLink link;
    BatchnormSync sync;
    int B, C, HW, training;
    const float *x, *dy, *w, *b;
    float *y, *dx, *mean, *rstd, *rm, *rv, *dw, *db;
    ModxStatus st;
} BnSlice;

static void *bn_slice_run(void *p) {
    BnSlice *s = p;
    s->st = batchnorm_forward_sync(s->y, s->mean, s->rstd, s->rm, s->rv, s->x, s->w, s->b, s->B, s->C, s->HW,
                                   s->training, &s->sync);
    if (s->st == MODX_OK)
        s->st = batchnorm_backward_sync(s->dx, s->dw, s->db, s->dy, s->x, s->mean, s->rstd, s->w, s->B, s->C, s->HW,
                                        s->training, &s->sync);
    return NULL;
}

/* Slices of rows split[0], split[1], … of a batch of B (NCHW: rows are contiguous). */
static void bn_case(int B, int C, int HW, const int *split, int R, int training, uint64_t seed) {
    size_t n = (size_t)B * C * HW, row = (size_t)C * HW;
    float *x = randn(n, 2, seed), *dy = randn(n, 1, seed + 1), *w = randn(C, 1, seed + 2), *b = randn(C, 1, seed + 3);
    for (size_t i = 0; i < n; i++) x[i] += 3.0f; /* a mean far from 0: centred sums matter */
    float *rm = randn(C, 0.5f, seed + 4), *rv = randn(C, 0.1f, seed + 5);
    for (int c = 0; c < C; c++) rv[c] = 1.0f + fabsf(rv[c]);
    /* one process, the whole batch */
    float *y = calloc(n, sizeof(float)), *dx = calloc(n, sizeof(float)), *mean = calloc(C, sizeof(float));
    float *rstd = calloc(C, sizeof(float)), *dw = calloc(C, sizeof(float)), *db = calloc(C, sizeof(float));
    float *rm1 = copy_of(rm, C), *rv1 = copy_of(rv, C);
    batchnorm_forward(y, mean, rstd, rm1, rv1, x, w, b, B, C, HW, training);
    batchnorm_backward(dx, dw, db, dy, x, mean, rstd, w, B, C, HW, training);
    /* R slices */
    Exchange ex;
    exchange_init(&ex, R, batchnorm_sync_slot(C));
    BnSlice s[MAX_SLICES];
    pthread_t th[MAX_SLICES];
    float *ys = calloc(n, sizeof(float)), *dxs = calloc(n, sizeof(float));
    float *dws = calloc(C, sizeof(float)), *dbs = calloc(C, sizeof(float));
    for (int r = 0, lo = 0; r < R; lo += split[r], r++) {
        s[r] = (BnSlice){.link = {&ex, r}, .B = split[r], .C = C, .HW = HW, .training = training,
                         .x = x + lo * row, .dy = dy + lo * row, .w = w, .b = b, .y = ys + lo * row,
                         .dx = dxs + lo * row, .mean = calloc(C, sizeof(float)), .rstd = calloc(C, sizeof(float)),
                         .rm = copy_of(rm, C), .rv = copy_of(rv, C), .dw = calloc(C, sizeof(float)),
                         .db = calloc(C, sizeof(float))};
        s[r].sync = (BatchnormSync){sim_gather, &s[r].link, r, R,
                                    calloc((size_t)R * batchnorm_sync_slot(C), sizeof(double))};
    }
    for (int r = 0; r < R; r++) CHECK(!pthread_create(&th[r], NULL, bn_slice_run, &s[r]), "thread");
    for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
    for (int r = 0; r < R; r++) /* the gradient sum over ranks, in rank order */
        for (int c = 0; c < C; c++) dws[c] += s[r].dw[c], dbs[c] += s[r].db[c];
    char what[96];
    snprintf(what, sizeof what, "B %d C %d HW %d, %d slices, %s", B, C, HW, R, training ? "train" : "eval");
    printf("    %-40s y %.1e dx %.1e dw %.1e (largest abs differences)\n", what, max_diff(ys, y, n),
           max_diff(dxs, dx, n), max_diff(dws, dw, C));
    EXPECT(ex.calls == (training ? 2 : 0), "%s: %d exchanges, want %d", what, ex.calls, training ? 2 : 0);
    EXPECT_CLOSE("synced BN output", ys, y, n, 1e-6, 1e-6);
    EXPECT_CLOSE("synced BN dinp", dxs, dx, n, 1e-6, 1e-5);
    EXPECT_CLOSE("synced BN dweight (sum over slices)", dws, dw, C, 1e-5, 1e-5);
    EXPECT_CLOSE("synced BN dbias (sum over slices)", dbs, db, C, 1e-5, 1e-5);
    for (int r = 0; r < R; r++) {
        EXPECT(s[r].st == MODX_OK, "slice %d failed", r);
        EXPECT_CLOSE("synced BN mean", s[r].mean, mean, C, 1e-6, 1e-6);
        EXPECT_CLOSE("synced BN rstd", s[r].rstd, rstd, C, 1e-6, 1e-6);
        EXPECT_CLOSE("synced BN running mean", s[r].rm, rm1, C, 1e-6, 1e-6);
        EXPECT_CLOSE("synced BN running var", s[r].rv, rv1, C, 1e-6, 1e-6);
        EXPECT(!memcmp(s[r].rm, s[0].rm, C * sizeof(float)) && !memcmp(s[r].rv, s[0].rv, C * sizeof(float)),
               "%s: slice %d's running statistics differ from slice 0's", what, r);
    }
    for (int r = 0; r < R; r++) {
        free(s[r].mean), free(s[r].rstd), free(s[r].rm), free(s[r].rv), free(s[r].dw), free(s[r].db);
        free(s[r].sync.buf);
    }
    exchange_free(&ex);
    free(x), free(dy), free(w), free(b), free(rm), free(rv), free(y), free(dx), free(mean), free(rstd), free(dw);
    free(db), free(rm1), free(rv1), free(ys), free(dxs), free(dws), free(dbs);
}

TEST(rn_syncbn_slices_equal_whole_batch) {
    static const int two[] = {2, 2}, three[] = {2, 1, 2}, ones[] = {1, 1, 1, 1}, lop[] = {3, 1};
    bn_case(4, 3, 5, two, 2, 1, 1);
    bn_case(5, 6, 4, three, 3, 1, 11);
    bn_case(4, 5, 1, ones, 4, 1, 21); /* HW 1: a 1×1 map, one value per image and channel */
    bn_case(4, 2, 9, lop, 2, 1, 31);
    bn_case(4, 3, 5, two, 2, 0, 41); /* eval mode: running statistics, no exchange */
}

/* ---------------- the ResNet tower on two half batches ---------------- */

typedef struct {
    SliceLink link;
    ClipModel *m;
    ResnetActs *a;
    ResnetWeights w, g;
    float *grads, *out;
    const float *images, *dout;
    int B;
} RnSlice;

static void *rn_slice_run(void *p) {
    RnSlice *s = p;
    resnet_forward(s->out, &s->w, s->a, s->images, s->B, 1);
    resnet_backward(&s->g, &s->w, s->a, s->dout);
    return NULL;
}

static void rn_slice_init(RnSlice *s, const ClipModel *src, int B, const float *images, const float *dout) {
    memset(s, 0, sizeof *s);
    CHECK(clip_model_clone(&s->m, src) == MODX_OK, "%s", modx_last_error());
    CHECK(resnet_acts_new(&s->a, &src->cfg, B, 1) == MODX_OK, "%s", modx_last_error());
    s->grads = calloc(src->table.total, sizeof(float));
    s->out = calloc((size_t)B * src->cfg.embed_dim, sizeof(float));
    resnet_bind(&s->w, &s->m->cfg, &s->m->table, s->m->params, s->m->state);
    resnet_bind(&s->g, &s->m->cfg, &s->m->table, s->grads, NULL);
    s->images = images, s->dout = dout, s->B = B;
}

static void rn_slice_free(RnSlice *s) {
    resnet_acts_free(s->a);
    clip_model_free(s->m);
    free(s->grads), free(s->out);
}

TEST(rn_syncbn_tower_two_halves_equal_whole_batch) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    CHECK(clip_config_load(&cfg, "configs/rn-tiny.json") == MODX_OK && clip_model_new(&m, &cfg) == MODX_OK, "%s",
          modx_last_error());
    clip_model_init(m, 5);
    for (int i = 0; i < m->table.count; i++) { /* every gain and bias away from its init (bn3 gains are 0) */
        const ParamInfo *p = &m->table.items[i];
        if (p->init == PARAM_INIT_CONST && p->ndim == 1)
            for (size_t k = 0; k < p->numel; k++) m->params[p->offset + k] += 0.3f * sinf((float)(k + 3 * i) + 1.0f);
    }
    const int B = 4, S = cfg.vision.image_size, E = cfg.embed_dim, R = 2, nb = B / R;
    size_t P = m->table.total, Z = m->table.state_total, img = (size_t)3 * S * S;
    float *images = randn((size_t)B * img, 1, 7), *dout = randn((size_t)B * E, 1, 8);
    RnSlice one, s[2];
    rn_slice_init(&one, m, B, images, dout);
    rn_slice_run(&one);
    Exchange ex;
    exchange_init(&ex, R, batchnorm_sync_slot(32 * cfg.vision.width));
    pthread_t th[2];
    for (int r = 0; r < R; r++) {
        rn_slice_init(&s[r], m, nb, images + (size_t)r * nb * img, dout + (size_t)r * nb * E);
        s[r].link = (SliceLink){&ex, r};
        CHECK(resnet_acts_set_bn_sync(s[r].a, sim_gather, &s[r].link, r, R) == MODX_OK, "%s", modx_last_error());
    }
    for (int r = 0; r < R; r++) CHECK(!pthread_create(&th[r], NULL, rn_slice_run, &s[r]), "thread");
    for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
    float *out = malloc((size_t)B * E * sizeof(float)), *g = calloc(P, sizeof(float));
    for (int r = 0; r < R; r++) {
        memcpy(out + (size_t)r * nb * E, s[r].out, (size_t)nb * E * sizeof(float));
        for (size_t i = 0; i < P; i++) g[i] += s[r].grads[i];
    }
    double gmax = max_abs(one.grads, P), smax = max_abs(one.m->state, Z);
    double dg = max_diff(g, one.grads, P), ds = max_diff(s[0].m->state, one.m->state, Z);
    printf("    %d BatchNorm exchanges; largest differences: output %.1e, gradient %.1e of %.1e, state %.1e of %.1e\n",
           ex.calls, max_diff(out, one.out, (size_t)B * E), dg, gmax, ds, smax);
    EXPECT(ex.calls == 2 * (3 + 3 * 4 + 4), "%d exchanges, want two per BatchNorm layer (19)", ex.calls);
    EXPECT_CLOSE("tower output, two halves vs whole batch", out, one.out, (size_t)B * E, 1e-5, 1e-4);
    EXPECT(dg <= 1e-5 * gmax, "summed gradients differ by %.3e (largest gradient %.3e)", dg, gmax);
    EXPECT(ds <= 1e-6 * smax, "running statistics differ by %.3e (largest %.3e)", ds, smax);
    EXPECT(!memcmp(s[0].m->state, s[1].m->state, Z * sizeof(float)), "the slices' running statistics differ");
    for (int r = 0; r < R; r++) rn_slice_free(&s[r]);
    rn_slice_free(&one);
    exchange_free(&ex);
    free(images), free(dout), free(out), free(g);
    clip_model_free(m);
}
