/* Loader throughput: batches/s and samples/s from a dataset cache.
 *   bench_loader [CACHE] [--batch B] [--seconds S] [--no-prefetch]
 * Without CACHE a synthetic cache (8192 images of 32 px, 3 captions each,
 * context 77) is written to a temporary file first. The consumer does nothing
 * but touch the batch, so this is the loader's ceiling; the target is at least
 * ten times the training throughput of the `tiny` config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/loader.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int synth_cache(const char *path, int n, int s, int t) {
    int m = 3 * n;
    uint8_t *px = malloc((size_t)n * s * s * 3);
    int32_t *tok = calloc((size_t)m * t, sizeof *tok);
    uint32_t *ci = malloc((size_t)m * 4), *dom = calloc((size_t)n, 4);
    uint8_t *split = malloc((size_t)n);
    const char **texts = malloc((size_t)m * sizeof *texts);
    const char *names[1] = {"synthetic"};
    if (!px || !tok || !ci || !dom || !split || !texts) return 0;
    for (size_t i = 0; i < (size_t)n * s * s * 3; i++) px[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int k = 0; k < m; k++) {
        ci[k] = (uint32_t)(k / 3);
        tok[(size_t)k * t] = 49406;
        for (int j = 1; j < 12; j++) tok[(size_t)k * t + j] = (k * 31 + j) % 49000;
        tok[(size_t)k * t + 12] = 49407;
        texts[k] = "a synthetic caption";
    }
    memset(split, 1, (size_t)n);
    CacheMeta meta = {.n_images = (uint64_t)n, .n_captions = (uint64_t)m, .image_size = s, .context = t,
                      .vocab_size = 49408, .tokens = tok, .caption_image = ci, .image_domain = dom,
                      .image_split = split, .domain_names = names, .n_domains = 1, .caption_texts = texts};
    int ok = cache_write(path, px, &meta) == MODX_OK;
    free(px);
    free(tok);
    free(ci);
    free(dom);
    free(split);
    free(texts);
    return ok;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int batch = 128, prefetch = 1;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-prefetch")) prefetch = 0;
        else path = argv[i];
    }
    char tmp[256] = "";
    if (!path) {
        snprintf(tmp, sizeof tmp, "/tmp/modx_bench_loader_%ld.cache", (long)getpid());
        double t0 = now();
        if (!synth_cache(tmp, 8192, 32, 77)) {
            fprintf(stderr, "bench_loader: %s\n", modx_last_error());
            return 1;
        }
        printf("synthetic cache: 8192 images of 32 px, 24576 captions, written in %.2f s\n", now() - t0);
        path = tmp;
    }
    double t0 = now();
    Cache *c;
    if (cache_open(&c, path, 1) != MODX_OK) {
        fprintf(stderr, "bench_loader: %s\n", modx_last_error());
        return 1;
    }
    printf("open + full validation (CRC of every section): %.3f s\n", now() - t0);
    LoaderConfig cfg = {.cache = c, .batch = batch, .seed = 1, .drop_last = 1, .shuffle = 1, .prefetch = prefetch};
    DataLoader *ld;
    if (loader_create(&ld, &cfg) != MODX_OK) {
        fprintf(stderr, "bench_loader: %s\n", modx_last_error());
        return 1;
    }
    double sink = 0;
    long n = 0;
    t0 = now();
    double t;
    while ((t = now() - t0) < seconds) {
        const Batch *b = loader_next(ld);
        sink += b->pixels[n % (b->batch * 3)] + b->tokens[1];
        n++;
    }
    printf("loader %s: S=%d B=%d T=%d prefetch=%d: %.1f batches/s, %.0f samples/s (%ld batches, checksum %.3g)\n", path,
           c->image_size, batch, c->context, prefetch, (double)n / t, (double)n * batch / t, n, sink);
    loader_free(ld);
    cache_close(c);
    if (tmp[0]) unlink(tmp);
    return 0;
}
