/* COCO captions_*.json reader; see dataset.h. */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

typedef struct {
    double id;
    uint32_t slot; /* position in images[] */
} IdSlot;

typedef struct {
    const char *file_name; /* NULL: the entry was bad and skipped */
    uint32_t n_caps;
} CocoImage;

static int cmp_id(const void *a, const void *b) {
    const IdSlot *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int is_id(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
           floor(v->valuedouble) == v->valuedouble;
}

/* images[]: each good entry's file name in imgs[i] and (id, i) in ids[];
 * *n_ids counts them. A bad entry is dataset_bad_item's. */
static ModxStatus read_images(Dataset *ds, int skip, const char *name, const cJSON *images, IdSlot *ids,
                              CocoImage *imgs, size_t *n_ids) {
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, images) {
        const cJSON *id = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "id") : NULL;
        const cJSON *fn = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "file_name") : NULL;
        if (!is_id(id) || !cJSON_IsString(fn) || !fn->valuestring[0]) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: images[%zu]: expected {\"id\": non-negative integer, "
                                                "\"file_name\": non-empty string}, found %s", name, i,
                                      !cJSON_IsObject(it) ? "no object" : !is_id(id) ? "a bad \"id\"" : "a bad \"file_name\""));
        } else {
            imgs[i].file_name = fn->valuestring;
            ids[*n_ids].id = id->valuedouble;
            ids[*n_ids].slot = (uint32_t)i;
            (*n_ids)++;
        }
        i++;
    }
    qsort(ids, *n_ids, sizeof *ids, cmp_id);
    for (size_t k = 1; k < *n_ids; k++)
        if (ids[k].id == ids[k - 1].id) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: images[%u]: id %.0f: expected unique image ids, found it again "
                                                "(first at images[%u])", name, ids[k].slot, ids[k].id, ids[k - 1].slot));
            imgs[ids[k].slot].file_name = NULL;
        }
    return MODX_OK;
}

/* The slot of the good image with this id, else UINT32_MAX (ids sorted). */
static uint32_t find_image(const IdSlot *ids, size_t n_ids, const CocoImage *imgs, double id) {
    size_t lo = 0, hi = n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n_ids && ids[lo].id == id && imgs[ids[lo].slot].file_name ? ids[lo].slot : UINT32_MAX;
}

/* annotations[]: each good caption's image slot and text in ann_slot/ann_text
 * (counted per image in imgs[].n_caps); *n_ok counts them. */
static ModxStatus read_annotations(Dataset *ds, int skip, const char *name, const cJSON *anns, const IdSlot *ids,
                                   size_t n_ids, CocoImage *imgs, uint32_t *ann_slot, const cJSON **ann_text,
                                   size_t *n_ok) {
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, anns) {
        const cJSON *iid = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "image_id") : NULL;
        const cJSON *cap = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "caption") : NULL;
        const char *why = NULL;
        if (!is_id(iid)) why = "expected \"image_id\": a non-negative integer";
        else if (!cJSON_IsString(cap)) why = "expected \"caption\": a string";
        else why = dataset_caption_problem(cap->valuestring, strlen(cap->valuestring));
        uint32_t slot = why ? UINT32_MAX : find_image(ids, n_ids, imgs, iid->valuedouble);
        if (why) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: annotations[%zu]: %s", name, i, why));
        } else if (slot == UINT32_MAX) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: annotations[%zu]: image_id %.0f: expected the id of an entry of "
                                                "\"images\", found no such image", name, i, iid->valuedouble));
        } else {
            ann_slot[*n_ok] = slot;
            ann_text[*n_ok] = cap;
            imgs[slot].n_caps++;
            (*n_ok)++;
        }
        i++;
    }
    return MODX_OK;
}

/* Adds every good image that has a caption, with its captions in annotation
 * order (start[k]: image k's first entry of order[]). */
