#include "data/loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/size.h"
#include "data/dataset.h"
#include "data/image.h"

/* One epoch's visiting order, cached per user (the caller's thread and the prefetch thread). */
typedef struct {
    uint32_t *order; /* (n) */
    uint64_t epoch;
    int valid;
} EpochOrder;

struct DataLoader {
    LoaderConfig cfg;
    const Cache *cache;
    uint32_t *images; /* (n) the subset */
    size_t n;
    uint64_t batches_per_epoch;
    uint32_t *cap_start; /* (N + 1) captions of image i: cap_list[cap_start[i] .. cap_start[i+1]) */
    uint32_t *cap_list;  /* (M) */
    EpochOrder order_main, order_worker;
    /* Sequential stream and prefetch. */
    uint64_t step;
    Batch slots[2];
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int job_pending, job_running, quit;
    uint64_t job_step;
    int job_slot;
    int job_done_valid; /* slots[job_slot] holds batch job_step */
};

static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint32_t loader_caption_for(const DataLoader *ld, uint64_t epoch, uint32_t image) {
    uint32_t a = ld->cap_start[image], k = ld->cap_start[image + 1] - a;
    uint64_t h = mix64(mix64(ld->cfg.seed ^ 0x63617074696f6e73ull) ^ mix64(epoch) ^ ((uint64_t)image << 1));
    return ld->cap_list[a + (uint32_t)(h % k)];
}

static const uint32_t *epoch_order(DataLoader *ld, EpochOrder *eo, uint64_t epoch) {
    if (eo->valid && eo->epoch == epoch) return eo->order;
    memcpy(eo->order, ld->images, ld->n * sizeof *eo->order);
    if (ld->cfg.shuffle) {
        Rng r;
        rng_seed_stream(&r, ld->cfg.seed, epoch);
        rng_shuffle_u32(&r, eo->order, ld->n);
    }
    eo->epoch = epoch;
    eo->valid = 1;
    return eo->order;
}

static void fill(DataLoader *ld, EpochOrder *eo, uint64_t step, Batch *out) {
    const Cache *c = ld->cache;
    int B = ld->cfg.batch, S = c->image_size, T = c->context;
    uint64_t epoch = step / ld->batches_per_epoch, pos = step % ld->batches_per_epoch;
    const uint32_t *order = epoch_order(ld, eo, epoch);
    uint64_t first = pos * (uint64_t)B;
    int count = (uint64_t)B <= ld->n - first ? B : (int)(ld->n - first);
    size_t px = (size_t)3 * S * S;
    out->count = count;
    out->step = step;
    out->epoch = epoch;
    for (int j = 0; j < count; j++) {
        uint32_t im = order[first + (uint64_t)j];
        uint32_t cap = loader_caption_for(ld, epoch, im);
        image_normalize(cache_image_pixels(c, im), S, out->pixels + (size_t)j * px);
        memcpy(out->tokens + (size_t)j * T, cache_caption_tokens(c, cap), (size_t)T * sizeof(int32_t));
        out->image_index[j] = im;
        out->caption_index[j] = cap;
    }
    if (count < B) {
        memset(out->pixels + (size_t)count * px, 0, (size_t)(B - count) * px * sizeof(float));
        memset(out->tokens + (size_t)count * T, 0, (size_t)(B - count) * T * sizeof(int32_t));
        memset(out->image_index + count, 0, (size_t)(B - count) * sizeof(uint32_t));
        memset(out->caption_index + count, 0, (size_t)(B - count) * sizeof(uint32_t));
    }
}

void loader_batch_at(DataLoader *ld, uint64_t step, Batch *out) {
    CHECK(out->batch == ld->cfg.batch && out->image_size == ld->cache->image_size && out->context == ld->cache->context,
          "batch buffers do not match the loader");
    fill(ld, &ld->order_main, step, out);
}

