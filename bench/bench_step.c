/* Times full training steps (forward, loss, backward, AdamW) of a CLIP config
 * on random data and prints the median ms/step, samples/s and achieved GFLOP/s
 * (matrix-product FLOPs: 3 × forward, see clip_forward_flops_per_pair).
 *
 *   bench_step CONFIG.json [--batch B] [--steps N] [--modx [--cache]] [--bf16] [--hash] [--interleave]
 * --modx adds a frozen old model (forward only) and the Mod-X loss; --cache
 * reads the old model's features from the per-phase cache (train/featcache.h)
 * as training does by default, the one-time encode timed apart and reported
 * per pair; --bf16 runs the layers' products in bf16 (train.precision);
 * --interleave runs a plain step before each step (warm-up and timed), on the
 * same model and arenas, and prints both medians and their ratio: the Mod-X
 * cost ratio measured in the same minutes, not in runs minutes apart;
 * --hash prints a 64-bit FNV-1a hash of the parameters after the last step
 * (two builds that agree on it trained bit-identically).
 * The line ends with the process's peak resident memory (getrusage ru_maxrss)
 * and the median CPU time per step of all its threads (CLOCK_PROCESS_CPUTIME_ID):
 * on a shared machine the wall time follows the other jobs' load, the CPU time
 * much less (passive waiting threads sleep, so it counts work, not waits).
 * A second line gives the timed steps' matrix products (all but attention's
 * per-head ones, core/gemm.h's gemm_stats): their time per step, share of
 * the step and GFLOP/s, and the step's FLOPs over that time alone, the most
 * the step could reach with every other pass free. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clip/model.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "train/optim.h"
#include "strategy/strategy.h"
#include "train/step.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* The old model's features of the bench's batch as the per-phase cache holds
 * them (rows 0..B−1, encoded as the trainer does: one forward per B rows). */
static int bench_cache(OldFeatCache *fc, uint32_t **rows, const ClipModel *old, ClipStep *st, const float *images,
                       const int32_t *texts, int B, double *ms) {
    memset(fc, 0, sizeof *fc);
    fc->E = old->cfg.embed_dim, fc->n_img = fc->n_cap = fc->n_cache_img = fc->n_cache_cap = (size_t)B;
    fc->img_row = malloc((size_t)B * sizeof(int32_t)), fc->cap_row = malloc((size_t)B * sizeof(int32_t));
    fc->V = malloc((size_t)B * fc->E * sizeof(float)), fc->T = malloc((size_t)B * fc->E * sizeof(float));
    *rows = malloc((size_t)B * sizeof(uint32_t));
    if (!fc->img_row || !fc->cap_row || !fc->V || !fc->T || !*rows) return 0;
    for (int j = 0; j < B; j++) fc->img_row[j] = fc->cap_row[j] = j, (*rows)[j] = (uint32_t)j;
    double t0 = now_ms();
    if (clip_forward(old, st->old_acts, images, texts, B, fc->V, fc->T)) return 0;
    *ms = now_ms() - t0;
    return 1;
}

/* The timed steps' matrix products (core/gemm.h's stats: all but the per-head
 * attention products) as a share of the step, and the rate the step's FLOPs
 * would reach if nothing but those products took time: a bound on the step's
 * share of the peak that only faster products can raise. */
static void print_products(const GemmStats *gs, int steps, double timed_ms, double step_flops) {
    double pms = gs->seconds * 1e3 / steps;
    printf("    products (%ld per step, all but attention's per-head ones): %.1f ms/step = %.0f%% of the step, at "
           "%.1f GFLOP/s; the step's FLOPs in the products' time alone: %.1f GFLOP/s\n",
           gs->calls / steps, pms, 100.0 * pms * steps / timed_ms, gs->flops / gs->seconds / 1e9,
           step_flops / (pms / 1e3) / 1e9);
}

/* B random images (normal pixels) and captions (SOT, random words, EOT). */
static void random_batch(const ClipConfig *cfg, int B, float **images, int32_t **texts) {
    int S = cfg->vision.image_size, T = cfg->text.context_length, V = cfg->text.vocab_size;
    size_t npix = (size_t)B * 3 * S * S;
    float *im = malloc(npix * sizeof(float));
    int32_t *tx = calloc((size_t)B * T, sizeof(int32_t));
    Rng rng;
    rng_seed(&rng, 7);
    for (size_t i = 0; i < npix; i++) im[i] = (float)rng_normal(&rng);
    for (int b = 0; b < B; b++) {
        int len = 2 + (int)rng_below(&rng, (uint64_t)(T - 1));
        tx[(size_t)b * T] = V - 2;
        for (int t = 1; t < len - 1; t++) tx[(size_t)b * T + t] = 1 + (int)rng_below(&rng, (uint64_t)(V - 3));
        tx[(size_t)b * T + len - 1] = V - 1;
    }
    *images = im, *texts = tx;
}

static const char *step_kind(int modx, int cache, int bf16) {
    return modx ? (cache ? (bf16 ? "mod-x-cache-bf16" : "mod-x-cache") : bf16 ? "mod-x-bf16" : "mod-x")
                : bf16 ? "clip-bf16" : "clip";
}

/* --hash: 64-bit FNV-1a of the parameters' bytes. */
static void print_hash(const ClipModel *m) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)m->params;
    for (size_t i = 0; i < m->table.total * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ull;
    printf("    parameter hash %016llx\n", (unsigned long long)h);
}

