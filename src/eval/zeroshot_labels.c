#include "eval/zeroshot_labels.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache_paths.h"
#include "eval/zeroshot_run.h"
#include "io/file.h"

void zs_names_free(ZsNames *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int zs_names_find(const ZsNames *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s)) return i;
    return -1;
}

ModxStatus zs_names_add(ZsNames *l, const char *s, size_t len) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p) return modx_fail(MODX_ERR_NOMEM, "out of memory for zero-shot names");
        l->items = p, l->cap = cap;
    }
    char *d = malloc(len + 1);
    if (!d) return modx_fail(MODX_ERR_NOMEM, "out of memory for zero-shot names");
    memcpy(d, s, len);
    d[len] = 0;
    l->items[l->n++] = d;
    return MODX_OK;
}

ModxStatus zs_read_lines(const char *path, const char *what, ZsNames *out) {
    uint8_t *buf = NULL;
    size_t n = 0;
    MODX_TRY(io_read_file(path, &buf, &n));
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < n && st == MODX_OK;) {
        size_t j = i;
        while (j < n && buf[j] != '\n') j++;
        size_t e = j;
        while (e > i && (buf[e - 1] == '\r' || buf[e - 1] == ' ' || buf[e - 1] == '\t')) e--;
        size_t b = i;
        while (b < e && (buf[b] == ' ' || buf[b] == '\t')) b++;
        if (e > b) st = zs_names_add(out, (const char *)buf + b, e - b);
        i = j + 1;
    }
    free(buf);
    if (st == MODX_OK && out->n == 0) st = modx_fail(MODX_ERR_INVALID, "%s: no %s (one per line)", path, what);
    return st;
}

ModxStatus zs_read_templates(const char *path, ZsNames *out) {
    if (!path) return zs_names_add(out, ZEROSHOT_DEFAULT_TEMPLATE, strlen(ZEROSHOT_DEFAULT_TEMPLATE));
    MODX_TRY(zs_read_lines(path, "templates", out));
    for (int i = 0; i < out->n; i++)
        if (!strstr(out->items[i], "{}"))
            return modx_fail(MODX_ERR_INVALID, "%s: template %d (\"%s\") has no {} for the class name", path, i + 1,
                             out->items[i]);
    return MODX_OK;
}

void zs_labelled_free(ZsLabelled *z) {
    free(z->images), free(z->label_of);
    zs_names_free(&z->seen);
    memset(z, 0, sizeof *z);
}

/* first[i]: the first caption of image i, UINT64_MAX when it has none. */
static ModxStatus first_captions(const Cache *c, uint64_t **first) {
    *first = malloc((size_t)(c->n_images ? c->n_images : 1) * sizeof **first);
    if (!*first) return modx_fail(MODX_ERR_NOMEM, "out of memory for zero-shot labels");
    for (uint64_t i = 0; i < c->n_images; i++) (*first)[i] = UINT64_MAX;
    for (uint64_t j = c->n_captions; j-- > 0;) (*first)[c->caption_image[j]] = j;
    return MODX_OK;
}

static ModxStatus caption_label(ZsLabelled *z, const Cache *c, const uint64_t *first, int i) {
    uint32_t im = z->images[i];
    if (first[im] == UINT64_MAX)
        return modx_fail(MODX_ERR_INVALID, "image %u has no caption to take its label from", im);
    const char *s = c->text + c->text_offsets[first[im]];
    int l = zs_names_find(&z->seen, s);
    if (l < 0) {
        MODX_TRY(zs_names_add(&z->seen, s, strlen(s)));
        l = z->seen.n - 1;
    }
    z->label_of[i] = l;
    return MODX_OK;
}

ModxStatus zs_label_images(ZsLabelled *z, const Cache *c, ZsLabelSource src, const uint32_t *images, size_t n) {
    memset(z, 0, sizeof *z);
    if (n > INT32_MAX) return modx_fail(MODX_ERR_INVALID, "%zu images are too many to classify", n);
    z->images = malloc((n ? n : 1) * sizeof *z->images);
    z->label_of = malloc((n ? n : 1) * sizeof *z->label_of);
    if (!z->images || !z->label_of) return modx_fail(MODX_ERR_NOMEM, "out of memory for zero-shot labels");
    if (n) memcpy(z->images, images, n * sizeof *images);
    z->n = (int)n;
    if (src == ZS_LABELS_DOMAIN) {
        for (uint64_t d = 0; d < c->n_domains; d++)
            MODX_TRY(zs_names_add(&z->seen, c->domain_names[d], strlen(c->domain_names[d])));
        for (int i = 0; i < z->n; i++) z->label_of[i] = (int32_t)c->image_domain[z->images[i]];
        return MODX_OK;
    }
    uint64_t *first;
    MODX_TRY(first_captions(c, &first));
    ModxStatus st = MODX_OK;
    for (int i = 0; i < z->n && st == MODX_OK; i++) st = caption_label(z, c, first, i);
    free(first);
    return st;
}