static void *worker_main(void *arg) {
    DataLoader *ld = arg;
    pthread_mutex_lock(&ld->mu);
    for (;;) {
        while (!ld->job_pending && !ld->quit) pthread_cond_wait(&ld->cv, &ld->mu);
        if (ld->quit) break;
        ld->job_pending = 0;
        ld->job_running = 1;
        uint64_t step = ld->job_step;
        Batch *b = &ld->slots[ld->job_slot];
        pthread_mutex_unlock(&ld->mu);
        fill(ld, &ld->order_worker, step, b);
        pthread_mutex_lock(&ld->mu);
        ld->job_running = 0;
        ld->job_done_valid = 1;
        pthread_cond_broadcast(&ld->cv);
    }
    pthread_mutex_unlock(&ld->mu);
    return NULL;
}

const Batch *loader_next(DataLoader *ld) {
    uint64_t step = ld->step++;
    if (!ld->thread_started) {
        fill(ld, &ld->order_main, step, &ld->slots[0]);
        return &ld->slots[0];
    }
    pthread_mutex_lock(&ld->mu);
    while (ld->job_pending || ld->job_running) pthread_cond_wait(&ld->cv, &ld->mu);
    int r;
    if (ld->job_done_valid && ld->job_step == step) {
        r = ld->job_slot;
    } else {
        r = 0;
        pthread_mutex_unlock(&ld->mu);
        fill(ld, &ld->order_main, step, &ld->slots[r]);
        pthread_mutex_lock(&ld->mu);
    }
    ld->job_done_valid = 0;
    ld->job_step = step + 1;
    ld->job_slot = 1 - r;
    ld->job_pending = 1;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
    return &ld->slots[r];
}

void loader_seek(DataLoader *ld, uint64_t step) { ld->step = step; }
uint64_t loader_step(const DataLoader *ld) { return ld->step; }
uint64_t loader_batches_per_epoch(const DataLoader *ld) { return ld->batches_per_epoch; }
size_t loader_n_images(const DataLoader *ld) { return ld->n; }

ModxStatus batch_alloc(Batch *b, int batch, int image_size, int context) {
    memset(b, 0, sizeof *b);
    size_t px;
    if (batch <= 0 || image_size <= 0 || context <= 0 || !size_mul((size_t)batch * 3, (size_t)image_size * image_size, &px))
        return modx_fail(MODX_ERR_INVALID, "batch buffers: bad sizes B=%d S=%d T=%d", batch, image_size, context);
    b->batch = batch;
    b->image_size = image_size;
    b->context = context;
    b->pixels = modx_calloc(px, sizeof(float), "batch pixels");
    b->tokens = modx_calloc((size_t)batch * context, sizeof(int32_t), "batch tokens");
    b->image_index = modx_calloc((size_t)batch, sizeof(uint32_t), "batch image indices");
    b->caption_index = modx_calloc((size_t)batch, sizeof(uint32_t), "batch caption indices");
    if (!b->pixels || !b->tokens || !b->image_index || !b->caption_index) {
        batch_free(b);
        return MODX_ERR_NOMEM;
    }
    return MODX_OK;
}

void batch_free(Batch *b) {
    free(b->pixels);
    free(b->tokens);
    free(b->image_index);
    free(b->caption_index);
    memset(b, 0, sizeof *b);
}

void loader_free(DataLoader *ld) {
    if (!ld) return;
    if (ld->thread_started) {
        pthread_mutex_lock(&ld->mu);
        ld->quit = 1;
        pthread_cond_broadcast(&ld->cv);
        pthread_mutex_unlock(&ld->mu);
        pthread_join(ld->thread, NULL);
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->cv);
    }
    batch_free(&ld->slots[0]);
    batch_free(&ld->slots[1]);
    free(ld->images);
    free(ld->cap_start);
    free(ld->cap_list);
    free(ld->order_main.order);
    free(ld->order_worker.order);
    free(ld);
}

