/* Times the CLIP forward and backward on a model config.
 * Usage: build/bench/bench_clip [config.json] [batch] [iterations]
 * Prints milliseconds per training step (forward + backward) and per
 * inference forward, and the arena sizes. Not part of the test suite. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "clip/model.h"
#include "core/rng.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "configs/tiny.json";
    int B = argc > 2 ? atoi(argv[2]) : 32, iters = argc > 3 ? atoi(argv[3]) : 3;
    ClipConfig cfg;
    ClipModel *m = NULL;
    ClipActs *tr = NULL, *inf = NULL;
    if (clip_config_load(&cfg, path) || clip_model_new(&m, &cfg) || clip_acts_new(&tr, &cfg, B, 1) ||
        clip_acts_new(&inf, &cfg, B, 0)) {
        fprintf(stderr, "bench_clip: %s\n", modx_last_error());
        return 1;
    }
    clip_model_init(m, 1);
    int S = cfg.vision.image_size, T = cfg.text.context_length, E = cfg.embed_dim;
    float *img = malloc(sizeof(float) * B * 3 * S * S), *d = malloc(sizeof(float) * B * E);
    int32_t *tok = calloc((size_t)B * T, sizeof(int32_t));
    float *g = calloc(clip_model_num_params(m), sizeof(float));
    Rng r;
    rng_seed(&r, 2);
    for (long i = 0; i < (long)B * 3 * S * S; i++) img[i] = (float)rng_normal(&r);
    for (long i = 0; i < (long)B * E; i++) d[i] = (float)rng_normal(&r);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T / 2; t++) tok[b * T + t] = (int32_t)rng_below(&r, (uint64_t)cfg.text.vocab_size);
    double t0 = omp_get_wtime();
    for (int i = 0; i < iters; i++) {
        clip_forward(m, tr, img, tok, B, NULL, NULL);
        clip_backward(m, tr, d, d, g);
    }
    double t1 = omp_get_wtime();
    for (int i = 0; i < iters; i++) clip_forward(m, inf, img, tok, B, NULL, NULL);
    double t2 = omp_get_wtime();
    printf("%s B=%d params=%zu threads=%d: train step %.1f ms, inference forward %.1f ms, arena %.1f MiB "
           "(inference %.1f MiB)\n",
           path, B, clip_model_num_params(m), omp_get_max_threads(), 1e3 * (t1 - t0) / iters,
           1e3 * (t2 - t1) / iters, clip_acts_bytes(tr) / 1048576.0, clip_acts_bytes(inf) / 1048576.0);
    free(img), free(d), free(tok), free(g);
    clip_acts_free(tr), clip_acts_free(inf), clip_model_free(m);
    return 0;
}
