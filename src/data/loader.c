#include "data/loader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/size.h"
#include "data/dataset.h"
#include "data/image.h"

/* One epoch's visiting order, cached per user (the caller's thread and the prefetch thread):
 * positions into DataLoader.images (uniform) or into one part's slice of it (proportions). */
typedef struct {
    uint32_t *order; /* (n) or (the part's n) */
    uint64_t epoch;
    int valid;
} EpochOrder;

/* One (cache, subset) part: its images are DataLoader.images[first .. first + n). */
typedef struct {
    const Cache *cache;
    size_t first, n;
    int k;               /* proportions: samples per batch */
    uint32_t *cap_start; /* (N + 1) captions of image i: cap_list[cap_start[i] .. cap_start[i+1]) */
    uint32_t *cap_list;  /* (M) */
} Part;

struct DataLoader {
    LoaderConfig cfg;
    Part *parts;
    int n_parts;
    int image_size, context;
    uint32_t *images; /* (n) the union: part 0's subset, then part 1's, ... */
    size_t n;
    uint64_t batches_per_epoch;
    int n_orders;     /* 1 (uniform) or n_parts (proportions) */
    EpochOrder *order_main, *order_worker;
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

uint32_t loader_part_caption_for(const DataLoader *ld, int part, uint64_t epoch, uint32_t image) {
    const Part *pt = &ld->parts[part];
    uint32_t a = pt->cap_start[image], k = pt->cap_start[image + 1] - a;
    uint64_t h = mix64(mix64(ld->cfg.seed ^ 0x63617074696f6e73ull) ^ mix64(epoch) ^ ((uint64_t)image << 1) ^
                       ((uint64_t)part << 33));
    return pt->cap_list[a + (uint32_t)(h % k)];
}

uint32_t loader_caption_for(const DataLoader *ld, uint64_t epoch, uint32_t image) {
    return loader_part_caption_for(ld, 0, epoch, image);
}

/* The order of `epoch` over positions [first, first + n) of the union; stream
 * 0 for the uniform order (the single-cache loader's), 1 + p for part p's. */
static const uint32_t *epoch_order(DataLoader *ld, EpochOrder *eo, size_t first, size_t n, uint64_t stream,
                                   uint64_t epoch) {
    if (eo->valid && eo->epoch == epoch) return eo->order;
    for (size_t i = 0; i < n; i++) eo->order[i] = (uint32_t)(first + i);
    if (ld->cfg.shuffle) {
        Rng r;
        rng_seed_stream(&r, stream ? mix64(ld->cfg.seed ^ mix64(stream)) : ld->cfg.seed, epoch);
        rng_shuffle_u32(&r, eo->order, n);
    }
    eo->epoch = epoch;
    eo->valid = 1;
    return eo->order;
}

static int part_of(const DataLoader *ld, size_t pos) {
    int p = 0;
    while (p + 1 < ld->n_parts && pos >= ld->parts[p + 1].first) p++;
    return p;
}

/* Sample j of `out`: union position `pos` (part p), caption epoch `epoch`. */
static void put(DataLoader *ld, Batch *out, int j, size_t pos, int p, uint64_t epoch) {
    const Part *pt = &ld->parts[p];
    int S = ld->image_size, T = ld->context;
    size_t px = (size_t)3 * S * S;
    uint32_t im = ld->images[pos];
    uint32_t cap = loader_part_caption_for(ld, p, epoch, im);
    image_normalize(cache_image_pixels(pt->cache, im), S, out->pixels + (size_t)j * px);
    memcpy(out->tokens + (size_t)j * T, cache_caption_tokens(pt->cache, cap), (size_t)T * sizeof(int32_t));
    out->image_index[j] = im;
    out->caption_index[j] = cap;
    out->part[j] = (uint32_t)p;
}

/* Proportions mode: part p's k_p samples at its own positions step·k_p + j. */
static void fill_proportions(DataLoader *ld, EpochOrder *eo, uint64_t step, Batch *out) {
    int j = 0;
    for (int p = 0; p < ld->n_parts; p++) {
        const Part *pt = &ld->parts[p];
        for (int i = 0; i < pt->k; i++, j++) {
            uint64_t q = step * (uint64_t)pt->k + (uint64_t)i, ep = q / pt->n;
            const uint32_t *order = epoch_order(ld, &eo[p], pt->first, pt->n, 1 + (uint64_t)p, ep);
            put(ld, out, j, order[q % pt->n], p, ep);
        }
    }
    out->count = j;
}

static void fill(DataLoader *ld, EpochOrder *eo, uint64_t step, Batch *out) {
    int B = ld->cfg.batch, S = ld->image_size, T = ld->context;
    uint64_t epoch = step / ld->batches_per_epoch, pos = step % ld->batches_per_epoch;
    size_t px = (size_t)3 * S * S;
    out->step = step;
    out->epoch = epoch;
    if (ld->cfg.proportions) return fill_proportions(ld, eo, step, out);
    const uint32_t *order = epoch_order(ld, &eo[0], 0, ld->n, 0, epoch);
    uint64_t first = pos * (uint64_t)B;
    int count = (uint64_t)B <= ld->n - first ? B : (int)(ld->n - first);
    out->count = count;
    for (int j = 0; j < count; j++) {
        size_t g = order[first + (uint64_t)j];
        put(ld, out, j, g, part_of(ld, g), epoch);
    }
    if (count < B) {
        memset(out->pixels + (size_t)count * px, 0, (size_t)(B - count) * px * sizeof(float));
        memset(out->tokens + (size_t)count * T, 0, (size_t)(B - count) * T * sizeof(int32_t));
        memset(out->image_index + count, 0, (size_t)(B - count) * sizeof(uint32_t));
        memset(out->caption_index + count, 0, (size_t)(B - count) * sizeof(uint32_t));
        memset(out->part + count, 0, (size_t)(B - count) * sizeof(uint32_t));
    }
}

void loader_batch_at(DataLoader *ld, uint64_t step, Batch *out) {
    CHECK(out->batch == ld->cfg.batch && out->image_size == ld->image_size && out->context == ld->context,
          "batch buffers do not match the loader");
    fill(ld, ld->order_main, step, out);
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
        fill(ld, ld->order_worker, step, b);
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
        fill(ld, ld->order_main, step, &ld->slots[0]);
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
        fill(ld, ld->order_main, step, &ld->slots[r]);
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
int loader_n_parts(const DataLoader *ld) { return ld->n_parts; }
int loader_part_batch(const DataLoader *ld, int part) { return ld->cfg.proportions ? ld->parts[part].k : 0; }

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
    b->part = modx_calloc((size_t)batch, sizeof(uint32_t), "batch parts");
    if (!b->pixels || !b->tokens || !b->image_index || !b->caption_index || !b->part) {
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
    free(b->part);
    memset(b, 0, sizeof *b);
}

static void free_orders(EpochOrder *eo, int n) {
    for (int i = 0; eo && i < n; i++) free(eo[i].order);
    free(eo);
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
    for (int p = 0; ld->parts && p < ld->n_parts; p++) free(ld->parts[p].cap_start), free(ld->parts[p].cap_list);
    free(ld->parts);
    free(ld->images);
    free_orders(ld->order_main, ld->n_orders);
    free_orders(ld->order_worker, ld->n_orders);
    free(ld);
}

/* Part p's caption index (a counting sort keeps the cache's caption order)
 * and its subset, appended to ld->images. */
static ModxStatus part_open(DataLoader *ld, int p, const LoaderPart *lp) {
    Part *pt = &ld->parts[p];
    const Cache *c = lp->cache;
    pt->cache = c;
    pt->first = ld->n;
    pt->n = lp->images ? lp->n_images : (size_t)c->n_images;
    pt->cap_start = modx_calloc((size_t)c->n_images + 1, sizeof *pt->cap_start, "caption index");
    pt->cap_list = modx_calloc(c->n_captions ? (size_t)c->n_captions : 1, sizeof *pt->cap_list, "caption index");
    uint32_t *fillp = modx_calloc(c->n_images ? (size_t)c->n_images : 1, sizeof *fillp, "caption index");
    if (!pt->cap_start || !pt->cap_list || !fillp) {
        free(fillp);
        return MODX_ERR_NOMEM;
    }
    for (uint64_t k = 0; k < c->n_captions; k++) pt->cap_start[c->caption_image[k] + 1]++;
    for (uint64_t i = 0; i < c->n_images; i++) pt->cap_start[i + 1] += pt->cap_start[i];
    for (uint64_t k = 0; k < c->n_captions; k++) {
        uint32_t im = c->caption_image[k];
        pt->cap_list[pt->cap_start[im] + fillp[im]++] = (uint32_t)k;
    }
    free(fillp);
    const char *which = ld->n_parts > 1 ? "part " : "";
    char pname[32] = "";
    if (ld->n_parts > 1) snprintf(pname, sizeof pname, "%d: ", p);
    for (size_t i = 0; i < pt->n; i++) {
        uint32_t im = lp->images ? lp->images[i] : (uint32_t)i;
        if (im >= c->n_images)
            return modx_fail(MODX_ERR_INVALID, "loader: %s%ssubset entry %zu: image %u, expected < %llu", which, pname,
                             i, im, (unsigned long long)c->n_images);
        if (pt->cap_start[im + 1] == pt->cap_start[im])
            return modx_fail(MODX_ERR_FORMAT, "loader: %s%simage %u has no caption in the cache", which, pname, im);
        ld->images[ld->n++] = im;
    }
    return MODX_OK;
}

/* Proportions mode: each part's samples per batch, k_p = share_p / Σ share · B
 * by largest remainder (ties to the lower part), every k_p ≥ 1. */
static ModxStatus part_counts(DataLoader *ld, const LoaderPart *lp) {
    int B = ld->cfg.batch, given = 0;
    double sum = 0;
    for (int p = 0; p < ld->n_parts; p++) {
        if (!(lp[p].share > 0) || !isfinite(lp[p].share))
            return modx_fail(MODX_ERR_INVALID, "loader: part %d: share %g, expected a finite number > 0", p, lp[p].share);
        sum += lp[p].share;
    }
    double *frac = modx_calloc((size_t)ld->n_parts, sizeof *frac, "loader shares");
    if (!frac) return MODX_ERR_NOMEM;
    for (int p = 0; p < ld->n_parts; p++) {
        double raw = lp[p].share / sum * B;
        ld->parts[p].k = (int)floor(raw);
        frac[p] = raw - floor(raw);
        given += ld->parts[p].k;
    }
    for (; given < B; given++) {
        int best = 0;
        for (int p = 1; p < ld->n_parts; p++)
            if (frac[p] > frac[best]) best = p;
        ld->parts[best].k++;
        frac[best] = -1;
    }
    free(frac);
    for (int p = 0; p < ld->n_parts; p++)
        if (ld->parts[p].k < 1)
            return modx_fail(MODX_ERR_INVALID, "loader: part %d's share %g of %g gives no sample of a batch of %d; "
                             "raise its share or the batch size", p, lp[p].share, sum, B);
    return MODX_OK;
}

static ModxStatus check_config(const LoaderConfig *cfg, const LoaderPart *lp, int np) {
    if (cfg->batch <= 0) return modx_fail(MODX_ERR_INVALID, "loader: batch size: expected > 0, found %d", cfg->batch);
    if (cfg->proportions && !cfg->drop_last)
        return modx_fail(MODX_ERR_INVALID, "loader: proportions per part need drop_last (every batch full)");
    for (int p = 0; p < np; p++) {
        const Cache *c = lp[p].cache;
        if (!c) return modx_fail(MODX_ERR_INVALID, "loader: no cache%s", np > 1 ? " for a part" : "");
        if ((lp[p].images ? lp[p].n_images : (size_t)c->n_images) == 0)
            return modx_fail(MODX_ERR_INVALID, "loader: expected at least one image in the subset%s, found none",
                             np > 1 ? " of every part" : "");
        if (c->image_size != lp[0].cache->image_size || c->context != lp[0].cache->context)
            return modx_fail(MODX_ERR_INVALID, "loader: part %d's cache has image size %d and context length %d, part "
                             "0's %d and %d: caches of different sizes cannot be mixed", p, c->image_size, c->context,
                             lp[0].cache->image_size, lp[0].cache->context);
    }
    return MODX_OK;
}

static ModxStatus alloc_orders(EpochOrder **eo, const DataLoader *ld) {
    if (!(*eo = modx_calloc((size_t)ld->n_orders, sizeof **eo, "loader orders"))) return MODX_ERR_NOMEM;
    for (int i = 0; i < ld->n_orders; i++) {
        size_t m = ld->cfg.proportions ? ld->parts[i].n : ld->n;
        if (!((*eo)[i].order = modx_calloc(m, sizeof(uint32_t), "loader order"))) return MODX_ERR_NOMEM;
    }
    return MODX_OK;
}

static ModxStatus start_prefetch(DataLoader *ld) {
    MODX_TRY(batch_alloc(&ld->slots[1], ld->cfg.batch, ld->image_size, ld->context));
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->cv, NULL);
    if (pthread_create(&ld->thread, NULL, worker_main, ld) != 0) {
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->cv);
        return modx_fail(MODX_ERR_IO, "loader: cannot start the prefetch thread");
    }
    ld->thread_started = 1;
    return MODX_OK;
}