/* The cache index of a labels line's "image": an index, or a path looked up in
 * the cache's paths file (loaded into *paths on first use; cache_path NULL:
 * none known). */
static ModxStatus label_image(const cJSON *im, const Cache *c, const char *cache_path, char ***paths, const char *path,
                              long line, uint32_t *index) {
    if (cJSON_IsString(im)) {
        if (!*paths && cache_path) MODX_TRY(cache_paths_read(cache_path, c->n_images, paths));
        if (!*paths)
            return modx_fail(MODX_ERR_INVALID, "%s:%ld: image \"%s\": the cache %s has no image paths (prepare it "
                             "again with modx data prepare, or give the image's index)", path, line, im->valuestring,
                             cache_path ? cache_path : "of this test set");
        uint64_t k;
        ModxStatus st = cache_paths_find(*paths, c->n_images, im->valuestring, &k);
        if (st != MODX_OK) {
            modx_error_prefix("%s:%ld: ", path, line);
            return st;
        }
        *index = (uint32_t)k;
        return MODX_OK;
    }
    if (im->valuedouble != floor(im->valuedouble) || im->valuedouble < 0 || im->valuedouble >= (double)c->n_images)
        return modx_fail(MODX_ERR_INVALID, "%s:%ld: image %g is not an image index of the cache (0 to %llu)", path, line,
                         im->valuedouble, (unsigned long long)c->n_images - 1);
    *index = (uint32_t)im->valuedouble;
    return MODX_OK;
}

/* One {"image": INDEX or "PATH", "label": "name"} line into z. */
static ModxStatus label_line(ZsLabelled *z, const Cache *c, const char *cache_path, char ***paths, const char *path,
                             long line, const char *s, size_t len) {
    cJSON *o = cJSON_ParseWithLength(s, len);
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(o, "image"), *lb = cJSON_GetObjectItemCaseSensitive(o, "label");
    ModxStatus st = MODX_OK;
    uint32_t index = 0;
    if (!cJSON_IsObject(o) || !(cJSON_IsNumber(im) || cJSON_IsString(im)) || !cJSON_IsString(lb) ||
        !lb->valuestring[0]) {
        st = modx_fail(MODX_ERR_INVALID, "%s:%ld: expected {\"image\": INDEX or \"PATH\", \"label\": \"name\"}", path,
                       line);
    } else if ((st = label_image(im, c, cache_path, paths, path, line, &index)) == MODX_OK) {
        int l = zs_names_find(&z->seen, lb->valuestring);
        if (l < 0) st = zs_names_add(&z->seen, lb->valuestring, strlen(lb->valuestring));
        if (l < 0) l = z->seen.n - 1;
        z->images[z->n] = index;
        z->label_of[z->n++] = l;
    }
    cJSON_Delete(o);
    return st;
}

ModxStatus zs_label_file(ZsLabelled *z, const Cache *c, const char *cache_path, const char *path) {
    memset(z, 0, sizeof *z);
    uint8_t *buf = NULL;
    size_t len = 0;
    char **paths = NULL;
    MODX_TRY(io_read_file(path, &buf, &len));
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += buf[i] == '\n';
    z->images = calloc(cap, sizeof *z->images);
    z->label_of = calloc(cap, sizeof *z->label_of);
    ModxStatus st = z->images && z->label_of ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "out of memory for %s", path);
    long line = 0;
    for (size_t i = 0; i < len && st == MODX_OK;) {
        size_t j = i;
        while (j < len && buf[j] != '\n') j++;
        line++;
        size_t k = i;
        while (k < j && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) k++;
        if (k < j) st = label_line(z, c, cache_path, &paths, path, line, (const char *)buf + i, j - i);
        i = j + 1;
    }
    free(buf);
    cache_paths_free(paths, c->n_images);
    if (st == MODX_OK && z->n == 0) st = modx_fail(MODX_ERR_INVALID, "%s: no labelled images", path);
    return st;
}

ModxStatus zs_class_labels(const ZsNames *cls, const ZsLabelled *z, const char *classes_path, int32_t **labels) {
    *labels = calloc((size_t)z->n + 1, sizeof **labels);
    if (!*labels) return modx_fail(MODX_ERR_NOMEM, "out of memory for zero-shot labels");
    for (int i = 0; i < z->n; i++) {
        int k = zs_names_find(cls, z->seen.items[z->label_of[i]]);
        if (k < 0)
            return modx_fail(MODX_ERR_INVALID, "image %u has label \"%s\", which is not in %s", z->images[i],
                             z->seen.items[z->label_of[i]], classes_path ? classes_path : "the classes");
        (*labels)[i] = k;
    }
    return MODX_OK;
}