/* What one timed step needs. */
typedef struct {
    ClipStep *st;
    AdamW *opt;
    ClipModel *m;
    const float *images;
    const int32_t *texts;
    float *grads;
    int B;
    OldFeatCache *fc;
    const uint32_t *rows; /* non-NULL: the Mod-X step reads the cached old features */
    StepLossTerm modx_loss, plain_loss;
} StepCtx;

/* One step (the Mod-X one or the plain one): its wall time, and its CPU time
 * and its products added to *gs unless those are NULL. 0 on success. */
static int one_step(const StepCtx *c, int modx_step, double *ms, double *cpu, GemmStats *gs, StepLoss *l) {
    double t0 = now_ms(), c0 = cpu_ms();
    gemm_stats_start();
    if (modx_step && c->rows) clip_step_old_rows(c->st, c->fc, c->rows, c->rows);
    int bad = clip_step_run(c->st, c->images, c->texts, c->B, modx_step ? &c->modx_loss : &c->plain_loss, c->grads,
                            l) ||
              adamw_step(c->opt, c->m->params, c->grads, 1e-4, NULL);
    GemmStats s = gemm_stats_stop();
    *ms = now_ms() - t0;
    if (cpu) *cpu = cpu_ms() - c0;
    if (gs) gs->calls += s.calls, gs->flops += s.flops, gs->seconds += s.seconds;
    if (bad) fprintf(stderr, "bench_step: %s\n", modx_last_error());
    return bad;
}

/* --interleave: a plain step before each timed step, on the same model and
 * arenas, so the two medians come from the same minutes of a shared machine. */
static void print_interleaved(double *plain_ms, double *ms, int steps) {
    double p = median(plain_ms, steps), q = median(ms, steps);
    printf("    interleaved with plain steps: plain median %.1f ms, this step %.1f ms, ratio %.3f\n", p, q, q / p);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_step CONFIG.json [--batch B] [--steps N] [--modx [--cache]] [--bf16] [--hash] "
                        "[--interleave]\n");
        return 2;
    }
    int B = 128, steps = 10, modx = 0, cache = 0, bf16 = 0, hash = 0, inter = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--modx")) modx = 1;
        else if (!strcmp(argv[i], "--cache")) cache = 1;
        else if (!strcmp(argv[i], "--bf16")) bf16 = 1;
        else if (!strcmp(argv[i], "--hash")) hash = 1;
        else if (!strcmp(argv[i], "--interleave")) inter = 1;
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
    float *images, *grads = malloc(m->table.total * sizeof(float));
    int32_t *texts;
    random_batch(&cfg, B, &images, &texts);
    double *ms = malloc((size_t)steps * sizeof(double)), *cpu = malloc((size_t)steps * sizeof(double));
    double *plain_ms = malloc((size_t)steps * sizeof(double));
    StrategyInst si;
    StepCtx c = {.st = st, .opt = &opt, .m = m, .images = images, .texts = texts, .grads = grads, .B = B};
    if (modx) { /* Mod-X at the batch rule's α = 20·280/B (loss/modx.h) */
        if (strategy_inst_named(&si, "modx") || strategy_inst_set(&si, "alpha", 20.0 * 280 / B, "bench")) return 1;
        c.modx_loss = strategy_loss(&si);
    }
    if (bf16) gemm_set_layer_precision(GEMM_BF16);
    OldFeatCache fc;
    uint32_t *rows = NULL;
    double encode_ms = 0;
    if (modx && cache && !bench_cache(&fc, &rows, old, st, images, texts, B, &encode_ms)) return 1;
    c.fc = &fc, c.rows = rows;
    StepLoss l;
    double loss0 = 0, timed_ms = 0;
    GemmStats gs = {0};
    for (int i = -2; i < steps; i++) { /* two warm-up steps */
        double t, tc;
        if (inter && one_step(&c, 0, i >= 0 ? &plain_ms[i] : &t, NULL, NULL, &l)) return 1;
        if (one_step(&c, modx, &t, &tc, i >= 0 ? &gs : NULL, &l)) return 1;
        if (i >= 0) ms[i] = t, cpu[i] = tc, timed_ms += t;
        if (i == -2) loss0 = l.loss;
    }
    double med = median(ms, steps), med_cpu = median(cpu, steps);
    double flops = 3.0 * clip_forward_flops_per_pair(&cfg) * B;
    if (modx && !cache) flops += clip_forward_flops_per_pair(&cfg) * B; /* the old model's forward */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("modx %-6s %-11s B=%d threads=%d params=%zu: median %.1f ms/step, %.1f samples/s, %.1f GFLOP/s "
           "(%.2f GFLOP/step; loss %.4f -> %.4f) peak RSS %.0f MiB, cpu %.1f ms/step\n",
           step_kind(modx, cache, bf16), argv[1], B, omp_get_max_threads(), m->table.total, med, B / (med / 1e3),
           flops / (med / 1e3) / 1e9, flops / 1e9, loss0, l.loss, ru.ru_maxrss / 1024.0, med_cpu);
    print_products(&gs, steps, timed_ms, flops);
    if (inter) print_interleaved(plain_ms, ms, steps);
    if (rows)
        printf("    the cache's encode: %.1f ms for %d pairs (%.2f ms per pair, once per phase; %zu lookups)\n", encode_ms,
               B, encode_ms / B, (size_t)st->old_lookups);
    if (hash) print_hash(m);
    if (rows) oldfeat_free(&fc), free(rows);
    free(ms), free(cpu), free(plain_ms), free(images), free(grads), free(texts), free(segs);
    adamw_free(&opt);
    clip_step_free(st);
    clip_model_free(m);
    clip_model_free(old);
    return 0;
}
