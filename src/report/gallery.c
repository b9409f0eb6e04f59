#include "report/gallery.h"

#include <cJSON.h>
#include <math.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/selection.h"
#include "eval/encode.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "run/continual.h"
#include "run/experiment.h"
#include "run/rundir.h"

void run_gallery_free(RunGallery *g) {
    for (size_t i = 0; i < GALLERY_CAPTIONS; i++) free(g->captions[i]);
    for (size_t i = 0; i < GALLERY_MAX_MODELS; i++) free(g->models[i]);
    for (size_t i = 0; i < sizeof g->thumbs / sizeof g->thumbs[0]; i++) free(g->thumbs[i]);
    memset(g, 0, sizeof *g);
}

ModxStatus gallery_png_uri(const uint8_t *rgb, int S, char **uri) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    *uri = NULL;
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx) return modx_fail(MODX_ERR_NOMEM, "gallery: out of memory for a PNG encoder");
    struct spng_ihdr ihdr = {.width = (uint32_t)S, .height = (uint32_t)S, .bit_depth = 8,
                             .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
    int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    if (!err) err = spng_encode_image(ctx, rgb, (size_t)S * (size_t)S * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    size_t n = 0;
    uint8_t *png = err ? NULL : spng_get_png_buffer(ctx, &n, &err);
    spng_ctx_free(ctx);
    if (!png) return modx_fail(MODX_ERR_INVALID, "gallery: PNG encoding of a %dx%d thumbnail failed: %s", S, S,
                               spng_strerror(err));
    static const char head[] = "data:image/png;base64,";
    char *o = malloc(sizeof head + (n + 2) / 3 * 4);
    if (o) {
        char *w = o + sizeof head - 1;
        memcpy(o, head, sizeof head - 1);
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)png[i] << 16 | (i + 1 < n ? (uint32_t)png[i + 1] << 8 : 0) | (i + 2 < n ? png[i + 2] : 0);
            *w++ = b64[v >> 18 & 63], *w++ = b64[v >> 12 & 63];
            *w++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
            *w++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *w = '\0';
    }
    free(png);
    *uri = o;
    return o ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "gallery: out of memory");
}

/* The test set's cache and images, through the run's experiment.json (its
 * owner, run/experiment.h) and the selection module: the images the run
 * evaluated it on (split, domains; the seeded sample too). */
static ModxStatus gallery_test_set(const char *dir, const char *name, char *cache, size_t cap, Cache **c,
                                   uint32_t **imgs, size_t *n) {
    Experiment e;
    MODX_TRY(continual_load_run_experiment(&e, dir));
    int t = experiment_find_test(&e, name);
    ModxStatus st = MODX_OK;
    if (t < 0) st = modx_fail(MODX_ERR_FORMAT, "%s/experiment.json: no test set \"%s\"", dir, name);
    const ExpTestSet *ts = t >= 0 ? &e.tests[t] : NULL;
    if (!st) {
        const ExpDataset *d = &e.datasets[ts->sel.dataset];
        if (d->cache) snprintf(cache, cap, "%s", d->cache);
        else if (!run_data_cache_path(cache, cap, dir, d->name)) st = modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    }
    if (!st) st = cache_open(c, cache, 0);
    if (!st) {
        Selection sel = {.splits = ts->sel.split_mask, .domains = (const char *const *)ts->sel.domains,
                         .n_domains = (size_t)ts->sel.n_domains};
        st = selection_apply(*c, &sel, imgs, n);
    }
    if (!st) selection_sample(*imgs, n, (size_t)ts->sample, e.hp.seed, RUN_TEST_SAMPLE_STREAM + (uint64_t)t);
    experiment_free(&e);
    return st;
}

/* Top GALLERY_TOP images (positions) for each chosen caption under one checkpoint. */
static ModxStatus gallery_model(RunGallery *g, size_t mi, const char *ckpt, const Cache *c, const uint32_t *imgs,
                                size_t n, const uint32_t *caps, const size_t *own) {
    ClipModel *m = NULL;
    EncodedSet es;
    memset(&es, 0, sizeof es);
    ModxStatus st = checkpoint_load(&m, ckpt, NULL);
    if (!st) st = eval_encode(&es, m, c, "gallery", imgs, n, 64);
    for (size_t q = 0; q < g->view.ncaptions && !st; q++) {
        const float *t = NULL;
        for (int r = 0; r < es.n_captions && !t; r++)
            if (es.caption_ids[r] == caps[q]) t = es.text_features + (size_t)r * (size_t)es.E;
        if (!t) {
            st = modx_fail(MODX_ERR_INVALID, "gallery: caption %u not among the encoded captions", caps[q]);
            break;
        }
        size_t top[GALLERY_TOP], K = n < GALLERY_TOP ? n : GALLERY_TOP; /* a test set may hold fewer images */
        double prev = INFINITY;
        size_t prev_i = SIZE_MAX;
        for (size_t k = 0; k < K; k++) { /* the next best after (prev, prev_i) in (score desc, index asc) */
            double best = -INFINITY;
            size_t bi = SIZE_MAX;
            for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (int e = 0; e < es.E; e++) s += (double)t[e] * es.image_features[i * (size_t)es.E + (size_t)e];
                int after = s < prev || (s == prev && i > prev_i);
                if (after && (s > best || bi == SIZE_MAX)) best = s, bi = i;
            }
            top[k] = bi, prev = best, prev_i = bi;
        }
        for (size_t k = 0; k < K && !st; k++) {
            size_t cell = (q * g->view.nmodels + mi) * GALLERY_TOP + k;
            g->hit[cell] = top[k] == own[q];
            st = gallery_png_uri(cache_image_pixels(c, imgs[top[k]]), c->image_size, &g->thumbs[cell]);
        }
    }
    encoded_set_free(&es);
    clip_model_free(m);
    return st;
}

