#include "train/featcache.h"

#include <stdlib.h>
#include <string.h>

#include "clip/memory.h"
#include "core/meminfo.h"
#include "data/image.h"

void oldfeat_free(OldFeatCache *fc) {
    if (!fc) return;
    free(fc->img_row), free(fc->cap_row), free(fc->V), free(fc->T);
    memset(fc, 0, sizeof *fc);
}

/* Marks the rows to encode (1 in img/cap) and counts them: the phase's images
 * with the plan's captions (all of theirs without a list), and the replay
 * buffer's pairs. */
static void mark_rows(const OldFeatPlan *p, uint8_t *img, uint8_t *cap, size_t *n_img, size_t *n_cap) {
    const Cache *c = p->cache;
    for (size_t i = 0; i < p->n_images; i++) img[p->images[i]] = 1;
    if (p->captions)
        for (size_t k = 0; k < p->n_captions; k++) cap[p->captions[k]] = 1;
    else
        for (uint64_t m = 0; m < c->n_captions; m++)
            if (img[c->caption_image[m]]) cap[m] = 1;
    /* replay pairs of another cache of the run (ids past this one's) are not
     * cached: the batches drawing them run the old model */
    for (uint32_t k = 0; p->replay && k < p->replay->size; k++)
        if (p->replay->image[k] < c->n_images && p->replay->caption[k] < c->n_captions)
            img[p->replay->image[k]] = 1, cap[p->replay->caption[k]] = 1;
    *n_img = *n_cap = 0;
    for (uint64_t i = 0; i < c->n_images; i++) *n_img += img[i];
    for (uint64_t m = 0; m < c->n_captions; m++) *n_cap += cap[m];
}

static uint64_t cache_bytes(const OldFeatPlan *p, size_t n_img, size_t n_cap) {
    uint64_t E = (uint64_t)p->old->cfg.embed_dim;
    return ((uint64_t)n_img + n_cap) * E * sizeof(float) + (p->cache->n_images + p->cache->n_captions) * sizeof(int32_t);
}

ModxStatus oldfeat_room(const ClipConfig *cfg, int B, uint64_t budget, uint64_t *room) {
    if (budget == 0) {
        uint64_t avail = modx_available_memory();
        *room = avail / 2 > 0 ? avail / 2 : 1;
        return MODX_OK;
    }
    ClipMemoryEstimate est;
    MODX_TRY(clip_memory_estimate(cfg, B, &est));
    uint64_t used = est.total + est.n_params * sizeof(float);
    *room = budget > used ? budget - used : 1;
    return MODX_OK;
}

static ModxStatus check_plan(const OldFeatPlan *p) {
    const Cache *c = p->cache;
    for (size_t i = 0; i < p->n_images; i++)
        if (p->images[i] >= c->n_images)
            return modx_fail(MODX_ERR_INVALID, "old-feature cache: image %u outside the cache's %llu", p->images[i],
                             (unsigned long long)c->n_images);
    for (size_t k = 0; p->captions && k < p->n_captions; k++)
        if (p->captions[k] >= c->n_captions)
            return modx_fail(MODX_ERR_INVALID, "old-feature cache: caption %u outside the cache's %llu", p->captions[k],
                             (unsigned long long)c->n_captions);
    return MODX_OK;
}

ModxStatus oldfeat_bytes(const OldFeatPlan *p, uint64_t *bytes) {
    MODX_TRY(check_plan(p));
    uint8_t *img = calloc(p->cache->n_images + 1, 1), *cap = calloc(p->cache->n_captions + 1, 1);
    if (!img || !cap) return free(img), free(cap), modx_fail(MODX_ERR_NOMEM, "old-feature cache: out of memory");
    size_t ni, nc;
    mark_rows(p, img, cap, &ni, &nc);
    *bytes = cache_bytes(p, ni, nc);
    free(img), free(cap);
    return MODX_OK;
}

/* Encodes the marked rows of one tower in chunks of exactly B (the last one
 * padded with its last row), writing row r of the marked order to out. */
