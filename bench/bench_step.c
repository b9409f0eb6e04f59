/* Times full training steps (forward, loss, backward, AdamW) of a CLIP config
 * on random data and prints the median ms/step, samples/s and achieved GFLOP/s
 * (matrix-product FLOPs: 3 × forward, see clip_forward_flops_per_pair).
 *
 *   bench_step CONFIG.json [--batch B] [--steps N] [--modx]
 * --modx adds a frozen old model (forward only) and the Mod-X loss.
 * The line ends with the process's peak resident memory (getrusage ru_maxrss). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clip/model.h"
#include "core/rng.h"
#include "train/optim.h"
#include "strategy/strategy.h"
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

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_step CONFIG.json [--batch B] [--steps N] [--modx]\n");
        return 2;
    }
    int B = 128, steps = 10, modx = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--modx")) modx = 1;
    }
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
        adamw_init(&opt, &ac, m->table.total, segs, nseg)) {
        fprintf(stderr, "bench_step: %s\n", modx_last_error());
        return 1;
    }
    clip_model_init(m, 1);
    if (old) clip_model_init(old, 2);
    int S = cfg.vision.image_size, T = cfg.text.context_length, V = cfg.text.vocab_size;
    size_t npix = (size_t)B * 3 * S * S;
    float *images = malloc(npix * sizeof(float)), *grads = malloc(m->table.total * sizeof(float));
    int32_t *texts = calloc((size_t)B * T, sizeof(int32_t));
    Rng rng;
    rng_seed(&rng, 7);
    for (size_t i = 0; i < npix; i++) images[i] = (float)rng_normal(&rng);
    for (int b = 0; b < B; b++) {
        int len = 2 + (int)rng_below(&rng, (uint64_t)(T - 1)); /* SOT, words, EOT */
        texts[(size_t)b * T] = V - 2;
        for (int t = 1; t < len - 1; t++) texts[(size_t)b * T + t] = 1 + (int)rng_below(&rng, (uint64_t)(V - 3));
        texts[(size_t)b * T + len - 1] = V - 1;
    }
    double *ms = malloc((size_t)steps * sizeof(double));
    StrategyInst si;
    StepLossTerm loss = {0};
    if (modx) { /* Mod-X at the batch rule's α = 20·280/B (loss/modx.h) */
        if (strategy_inst_named(&si, "modx") || strategy_inst_set(&si, "alpha", 20.0 * 280 / B, "bench")) return 1;
        loss = strategy_loss(&si);
    }
    StepLoss l;
    double loss0 = 0;
    for (int i = -2; i < steps; i++) { /* two warm-up steps */
        double t0 = now_ms();
        if (clip_step_run(st, images, texts, B, &loss, grads, &l) ||
            adamw_step(&opt, m->params, grads, 1e-4, NULL)) {
            fprintf(stderr, "bench_step: %s\n", modx_last_error());
            return 1;
        }
        if (i >= 0) ms[i] = now_ms() - t0;
        if (i == -2) loss0 = l.loss;
    }
    qsort(ms, (size_t)steps, sizeof(double), cmp_double);
    double med = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    double flops = 3.0 * clip_forward_flops_per_pair(&cfg) * B;
    if (modx) flops += clip_forward_flops_per_pair(&cfg) * B; /* the old model's forward */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("modx %-6s %-11s B=%d threads=%d params=%zu: median %.1f ms/step, %.1f samples/s, %.1f GFLOP/s "
           "(%.2f GFLOP/step; loss %.4f -> %.4f) peak RSS %.0f MiB\n",
           modx ? "mod-x" : "clip", argv[1], B, omp_get_max_threads(), m->table.total, med, B / (med / 1e3),
           flops / (med / 1e3) / 1e9, flops / 1e9, loss0, l.loss, ru.ru_maxrss / 1024.0);
    free(ms), free(images), free(grads), free(texts), free(segs);
    adamw_free(&opt);
    clip_step_free(st);
    clip_model_free(m);
    clip_model_free(old);
    return 0;
}