static ModxStatus add_images(Dataset *ds, int skip, const char *name, const char *root, const DatasetOptions *opt,
                             const CocoImage *imgs, size_t n_img, const uint32_t *start, const uint32_t *order,
                             const cJSON **ann_text) {
    uint32_t domain = 0;
    int have_domain = 0;
    for (size_t k = 0; k < n_img; k++) {
        if (!imgs[k].file_name) continue;
        if (imgs[k].n_caps == 0) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: images[%zu] ('%s'): expected at least one caption in "
                                                "\"annotations\", found none", name, k, imgs[k].file_name));
            continue;
        }
        if (!have_domain) {
            MODX_TRY(dataset_domain_id(ds, opt->domain ? opt->domain : "coco", &domain));
            have_domain = 1;
        }
        char *path = dataset_join_path(root, imgs[k].file_name);
        if (!path) return MODX_ERR_NOMEM;
        ModxStatus st = dataset_add_image(ds, path, domain, DATASET_SPLIT_NONE, NULL);
        free(path);
        MODX_TRY(st);
        for (uint32_t c = start[k]; c < start[k] + imgs[k].n_caps; c++) {
            const char *t = ann_text[order[c]]->valuestring;
            MODX_TRY(dataset_add_caption(ds, t, strlen(t)));
        }
    }
    return MODX_OK;
}

ModxStatus dataset_parse_coco(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                              const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    if (!opt) opt = &defaults;
    int skip = opt->skip_bad;
    cJSON *doc;
    MODX_TRY(dataset_json_document(text, n, name, &doc));
    ModxStatus st = MODX_OK;
    IdSlot *ids = NULL;
    CocoImage *imgs = NULL;
    uint32_t *ann_slot = NULL, *order = NULL, *start = NULL;
    const cJSON **ann_text = NULL;
    const cJSON *images = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "images") : NULL;
    const cJSON *anns = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "annotations") : NULL;
    if (!cJSON_IsArray(images) || !cJSON_IsArray(anns)) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected a COCO captions file {\"images\": [...], \"annotations\": [...]}, "
                                        "found no \"%s\" array", name, !cJSON_IsArray(images) ? "images" : "annotations");
        goto done;
    }
    size_t n_img = (size_t)cJSON_GetArraySize(images), n_ann = (size_t)cJSON_GetArraySize(anns);
    if (n_img >= UINT32_MAX || n_ann >= UINT32_MAX) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: too many images or annotations", name);
        goto done;
    }
    ids = modx_calloc(n_img, sizeof *ids, "COCO image ids");
    imgs = modx_calloc(n_img, sizeof *imgs, "COCO images");
    ann_slot = modx_calloc(n_ann, sizeof *ann_slot, "COCO annotations");
    ann_text = modx_calloc(n_ann, sizeof *ann_text, "COCO annotations");
    if (!ids || !imgs || !ann_slot || !ann_text) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    size_t n_ids = 0, n_ok = 0;
    if ((st = read_images(ds, skip, name, images, ids, imgs, &n_ids)) != MODX_OK) goto done;
    if ((st = read_annotations(ds, skip, name, anns, ids, n_ids, imgs, ann_slot, ann_text, &n_ok)) != MODX_OK)
        goto done;
    /* Group captions by image (counting sort, stable in annotation order). */
    start = modx_calloc(n_img + 1, sizeof *start, "COCO caption groups");
    order = modx_calloc(n_ok, sizeof *order, "COCO caption order");
    if (!start || !order) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < n_img; k++) start[k + 1] = start[k] + imgs[k].n_caps;
    for (size_t k = 0; k < n_ok; k++) order[start[ann_slot[k]]++] = (uint32_t)k;
    for (size_t k = n_img; k > 0; k--) start[k] = start[k - 1];
    start[0] = 0;
    if ((st = add_images(ds, skip, name, root, opt, imgs, n_img, start, order, ann_text)) != MODX_OK) goto done;
    if (ds->n_images == 0)
        st = modx_fail(MODX_ERR_FORMAT, "%s: no usable image (%zu images, %zu annotations, %zu skipped)", name, n_img,
                       n_ann, ds->n_skipped);
done:
    free(ids);
    free(imgs);
    free(ann_slot);
    free(ann_text);
    free(order);
    free(start);
    cJSON_Delete(doc);
    return st;
}

ModxStatus dataset_read_coco(Dataset *ds, const char *path, const char *root, const DatasetOptions *opt) {
    return dataset_read_with(dataset_parse_coco, ds, path, root, opt);
}
