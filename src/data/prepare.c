#include "data/prepare.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"
#include "data/cache.h"
#include "data/cache_paths.h"
#include "data/image.h"
#include "tok/bpe.h"

static char OOM_MESSAGE[] = "out of memory"; /* stands for a message that could not be copied */

void prepare_report_free(PrepareReport *rep) {
    for (size_t i = 0; i < rep->n_skipped; i++) free(rep->skipped[i]);
    free(rep->skipped);
    memset(rep, 0, sizeof *rep);
}

static ModxStatus report_skip(PrepareReport *rep, const char *msg) {
    char **s = realloc(rep->skipped, (rep->n_skipped + 1) * sizeof *s);
    if (!s) return modx_fail(MODX_ERR_NOMEM, "out of memory recording a skipped item");
    rep->skipped = s;
    if (!(s[rep->n_skipped] = strdup(msg))) return modx_fail(MODX_ERR_NOMEM, "out of memory recording a skipped item");
    rep->n_skipped++;
    return MODX_OK;
}

/* Decodes every image into its slot of `pixels` (all cores; the output does not
 * depend on the schedule); img_err[i] receives image i's error message. */
static void decode_images(const Dataset *ds, const PrepareOptions *opt, uint8_t *pixels, char **img_err) {
    size_t N = ds->n_images, px = (size_t)opt->image_size * opt->image_size * 3;
    int S = opt->image_size;
    size_t n_done = 0;
    double t0 = omp_get_wtime(), last = t0;
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < (int64_t)N; i++) {
        const DatasetImage *di = &ds->images[i];
        Image img = {0};
        ModxStatus s = di->bytes ? image_decode_limited(&img, di->bytes, di->n_bytes, di->path, NULL, opt->max_image_pixels)
                                 : image_load_limited(&img, di->path, NULL, opt->max_image_pixels);
        if (s == MODX_OK) s = image_resize_crop(&img, S, pixels + (size_t)i * px);
        image_free(&img);
        if (s != MODX_OK) {
            img_err[i] = strdup(modx_last_error());
            if (!img_err[i]) img_err[i] = OOM_MESSAGE;
        }
        size_t done;
#pragma omp atomic capture
        done = ++n_done;
        if (opt->progress && omp_get_thread_num() == 0) { /* one thread reports: never concurrent */
            double now = omp_get_wtime();
            if (now - last >= 0.2) opt->progress(opt->progress_ctx, done, N, now - t0), last = now;
        }
    }
    if (opt->progress) opt->progress(opt->progress_ctx, N, N, omp_get_wtime() - t0);
}

static ModxStatus check_options(const Dataset *ds, const PrepareOptions *opt) {
    size_t N = ds->n_images, M = ds->n_captions;
    int S = opt->image_size, T = opt->context;
    if (N == 0 || M == 0) return modx_fail(MODX_ERR_INVALID, "prepare: the dataset is empty (%zu images, %zu captions)", N, M);
    if (S <= 0 || (unsigned)S > CACHE_MAX_IMAGE_SIZE || T < 2 || (unsigned)T > CACHE_MAX_CONTEXT)
        return modx_fail(MODX_ERR_INVALID, "prepare: expected image size 1..%u and context 2..%u, found %d and %d",
                         CACHE_MAX_IMAGE_SIZE, CACHE_MAX_CONTEXT, S, T);
    if (opt->max_image_pixels > IMAGE_MAX_PIXELS)
        return modx_fail(MODX_ERR_INVALID, "prepare: image pixel limit: expected at most %u, found %llu", IMAGE_MAX_PIXELS,
                         (unsigned long long)opt->max_image_pixels);
    return MODX_OK;
}

/* Tokenizes every caption into its row of `tokens` (the Bpe is read-only,
 * shared by the threads); cap_err[i] receives caption i's error message. */
static void tokenize_captions(const Dataset *ds, const Bpe *bpe, int T, int32_t *tokens, char **cap_err) {
    size_t M = ds->n_captions;
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < (int64_t)M; i++) {
        int used;
        if (bpe_encode(bpe, ds->captions[i].text, tokens + (size_t)i * T, T, &used) != MODX_OK) {
            char buf[1200];
            snprintf(buf, sizeof buf, "caption %lld of image '%s': %s", (long long)i, ds->images[ds->captions[i].image].path,
                     modx_last_error());
            cap_err[i] = strdup(buf);
            if (!cap_err[i]) cap_err[i] = OOM_MESSAGE;
        }
    }
}

