/* Data-parallel training steps (core/dist.h): run alone it times one process
 * (its OpenMP threads), under `mpirun -np N` every rank takes B/N of each
 * global batch of B. Prints (rank 0) the median ms/step and samples/s of the
 * global batch, and per step the time and bytes this rank spent in the
 * feature all-gathers and the gradient sum, with the parameter count, so
 * bytes per step can be checked against 4·(2·B·E) for the features and
 * 2·4·P·(N−1)/N for the gradients.
 *
 *   [mpirun -np N] bench_dist CONFIG.json [--batch B] [--steps N] [--modx] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clip/model.h"
#include "core/dist.h"
#include "core/rng.h"
#include "strategy/strategy.h"
#include "train/optim.h"
#include "train/step.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void random_batch(const ClipConfig *cfg, int B, float *images, int32_t *texts) {
    int S = cfg->vision.image_size, T = cfg->text.context_length, V = cfg->text.vocab_size;
    Rng rng;
    rng_seed(&rng, 7); /* every rank draws the same global batch */
    for (size_t i = 0; i < (size_t)B * 3 * S * S; i++) images[i] = (float)rng_normal(&rng);
    for (int b = 0; b < B; b++) {
        int len = 2 + (int)rng_below(&rng, (uint64_t)(T - 1));
        texts[(size_t)b * T] = V - 2;
        for (int t = 1; t < len - 1; t++) texts[(size_t)b * T + t] = 1 + (int)rng_below(&rng, (uint64_t)(V - 3));
        texts[(size_t)b * T + len - 1] = V - 1;
    }
}

static int fail(void) {
    fprintf(stderr, "bench_dist: rank %d: %s\n", dist_rank(), modx_last_error());
    dist_abort(1);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: [mpirun -np N] bench_dist CONFIG.json [--batch B] [--steps N] [--modx]\n");
        return 2;
    }
    int B = 128, steps = 10, modx = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--modx")) modx = 1;
    }
    if (dist_init() || dist_check_batch(B, "--batch")) return fail();
    ClipConfig cfg;
    ClipModel *m = NULL, *old = NULL;
    ClipStep *st = NULL;
    OptimSegment *segs = NULL;
    int nseg = 0;
    AdamW opt;
    memset(&opt, 0, sizeof opt);
    AdamWConfig ac = adamw_default_config();
    if (clip_config_load(&cfg, argv[1]) || clip_model_new(&m, &cfg) || (modx && clip_model_new(&old, &cfg)) ||
        clip_step_new(&st, m, old, B) || clip_optim_segments(m, &segs, &nseg) ||
        adamw_init(&opt, &ac, m->table.total, segs, nseg))
        return fail();
    clip_model_init(m, 1);
    if (old) clip_model_init(old, 2);
    float *images = malloc((size_t)B * 3 * cfg.vision.image_size * cfg.vision.image_size * sizeof(float));
    float *grads = malloc(m->table.total * sizeof(float));
    int32_t *texts = calloc((size_t)B * cfg.text.context_length, sizeof(int32_t));
    double *ms = malloc((size_t)steps * sizeof(double));
    if (!images || !grads || !texts || !ms) return fail();
    random_batch(&cfg, B, images, texts);
    StrategyInst si;
    StepLossTerm loss = {0};
    if (modx) {
        if (strategy_inst_named(&si, "modx") || strategy_inst_set(&si, "alpha", 20.0 * 280 / B, "bench")) return fail();
        loss = strategy_loss(&si);
    }
    StepLoss l;
    DistStats s0, s1;
    for (int i = -2; i < steps; i++) { /* two warm-up steps */
        if (i == 0) dist_stats(&s0);
        double t0 = now_ms();
        if (clip_step_run(st, images, texts, B, &loss, grads, &l) || adamw_step(&opt, m->params, grads, 1e-4, NULL))
            return fail();
        if (i >= 0) ms[i] = now_ms() - t0;
    }
    dist_stats(&s1);
    qsort(ms, (size_t)steps, sizeof(double), cmp_double);
    double med = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    if (dist_is_writer())
        printf("dist %-6s %-11s B=%d ranks=%d threads/rank=%d params=%zu: median %.1f ms/step, %.1f samples/s; "
               "per step: all-gather %.2f ms %.1f KiB, gradient sum %.2f ms %.1f KiB (loss %.4f)\n",
               modx ? "mod-x" : "clip", argv[1], B, dist_size(), omp_get_max_threads(), m->table.total, med,
               B / (med / 1e3), (s1.gather_s - s0.gather_s) * 1e3 / steps,
               (double)(s1.gather_bytes - s0.gather_bytes) / 1024 / steps, (s1.sum_s - s0.sum_s) * 1e3 / steps,
               (double)(s1.sum_bytes - s0.sum_bytes) / 1024 / steps, l.loss);
    free(ms), free(images), free(grads), free(texts), free(segs);
    adamw_free(&opt);
    clip_step_free(st);
    clip_model_free(m);
    clip_model_free(old);
    dist_finalize();
    return 0;
}
