/* Manifest reader: JSON Lines, one image per line (see dataset.h). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/closest.h"
#include "data/dataset.h"

static ModxStatus split_from_name(const char *s, int *split) {
    for (int k = DATASET_SPLIT_NONE; k <= DATASET_SPLIT_RESTVAL; k++)
        if (!strcmp(s, dataset_split_name(k))) {
            *split = k;
            return MODX_OK;
        }
    return MODX_ERR_FORMAT;
}

/* One line (not NUL-terminated). Returns MODX_OK when the line was added or skipped. */
/* Every key of a manifest line must be known: a typo ("spilt", "caption")
 * would otherwise be ignored silently. 1 (and *st) when one is not; the
 * message names the closest key. */
static int bad_key(Dataset *ds, int skip, const cJSON *obj, const char *name, size_t lineno, ModxStatus *st) {
    static const char *const known[] = {"image", "captions", "domain", "split", "group"};
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (int k = 0; k < 5; k++) ok |= !strcmp(it->string, known[k]);
        if (ok) continue;
        const char *near = closest_word(it->string, known, 5);
        *st = dataset_bad_item(ds, skip, "%s:%zu: unknown key \"%.64s\"%s%s%s (a manifest line has \"image\", "
                                "\"captions\" (an array of strings), and optionally \"domain\", \"split\" and \"group\")", name, lineno,
                                it->string, near ? "; did you mean \"" : "", near ? near : "", near ? "\"?" : "");
        return 1;
    }
    return 0;
}

/* The line's optional "group" (a string, or an integer written as text). */
static ModxStatus set_group(Dataset *ds, const cJSON *obj, uint32_t index) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(obj, "group");
    if (!g) return MODX_OK;
    char text[32];
    if (cJSON_IsNumber(g)) snprintf(text, sizeof text, "%.17g", g->valuedouble);
    return dataset_set_group(ds, index, cJSON_IsNumber(g) ? text : g->valuestring);
}

/* Each caption checked (a bad one is a bad item); *n_good of *n are usable. */
static ModxStatus check_captions(Dataset *ds, int skip, const cJSON *caps, const char *name, size_t lineno, int *n_good,
                                 int *n) {
    const cJSON *c;
    cJSON_ArrayForEach(c, caps) {
        const char *why = !cJSON_IsString(c) ? "expected a string"
                                             : dataset_caption_problem(c->valuestring, strlen(c->valuestring));
        if (why) MODX_TRY(dataset_bad_item(ds, skip, "%s:%zu: captions[%d]: %s", name, lineno, *n, why));
        else (*n_good)++;
        (*n)++;
    }
    return MODX_OK;
}