/* A bad item: the error without skip_bad, else recorded in rep. */
static ModxStatus bad_item(const PrepareOptions *opt, PrepareReport *rep, const char *why) {
    if (!opt->skip_bad) return modx_fail(MODX_ERR_FORMAT, "%s (use --skip-bad to leave such items out)", why);
    return report_skip(rep, why);
}

/* cap_keep[i] = 1 for a caption that tokenized and whose image decoded;
 * without skip_bad the first bad caption (in index order) is the error. */
static ModxStatus keep_captions(const Dataset *ds, const PrepareOptions *opt, char **cap_err, char **img_err,
                                uint8_t *cap_keep, PrepareReport *rep) {
    for (size_t i = 0; i < ds->n_captions; i++) {
        if (cap_err[i]) {
            MODX_TRY(bad_item(opt, rep, cap_err[i]));
        } else if (!img_err[ds->captions[i].image]) {
            cap_keep[i] = 1;
        }
    }
    return MODX_OK;
}

/* Keeps each image that decoded and has a caption left, moving its pixels
 * down to its new index (new_index[i], UINT32_MAX for a dropped image). */
static ModxStatus keep_images(const Dataset *ds, const PrepareOptions *opt, char **img_err, const uint8_t *cap_keep,
                              uint32_t *new_index, uint8_t *pixels, PrepareReport *rep, size_t *n_keep_out) {
    size_t N = ds->n_images, M = ds->n_captions, px = (size_t)opt->image_size * opt->image_size * 3;
    size_t *n_caps = modx_calloc(N, sizeof *n_caps, "caption counts");
    if (!n_caps) return MODX_ERR_NOMEM;
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < M; i++) n_caps[ds->captions[i].image] += cap_keep[i];
    size_t n_keep = 0;
    for (size_t i = 0; i < N; i++) {
        const char *why = img_err[i];
        char buf[1200];
        if (!why && n_caps[i] == 0) {
            snprintf(buf, sizeof buf, "image '%s': no caption left", ds->images[i].path);
            why = buf;
        }
        if (why) {
            if ((st = bad_item(opt, rep, why)) != MODX_OK) goto done;
            new_index[i] = UINT32_MAX;
            continue;
        }
        new_index[i] = (uint32_t)n_keep;
        if (n_keep != i) memmove(pixels + n_keep * px, pixels + i * px, px);
        n_keep++;
    }
    *n_keep_out = n_keep;
done:
    free(n_caps);
    return st;
}

/* The kept images' domains and splits at their new indices. */
static void compact_images(const Dataset *ds, const uint32_t *new_index, uint32_t *img_domain, uint8_t *img_split) {
    for (size_t i = 0; i < ds->n_images; i++)
        if (new_index[i] != UINT32_MAX) {
            img_domain[new_index[i]] = ds->images[i].domain;
            img_split[new_index[i]] = ds->images[i].split;
        }
}

/* CACHE.paths (data/cache_paths.h): the kept images' paths at their new indices. */
static ModxStatus write_paths(const Dataset *ds, const uint32_t *new_index, size_t n_keep, const char *out_path) {
    const char **kept = modx_calloc(n_keep, sizeof *kept, "image paths");
    if (!kept) return MODX_ERR_NOMEM;
    for (size_t i = 0; i < ds->n_images; i++)
        if (new_index[i] != UINT32_MAX) kept[new_index[i]] = ds->images[i].path;
    ModxStatus st = cache_paths_write(out_path, kept, n_keep);
    free(kept);
    return st;
}

/* The kept captions' token rows moved down, with their images' new indices
 * and their texts; returns their number. */
static size_t compact_captions(const Dataset *ds, int T, const uint8_t *cap_keep, const uint32_t *new_index,
                               int32_t *tokens, uint32_t *cap_image, const char **texts) {
    size_t m_keep = 0;
    for (size_t i = 0; i < ds->n_captions; i++) {
        if (!cap_keep[i]) continue;
        if (m_keep != i) memmove(tokens + m_keep * T, tokens + i * T, (size_t)T * sizeof *tokens);
        cap_image[m_keep] = new_index[ds->captions[i].image];
        texts[m_keep] = ds->captions[i].text;
        m_keep++;
    }
    return m_keep;
}