/* The checkpoints shown: phase 0, then finetune, modx and the best Last after the last phase, when present. */
static size_t gallery_pick_models(const char *dir, const RunInfo *run, const RunSummary *sum,
                                  char paths[GALLERY_MAX_MODELS][4096], char labels[GALLERY_MAX_MODELS][128]) {
    size_t nm = 0;
    snprintf(paths[nm], 4096, "%s/phase0/model.safetensors", dir);
    snprintf(labels[nm], 128, "phase 0 (start)");
    if (io_file_exists(paths[nm])) nm++;
    int best = -1;
    for (int k = 0; k < sum->ns; k++)
        if (strcmp(sum->s[k].name, RUN_JOINT) && isfinite(sum->s[k].fig.last) &&
            (best < 0 || sum->s[k].fig.last > sum->s[best].fig.last))
            best = k;
    const char *want[3] = {"finetune", "modx", best >= 0 ? sum->s[best].name : NULL};
    for (int w = 0; w < 3 && nm < GALLERY_MAX_MODELS; w++) {
        if (!want[w] || (w == 2 && (!strcmp(want[w], "finetune") || !strcmp(want[w], "modx")))) continue;
        snprintf(paths[nm], 4096, "%s/%s/phase%d/model.safetensors", dir, want[w], run->phases);
        snprintf(labels[nm], 128, "%s after phase %d%s", want[w], run->phases, w == 2 ? " (best Last)" : "");
        if (io_file_exists(paths[nm])) nm++;
    }
    return nm;
}

ModxStatus run_gallery_build(RunGallery *g, const char *dir, const RunInfo *run, const RunSummary *sum) {
    memset(g, 0, sizeof *g);
    const char *name = NULL;
    for (int t = 0; t < run->ntest_sets && !name; t++)
        if (run->test_sets[t].role == RUN_SET_DOMAIN && run->test_sets[t].first_phase == 0) name = run->test_sets[t].name;
    if (!name) return modx_fail(MODX_ERR_INVALID, "no domain test set of phase 0 in run.json");
    char cache[4096];
    Cache *c = NULL;
    uint32_t *imgs = NULL, caps[GALLERY_CAPTIONS];
    size_t n = 0, own[GALLERY_CAPTIONS];
    static char paths[GALLERY_MAX_MODELS][4096], labels[GALLERY_MAX_MODELS][128];
    ModxStatus st = gallery_test_set(dir, name, cache, sizeof cache, &c, &imgs, &n);
    size_t nm = st ? 0 : gallery_pick_models(dir, run, sum, paths, labels);
    if (!st && nm == 0) st = modx_fail(MODX_ERR_IO, "no checkpoint to show (%s/phase0/model.safetensors)", dir);
    size_t nc = n < GALLERY_CAPTIONS ? n : GALLERY_CAPTIONS;
    for (size_t q = 0; q < nc && !st; q++) {
        own[q] = q * n / nc;
        caps[q] = UINT32_MAX;
        for (uint64_t k = 0; k < c->n_captions && caps[q] == UINT32_MAX; k++)
            if (c->caption_image[k] == imgs[own[q]]) caps[q] = (uint32_t)k;
        size_t len = 0;
        const char *text = caps[q] == UINT32_MAX ? NULL : cache_caption_text(c, caps[q], &len);
        if (!text || !(g->captions[q] = strndup(text, len)))
            st = modx_fail(MODX_ERR_INVALID, "gallery: image %u of %s has no caption text", imgs[own[q]], cache);
    }
    g->view = (ReportGallery){.ncaptions = nc, .nmodels = nm, .captions = (const char *const *)g->captions,
                              .models = (const char *const *)g->models, .thumbs = (const char *const *)g->thumbs,
                              .hit = g->hit, .title = g->title};
    snprintf(g->title, sizeof g->title, "%s", name);
    for (size_t mi = 0; mi < nm && !st; mi++) {
        if (!(g->models[mi] = strdup(labels[mi]))) st = modx_fail(MODX_ERR_NOMEM, "gallery: out of memory");
        if (!st) st = gallery_model(g, mi, paths[mi], c, imgs, n, caps, own);
    }
    free(imgs);
    if (c) cache_close(c);
    return st;
}