static ModxStatus parse_line(Dataset *ds, const char *line, size_t len, const char *name, size_t lineno,
                             const char *root, const DatasetOptions *opt, unsigned mask) {
    int skip = opt->skip_bad;
    size_t off = 0;
    cJSON *obj = dataset_json_parse(line, len, &off);
    ModxStatus st = MODX_OK;
    char *path = NULL;
    if (!obj) {
        char why[256];
        return dataset_bad_item(ds, skip, "%s:%zu: expected one JSON object per line, found %s at column %zu", name,
                                lineno, dataset_json_problem(line, len, off, why, sizeof why), off + 1);
    }
    if (!cJSON_IsObject(obj)) {
        st = dataset_bad_item(ds, skip, "%s:%zu: expected a JSON object {\"image\": ..., \"captions\": [...]}, found %s",
                              name, lineno, cJSON_IsArray(obj) ? "an array" : "a scalar");
        goto done;
    }
    if (bad_key(ds, skip, obj, name, lineno, &st)) goto done;
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(obj, "image");
    if (!cJSON_IsString(img) || !img->valuestring[0]) {
        st = dataset_bad_item(ds, skip, "%s:%zu: \"image\": expected a non-empty string path, found %s", name, lineno,
                              !img ? "no such field" : cJSON_IsString(img) ? "\"\"" : "another type");
        goto done;
    }
    const char *domain_name = opt->domain ? opt->domain : "default";
    const cJSON *dom = cJSON_GetObjectItemCaseSensitive(obj, "domain");
    if (dom) {
        if (!cJSON_IsString(dom) || !dom->valuestring[0]) {
            st = dataset_bad_item(ds, skip, "%s:%zu: \"domain\": expected a non-empty string", name, lineno);
            goto done;
        }
        domain_name = dom->valuestring;
    }
    int split = DATASET_SPLIT_NONE;
    const cJSON *spl = cJSON_GetObjectItemCaseSensitive(obj, "split");
    if (spl) {
        if (!cJSON_IsString(spl) || split_from_name(spl->valuestring, &split) != MODX_OK) {
            st = dataset_bad_item(ds, skip, "%s:%zu: \"split\": expected one of \"train\", \"val\", \"test\", \"restval\"",
                                  name, lineno);
            goto done;
        }
    }
    const cJSON *grp = cJSON_GetObjectItemCaseSensitive(obj, "group");
    if (grp && !cJSON_IsNumber(grp) && !(cJSON_IsString(grp) && grp->valuestring[0])) {
        st = dataset_bad_item(ds, skip, "%s:%zu: \"group\": expected a non-empty string or a number", name, lineno);
        goto done;
    }
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(obj, "captions");
    if (!cJSON_IsArray(caps)) {
        st = dataset_bad_item(ds, skip, "%s:%zu: \"captions\": expected an array of strings, found %s", name, lineno,
                              caps ? "another type" : "no such field");
        goto done;
    }
    /* Validate every caption first so the image is added only with at least one. */
    int n_good = 0, k = 0;
    if ((st = check_captions(ds, skip, caps, name, lineno, &n_good, &k)) != MODX_OK) goto done;
    if (n_good == 0) {
        st = dataset_bad_item(ds, skip, "%s:%zu: image '%s': expected at least one caption, found %s", name, lineno,
                              img->valuestring, k ? "none valid" : "an empty list");
        goto done;
    }
    if (!(mask & (1u << split))) {
        ds->n_filtered++;
        goto done;
    }
    uint32_t domain;
    if ((st = dataset_domain_id(ds, domain_name, &domain)) != MODX_OK) goto done;
    if (!(path = dataset_join_path(root, img->valuestring))) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    uint32_t index;
    if ((st = dataset_add_image(ds, path, domain, split, &index)) != MODX_OK) goto done;
    if ((st = set_group(ds, obj, index)) != MODX_OK) goto done;
    st = dataset_add_json_captions(ds, caps, NULL);
done:
    free(path);
    cJSON_Delete(obj);
    return st;
}

ModxStatus dataset_parse_manifest(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                                  const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    if (!opt) opt = &defaults;
    unsigned mask = opt->splits ? opt->splits : DATASET_SPLITS_ALL;
    size_t lineno = 0, pos = 0, n_items = 0;
    while (pos < n) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - line) : n - pos;
        pos += len + (nl ? 1 : 0);
        lineno++;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue; /* blank line */
        n_items++;
        MODX_TRY(parse_line(ds, line, len, name, lineno, root, opt, mask));
    }
    if (n_items == 0) return modx_fail(MODX_ERR_FORMAT, "%s: expected JSON Lines with one image per line, found no items", name);
    if (ds->n_images == 0 && ds->n_filtered == 0)
        return modx_fail(MODX_ERR_FORMAT, "%s: no usable item (%zu skipped; the first: %s)", name, ds->n_skipped,
                         ds->n_skipped ? ds->skipped[0] : "-");
    return MODX_OK;
}

ModxStatus dataset_read_manifest(Dataset *ds, const char *path, const DatasetOptions *opt) {
    /* image paths are relative to the manifest's own folder */
    const char *slash = strrchr(path, '/');
    char *root = NULL;
    if (slash) {
        size_t nr = slash == path ? 1 : (size_t)(slash - path);
        if (!(root = malloc(nr + 1))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        memcpy(root, path, nr);
        root[nr] = '\0';
    }
    ModxStatus st = dataset_read_with(dataset_parse_manifest, ds, path, root, opt);
    free(root);
    return st;
}
