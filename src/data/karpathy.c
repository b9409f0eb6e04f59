/* Karpathy split files (dataset_coco.json, dataset_flickr30k.json); see dataset.h. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

/* Line and column (1-based) of byte `off` in text, for messages about malformed JSON. */
static void line_col(const char *text, size_t off, size_t *line, size_t *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

ModxStatus dataset_json_document(const char *text, size_t n, const char *name, cJSON **out) {
    size_t off = 0, line, col;
    *out = dataset_json_parse(text, n, &off);
    if (*out) return MODX_OK;
    line_col(text, off, &line, &col);
    char why[256];
    return modx_fail(MODX_ERR_FORMAT, "%s:%zu:%zu: expected a JSON document, found %s", name, line, col,
                     dataset_json_problem(text, n, off, why, sizeof why));
}

static int split_of(const char *s) {
    for (int k = DATASET_SPLIT_TRAIN; k <= DATASET_SPLIT_RESTVAL; k++)
        if (!strcmp(s, dataset_split_name(k))) return k;
    return -1;
}

static ModxStatus parse_image(Dataset *ds, const cJSON *it, size_t i, const char *name, const char *root,
                              const char *domain_name, const DatasetOptions *opt, unsigned mask) {
    int skip = opt->skip_bad;
    if (!cJSON_IsObject(it)) return dataset_bad_item(ds, skip, "%s: images[%zu]: expected an object", name, i);
    const cJSON *fname = cJSON_GetObjectItemCaseSensitive(it, "filename");
    const cJSON *fpath = cJSON_GetObjectItemCaseSensitive(it, "filepath");
    const cJSON *spl = cJSON_GetObjectItemCaseSensitive(it, "split");
    const cJSON *sents = cJSON_GetObjectItemCaseSensitive(it, "sentences");
    if (!cJSON_IsString(fname) || !fname->valuestring[0])
        return dataset_bad_item(ds, skip, "%s: images[%zu]: \"filename\": expected a non-empty string", name, i);
    const char *fn = fname->valuestring;
    if (fpath && (!cJSON_IsString(fpath) || !fpath->valuestring[0]))
        return dataset_bad_item(ds, skip, "%s: images[%zu] ('%s'): \"filepath\": expected a non-empty string", name, i, fn);
    int split = cJSON_IsString(spl) ? split_of(spl->valuestring) : -1;
    if (split < 0)
        return dataset_bad_item(ds, skip,
                                "%s: images[%zu] ('%s'): \"split\": expected \"train\", \"val\", \"test\" or \"restval\"",
                                name, i, fn);
    if (!cJSON_IsArray(sents))
        return dataset_bad_item(ds, skip, "%s: images[%zu] ('%s'): \"sentences\": expected an array of {\"raw\": text}",
                                name, i, fn);
    int n_good = 0, k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, sents) {
        const cJSON *raw = cJSON_IsObject(s) ? cJSON_GetObjectItemCaseSensitive(s, "raw") : NULL;
        const char *why = !cJSON_IsString(raw) ? "expected an object with a string \"raw\""
                                               : dataset_caption_problem(raw->valuestring, strlen(raw->valuestring));
        if (why) {
            MODX_TRY(dataset_bad_item(ds, skip, "%s: images[%zu] ('%s'): sentences[%d]: %s", name, i, fn, k, why));
        } else {
            n_good++;
        }
        k++;
    }
    if (n_good == 0)
        return dataset_bad_item(ds, skip, "%s: images[%zu] ('%s'): expected at least one caption, found %s", name, i, fn,
                                k ? "none valid" : "an empty \"sentences\" list");
    if (!(mask & (1u << split))) {
        ds->n_filtered++;
        return MODX_OK;
    }
    uint32_t domain;
    MODX_TRY(dataset_domain_id(ds, domain_name, &domain));
    /* COCO images live under root/filepath/filename, Flickr30K under root/filename. */
    char *rel = fpath ? dataset_join_path(fpath->valuestring, fn) : dataset_join_path("", fn);
    char *full = rel ? dataset_join_path(root, rel) : NULL;
    free(rel);
    if (!full) return MODX_ERR_NOMEM;
    ModxStatus st = dataset_add_image(ds, full, domain, split, NULL);
    free(full);
    MODX_TRY(st);
    return dataset_add_json_captions(ds, sents, "raw");
}

ModxStatus dataset_parse_karpathy(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                                  const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    if (!opt) opt = &defaults;
    unsigned mask = opt->splits ? opt->splits : DATASET_SPLITS_ALL;
    cJSON *doc;
    MODX_TRY(dataset_json_document(text, n, name, &doc));
    ModxStatus st = MODX_OK;
    const cJSON *images = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "images") : NULL;
    if (!cJSON_IsArray(images)) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected a Karpathy split file {\"images\": [...], \"dataset\": ...}, "
                                        "found no \"images\" array", name);
        goto done;
    }
    const char *domain_name = opt->domain;
    const cJSON *dsname = cJSON_GetObjectItemCaseSensitive(doc, "dataset");
    if (!domain_name) domain_name = cJSON_IsString(dsname) && dsname->valuestring[0] ? dsname->valuestring : "default";
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, images) {
        if ((st = parse_image(ds, it, i, name, root, domain_name, opt, mask)) != MODX_OK) goto done;
        i++;
    }
    if (ds->n_images == 0 && ds->n_filtered == 0)
        st = modx_fail(MODX_ERR_FORMAT, "%s: no usable image (%zu in the file, %zu skipped)", name, i, ds->n_skipped);
done:
    cJSON_Delete(doc);
    return st;
}

ModxStatus dataset_read_karpathy(Dataset *ds, const char *path, const char *root, const DatasetOptions *opt) {
    return dataset_read_with(dataset_parse_karpathy, ds, path, root, opt);
}