ModxStatus loader_create(DataLoader **out, const LoaderConfig *cfg) {
    *out = NULL;
    const Cache *c = cfg->cache;
    if (!c) return modx_fail(MODX_ERR_INVALID, "loader: no cache");
    size_t n = cfg->images ? cfg->n_images : (size_t)c->n_images;
    if (cfg->batch <= 0) return modx_fail(MODX_ERR_INVALID, "loader: batch size: expected > 0, found %d", cfg->batch);
    if (n == 0) return modx_fail(MODX_ERR_INVALID, "loader: expected at least one image in the subset, found none");
    if (cfg->drop_last && n < (size_t)cfg->batch)
        return modx_fail(MODX_ERR_INVALID,
                         "loader: %zu images give no full batch of %d (drop_last); lower the batch size to at most %zu",
                         n, cfg->batch, n);
    DataLoader *ld = modx_calloc(1, sizeof *ld, "data loader");
    if (!ld) return MODX_ERR_NOMEM;
    ld->cfg = *cfg;
    ld->cache = c;
    ld->n = n;
    ld->batches_per_epoch = cfg->drop_last ? n / (size_t)cfg->batch : (n + (size_t)cfg->batch - 1) / (size_t)cfg->batch;
    ModxStatus st = MODX_OK;
    ld->images = modx_calloc(n, sizeof *ld->images, "loader subset");
    ld->order_main.order = modx_calloc(n, sizeof(uint32_t), "loader order");
    ld->order_worker.order = modx_calloc(n, sizeof(uint32_t), "loader order");
    ld->cap_start = modx_calloc((size_t)c->n_images + 1, sizeof *ld->cap_start, "caption index");
    ld->cap_list = modx_calloc((size_t)c->n_captions, sizeof *ld->cap_list, "caption index");
    if (!ld->images || !ld->order_main.order || !ld->order_worker.order || !ld->cap_start || !ld->cap_list) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t im = cfg->images ? cfg->images[i] : (uint32_t)i;
        if (im >= c->n_images) {
            st = modx_fail(MODX_ERR_INVALID, "loader: subset entry %zu: image %u, expected < %llu", i, im,
                           (unsigned long long)c->n_images);
            goto fail;
        }
        ld->images[i] = im;
    }
    /* Captions per image (counting sort keeps the cache's caption order). */
    for (uint64_t k = 0; k < c->n_captions; k++) ld->cap_start[c->caption_image[k] + 1]++;
    for (uint64_t i = 0; i < c->n_images; i++) ld->cap_start[i + 1] += ld->cap_start[i];
    {
        uint32_t *fillp = modx_calloc((size_t)c->n_images, sizeof *fillp, "caption index");
        if (!fillp) {
            st = MODX_ERR_NOMEM;
            goto fail;
        }
        for (uint64_t k = 0; k < c->n_captions; k++) {
            uint32_t im = c->caption_image[k];
            ld->cap_list[ld->cap_start[im] + fillp[im]++] = (uint32_t)k;
        }
        free(fillp);
    }
    for (size_t i = 0; i < n; i++)
        if (ld->cap_start[ld->images[i] + 1] == ld->cap_start[ld->images[i]]) {
            st = modx_fail(MODX_ERR_FORMAT, "loader: image %u has no caption in the cache", ld->images[i]);
            goto fail;
        }
    if ((st = batch_alloc(&ld->slots[0], cfg->batch, c->image_size, c->context)) != MODX_OK) goto fail;
    if (cfg->prefetch) {
        if ((st = batch_alloc(&ld->slots[1], cfg->batch, c->image_size, c->context)) != MODX_OK) goto fail;
        pthread_mutex_init(&ld->mu, NULL);
        pthread_cond_init(&ld->cv, NULL);
        if (pthread_create(&ld->thread, NULL, worker_main, ld) != 0) {
            pthread_mutex_destroy(&ld->mu);
            pthread_cond_destroy(&ld->cv);
            st = modx_fail(MODX_ERR_IO, "loader: cannot start the prefetch thread");
            goto fail;
        }
        ld->thread_started = 1;
    }
    *out = ld;
    return MODX_OK;
fail:
    loader_free(ld);
    return st;
}