static void free_messages(char **err, size_t n) {
    if (err)
        for (size_t i = 0; i < n; i++)
            if (err[i] != OOM_MESSAGE) free(err[i]);
    free(err);
}

ModxStatus data_prepare(const Dataset *ds, const PrepareOptions *opt, const char *out_path, PrepareReport *rep) {
    memset(rep, 0, sizeof *rep);
    size_t N = ds->n_images, M = ds->n_captions;
    int S = opt->image_size, T = opt->context;
    MODX_TRY(check_options(ds, opt));
    Bpe *bpe = NULL;
    CacheWriter *w = NULL;
    ModxStatus st;
    uint32_t vocab_crc;
    int32_t *tokens = NULL;
    char **cap_err = NULL, **img_err = NULL;
    uint32_t *new_index = NULL, *cap_image = NULL, *img_domain = NULL;
    uint8_t *img_split = NULL, *cap_keep = NULL;
    const char **texts = NULL;
    if ((st = cache_file_crc32(opt->vocab_path, &vocab_crc)) != MODX_OK) return st;
    if ((st = bpe_load(&bpe, opt->vocab_path)) != MODX_OK) return st;
    size_t n_tok;
    if (!size_mul(M, (size_t)T, &n_tok)) {
        st = modx_fail(MODX_ERR_INVALID, "prepare: %zu captions × context %d overflows", M, T);
        goto done;
    }
    tokens = modx_calloc(n_tok, sizeof *tokens, "caption tokens");
    cap_err = modx_calloc(M, sizeof *cap_err, "caption errors");
    img_err = modx_calloc(N, sizeof *img_err, "image errors");
    cap_keep = modx_calloc(M, 1, "caption flags");
    new_index = modx_calloc(N, sizeof *new_index, "image index");
    if (!tokens || !cap_err || !img_err || !cap_keep || !new_index) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    tokenize_captions(ds, bpe, T, tokens, cap_err);
    /* Decode each image once into its slot of the cache's pixel area. */
    if ((st = cache_writer_open(&w, out_path, N, S)) != MODX_OK) goto done;
    uint8_t *pixels = cache_writer_pixels(w);
    decode_images(ds, opt, pixels, img_err);
    /* Decide what is kept; without skip_bad the first problem (in index order) is the error. */
    if ((st = keep_captions(ds, opt, cap_err, img_err, cap_keep, rep)) != MODX_OK) goto done;
    size_t n_keep = 0;
    if ((st = keep_images(ds, opt, img_err, cap_keep, new_index, pixels, rep, &n_keep)) != MODX_OK) goto done;
    if (n_keep == 0) {
        st = modx_fail(MODX_ERR_FORMAT, "prepare: no image left (%zu skipped; the first: %s)", rep->n_skipped,
                       rep->n_skipped ? rep->skipped[0] : "-");
        goto done;
    }
    /* Compact the per-image and per-caption arrays. */
    img_domain = modx_calloc(n_keep, sizeof *img_domain, "image domains");
    img_split = modx_calloc(n_keep, 1, "image splits");
    cap_image = modx_calloc(M, sizeof *cap_image, "caption images");
    texts = modx_calloc(M, sizeof *texts, "caption texts");
    if (!img_domain || !img_split || !cap_image || !texts) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    compact_images(ds, new_index, img_domain, img_split);
    size_t m_keep = compact_captions(ds, T, cap_keep, new_index, tokens, cap_image, texts);
    CacheMeta meta = {.n_images = n_keep, .n_captions = m_keep, .image_size = S, .context = T,
                      .vocab_size = bpe_vocab_size(bpe), .vocab_crc = vocab_crc, .tokens = tokens,
                      .caption_image = cap_image, .image_domain = img_domain, .image_split = img_split,
                      .domain_names = (const char *const *)ds->domains, .n_domains = ds->n_domains,
                      .caption_texts = texts};
    st = cache_writer_finish(w, &meta);
    w = NULL;
    if (st == MODX_OK) st = write_paths(ds, new_index, n_keep, out_path);
    if (st == MODX_OK) {
        rep->n_images = n_keep;
        rep->n_captions = m_keep;
    }
done:
    if (w) cache_writer_abort(w);
    free_messages(cap_err, M);
    free_messages(img_err, N);
    free(tokens);
    free(cap_keep);
    free(new_index);
    free(img_domain);
    free(img_split);
    free(cap_image);
    free(texts);
    bpe_free(bpe);
    return st;
}