static ModxStatus encode_rows(const OldFeatPlan *p, const uint8_t *mark, uint64_t n, int text, int32_t *row_of,
                              float *out, float *in_px, int32_t *in_tok, float *feat) {
    const Cache *c = p->cache;
    int B = p->B, S = c->image_size, T = c->context, E = p->old->cfg.embed_dim;
    size_t px = (size_t)3 * S * S;
    uint64_t *idx = malloc((size_t)B * sizeof *idx);
    if (!idx) return modx_fail(MODX_ERR_NOMEM, "old-feature cache: out of memory");
    ModxStatus st = MODX_OK;
    int32_t row = 0;
    uint64_t i = 0;
    while (i < n) {
        int k = 0;
        for (; i < n && k < B; i++)
            if (mark[i]) idx[k++] = i;
        if (k == 0) break;
        for (int j = 0; j < B; j++) {
            uint64_t src = idx[j < k ? j : k - 1];
            if (text) memcpy(in_tok + (size_t)j * T, cache_caption_tokens(c, src), (size_t)T * sizeof(int32_t));
            else image_normalize(cache_image_pixels(c, src), S, in_px + (size_t)j * px);
        }
        st = text ? clip_encode_text(p->old, p->acts, in_tok, B, feat)
                  : clip_encode_image(p->old, p->acts, in_px, B, feat);
        if (st != MODX_OK) break;
        for (int j = 0; j < k; j++, row++) {
            row_of[idx[j]] = row;
            memcpy(out + (size_t)row * E, feat + (size_t)j * E, (size_t)E * sizeof(float));
        }
    }
    free(idx);
    return st;
}

static ModxStatus encode_all(OldFeatCache *fc, const OldFeatPlan *p, const uint8_t *img, const uint8_t *cap) {
    const Cache *c = p->cache;
    int B = p->B, S = c->image_size, T = c->context;
    float *px = malloc((size_t)B * 3 * S * S * sizeof(float)), *feat = malloc((size_t)B * fc->E * sizeof(float));
    int32_t *tok = malloc((size_t)B * T * sizeof(int32_t));
    ModxStatus st = px && feat && tok ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "old-feature cache: out of memory");
    if (st == MODX_OK) st = encode_rows(p, img, c->n_images, 0, fc->img_row, fc->V, px, tok, feat);
    if (st == MODX_OK) st = encode_rows(p, cap, c->n_captions, 1, fc->cap_row, fc->T, px, tok, feat);
    free(px), free(feat), free(tok);
    return st;
}

ModxStatus oldfeat_build(OldFeatCache *fc, const OldFeatPlan *p, int *built) {
    memset(fc, 0, sizeof *fc);
    *built = 0;
    MODX_TRY(check_plan(p));
    const Cache *c = p->cache;
    uint8_t *img = calloc(c->n_images + 1, 1), *cap = calloc(c->n_captions + 1, 1);
    if (!img || !cap) return free(img), free(cap), modx_fail(MODX_ERR_NOMEM, "old-feature cache: out of memory");
    mark_rows(p, img, cap, &fc->n_img, &fc->n_cap);
    ModxStatus st = MODX_OK;
    if (p->room == 0 || cache_bytes(p, fc->n_img, fc->n_cap) <= p->room) {
        fc->E = p->old->cfg.embed_dim;
        fc->n_cache_img = c->n_images, fc->n_cache_cap = c->n_captions;
        fc->img_row = malloc((c->n_images + 1) * sizeof(int32_t));
        fc->cap_row = malloc((c->n_captions + 1) * sizeof(int32_t));
        fc->V = malloc((fc->n_img + 1) * (size_t)fc->E * sizeof(float));
        fc->T = malloc((fc->n_cap + 1) * (size_t)fc->E * sizeof(float));
        if (!fc->img_row || !fc->cap_row || !fc->V || !fc->T)
            st = modx_fail(MODX_ERR_NOMEM, "old-feature cache: out of memory for %zu images and %zu captions",
                           fc->n_img, fc->n_cap);
        if (st == MODX_OK) {
            memset(fc->img_row, 0xff, (c->n_images + 1) * sizeof(int32_t));
            memset(fc->cap_row, 0xff, (c->n_captions + 1) * sizeof(int32_t));
            st = encode_all(fc, p, img, cap);
        }
        *built = st == MODX_OK;
    }
    free(img), free(cap);
    if (!*built) oldfeat_free(fc);
    return st;
}

int oldfeat_lookup(const OldFeatCache *fc, const uint32_t *img, const uint32_t *cap, int B, float *Vo, float *To) {
    if (!fc || !fc->V) return 0;
    for (int j = 0; j < B; j++)
        if (img[j] >= fc->n_cache_img || cap[j] >= fc->n_cache_cap || fc->img_row[img[j]] < 0 ||
            fc->cap_row[cap[j]] < 0)
            return 0;
    size_t e = (size_t)fc->E;
    for (int j = 0; j < B; j++) {
        memcpy(Vo + (size_t)j * e, fc->V + (size_t)fc->img_row[img[j]] * e, e * sizeof(float));
        memcpy(To + (size_t)j * e, fc->T + (size_t)fc->cap_row[cap[j]] * e, e * sizeof(float));
    }
    return 1;
}