ModxStatus loader_create(DataLoader **out, const LoaderConfig *cfg) {
    *out = NULL;
    LoaderPart one = {.cache = cfg->cache, .images = cfg->images, .n_images = cfg->n_images, .share = 1};
    const LoaderPart *lp = cfg->n_parts > 0 ? cfg->parts : &one;
    int np = cfg->n_parts > 0 ? cfg->n_parts : 1;
    MODX_TRY(check_config(cfg, lp, np));
    size_t n = 0;
    for (int p = 0; p < np; p++) n += lp[p].images ? lp[p].n_images : (size_t)lp[p].cache->n_images;
    if (n > UINT32_MAX) return modx_fail(MODX_ERR_INVALID, "loader: %zu images, at most %u supported", n, UINT32_MAX);
    if (cfg->drop_last && n < (size_t)cfg->batch)
        return modx_fail(MODX_ERR_INVALID,
                         "loader: %zu images give no full batch of %d (drop_last); lower the batch size to at most %zu",
                         n, cfg->batch, n);
    DataLoader *ld = modx_calloc(1, sizeof *ld, "data loader");
    if (!ld) return MODX_ERR_NOMEM;
    ld->cfg = *cfg;
    ld->cfg.parts = NULL; /* copied below */
    ld->n_parts = np;
    ld->image_size = lp[0].cache->image_size, ld->context = lp[0].cache->context;
    ld->batches_per_epoch = cfg->drop_last ? n / (size_t)cfg->batch : (n + (size_t)cfg->batch - 1) / (size_t)cfg->batch;
    ld->n_orders = cfg->proportions ? np : 1;
    ModxStatus st = MODX_OK;
    ld->parts = modx_calloc((size_t)np, sizeof *ld->parts, "loader parts");
    ld->images = modx_calloc(n, sizeof *ld->images, "loader subset");
    if (!ld->parts || !ld->images) st = MODX_ERR_NOMEM;
    for (int p = 0; st == MODX_OK && p < np; p++) st = part_open(ld, p, &lp[p]);
    if (st == MODX_OK && cfg->proportions) st = part_counts(ld, lp);
    if (st == MODX_OK) st = alloc_orders(&ld->order_main, ld);
    if (st == MODX_OK) st = alloc_orders(&ld->order_worker, ld);
    if (st == MODX_OK) st = batch_alloc(&ld->slots[0], cfg->batch, ld->image_size, ld->context);
    if (st == MODX_OK && cfg->prefetch) st = start_prefetch(ld);
    if (st != MODX_OK) {
        loader_free(ld);
        return st;
    }
    *out = ld;
    return MODX_OK;
}
