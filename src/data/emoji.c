#include "data/emoji.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"

const char *const EMOJI_VENDORS[EMOJI_N_VENDORS] = {"apple", "google", "twitter", "facebook"};

#define EMOJI_MAX_TAGS 5

typedef struct {
    char key[128];       /* normalised hexcode */
    const char *label;
    const cJSON *tags;   /* the base emoji's tags (array) or NULL */
    uint32_t base;       /* index of the base emoji */
    uint32_t order;      /* position in data.json order (tie-break) */
    int is_base;         /* 1 for the base emoji, 0 for a skin variant */
} Entry;

/* Upper-case, FE0F parts removed: "1f44b-fe0f" -> "1F44B". 0 when it does not fit or is not hex. */
static int normalise_hex(const char *in, size_t n, char *out, size_t cap) {
    size_t o = 0, i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && in[j] != '-') j++;
        size_t len = j - i;
        if (len == 0 || len > 8) return 0;
        char part[9];
        for (size_t k = 0; k < len; k++) {
            if (!isxdigit((unsigned char)in[i + k])) return 0;
            part[k] = (char)toupper((unsigned char)in[i + k]);
        }
        part[len] = '\0';
        if (strcmp(part, "FE0F")) {
            if (o + len + 2 > cap) return 0;
            if (o) out[o++] = '-';
            memcpy(out + o, part, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0) return 0;
    out[o] = '\0';
    return 1;
}

static int cmp_entry(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return (x->order > y->order) - (x->order < y->order);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_dup(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

int emoji_captions(const char *label, const char *const *tags, size_t n_tags, char *out[4]) {
    int k = 0;
    const char *art = strchr("aeiouAEIOU", label[0]) && label[0] ? "an" : "a";
    out[k++] = fmt_dup("%s", label);
    if (n_tags > 0) {
        size_t len = strlen(label) + 1, used = 0;
        for (size_t t = 0; t < n_tags; t++) len += strlen(tags[t]) + 2;
        char *s = malloc(len);
        if (s) {
            used = (size_t)snprintf(s, len, "%s", label);
            for (size_t t = 0; t < n_tags; t++) used += (size_t)snprintf(s + used, len - used, ", %s", tags[t]);
        }
        out[k++] = s;
    }
    out[k++] = fmt_dup("an emoji of %s %s", art, label);
    out[k++] = fmt_dup("%s %s icon", art, label);
    return k;
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Sorted *.png names of a directory. */
static ModxStatus list_png(const char *dir, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return modx_fail(MODX_ERR_IO, "%s: cannot open the image folder: %s (install the packages with "
                                      "scripts/setup_npm.sh)", dir, strerror(errno));
    size_t cap = 0;
    char **v = NULL;
    struct dirent *e;
    ModxStatus st = MODX_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".png")) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                st = modx_fail(MODX_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            v = nv;
        }
        if (!(v[*n] = strdup(e->d_name))) {
            st = modx_fail(MODX_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (v) qsort(v, *n, sizeof *v, cmp_str);
    *names = v;
    return st;
}

/* Every base emoji of data.json (an array at path) and every skin variant, as
 * entries sorted by key; *n_base counts the bases. The caller frees *out. */
static ModxStatus collect_entries(const cJSON *doc, const char *path, Entry **out, size_t *n_out, size_t *n_base) {
    Entry *ent = NULL;
    size_t n_ent = 0, cap_ent = 0, i = 0;
    ModxStatus st = MODX_OK;
    *n_base = (size_t)cJSON_GetArraySize(doc);
    const cJSON *it;
    cJSON_ArrayForEach(it, doc) {
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(it, "label");
        const cJSON *hex = cJSON_GetObjectItemCaseSensitive(it, "hexcode");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(it, "tags");
        const cJSON *skins = cJSON_GetObjectItemCaseSensitive(it, "skins");
        if (!cJSON_IsString(label) || !cJSON_IsString(hex) || dataset_caption_problem(label->valuestring, strlen(label->valuestring)) ||
            (tags && !cJSON_IsArray(tags)) || (skins && !cJSON_IsArray(skins))) {
            st = modx_fail(MODX_ERR_FORMAT, "%s: [%zu]: expected {\"label\": text, \"hexcode\": text, \"tags\"?: [...], "
                                            "\"skins\"?: [...]}", path, i);
            goto fail;
        }
        size_t need = n_ent + 1 + (size_t)(skins ? cJSON_GetArraySize(skins) : 0);
        if (need > cap_ent) {
            cap_ent = need * 2;
            Entry *ne = realloc(ent, cap_ent * sizeof *ne);
            if (!ne) {
                st = modx_fail(MODX_ERR_NOMEM, "out of memory reading %s", path);
                goto fail;
            }
            ent = ne;
        }
        const cJSON *src = it;
        for (int k = -1; k < (skins ? cJSON_GetArraySize(skins) : 0); k++) {
            if (k >= 0) src = cJSON_GetArrayItem(skins, k);
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(src, "label");
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(src, "hexcode");
            Entry *e = &ent[n_ent];
            if (!cJSON_IsString(l) || !cJSON_IsString(h) || dataset_caption_problem(l->valuestring, strlen(l->valuestring)) ||
                !normalise_hex(h->valuestring, strlen(h->valuestring), e->key, sizeof e->key)) {
                st = modx_fail(MODX_ERR_FORMAT, "%s: [%zu]%s: expected a label and a hexcode like \"1F44B-1F3FB\"", path, i,
                               k >= 0 ? " skins" : "");
                goto fail;
            }
            e->label = l->valuestring;
            e->tags = tags;
            e->base = (uint32_t)i;
            e->order = (uint32_t)n_ent;
            e->is_base = k < 0;
            n_ent++;
        }
        i++;
    }
    qsort(ent, n_ent, sizeof *ent, cmp_entry);
    *out = ent;
    *n_out = n_ent;
    return MODX_OK;
fail:
    free(ent);
    return st;
}

/* Split by base emoji: the bases in hexcode order, shuffled with the seed;
 * the first test_fraction of them are marked in base_test. */
static void split_bases(const Entry *ent, size_t n_ent, const EmojiOptions *opt, uint32_t *base_order,
                        uint8_t *base_test, EmojiReport *rep) {
    size_t nb = 0;
    for (size_t k = 0; k < n_ent; k++) /* entries are sorted by key: bases come in hexcode order */
        if (ent[k].is_base) base_order[nb++] = ent[k].base;
    Rng r;
    rng_seed_stream(&r, opt->seed, 0x656d6f6a69ull);
    rng_shuffle_u32(&r, base_order, nb);
    size_t n_test = (size_t)llround(opt->test_fraction * (double)nb);
    for (size_t k = 0; k < n_test; k++) base_test[base_order[k]] = 1;
    rep->n_base_emoji = nb;
    rep->n_test_base_emoji = n_test;
}

/* The entry an image file name ("1f44b-1f3fb.png") stands for, or NULL. */
static const Entry *find_entry(const Entry *ent, size_t n_ent, const char *file) {
    Entry key;
    size_t stem = strlen(file) - 4;
    if (!normalise_hex(file, stem, key.key, sizeof key.key)) return NULL;
    size_t lo = 0, hi = n_ent;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ent[mid].key, key.key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n_ent && !strcmp(ent[lo].key, key.key) ? &ent[lo] : NULL;
}

/* One labelled image and its captions, counted in rep for vendor v. */
static ModxStatus add_emoji_image(Dataset *ds, const char *image_path, const Entry *hit, uint32_t domain, int split,
                                  int v, EmojiReport *rep) {
    const char *tags[EMOJI_MAX_TAGS];
    size_t n_tags = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, hit->tags) {
        if (n_tags < EMOJI_MAX_TAGS && cJSON_IsString(t) && t->valuestring[0] && strcmp(t->valuestring, hit->label) &&
            !dataset_caption_problem(t->valuestring, strlen(t->valuestring)))
            tags[n_tags++] = t->valuestring;
    }
    ModxStatus st = dataset_add_image(ds, image_path, domain, split, NULL);
    if (st != MODX_OK) return st;
    char *caps[4];
    int nc = emoji_captions(hit->label, tags, n_tags, caps);
    for (int c = 0; c < nc; c++) {
        if (!caps[c]) st = modx_fail(MODX_ERR_NOMEM, "out of memory writing captions");
        if (st == MODX_OK) st = dataset_add_caption(ds, caps[c], strlen(caps[c]));
    }
    for (int c = 0; c < nc; c++) free(caps[c]);
    if (st != MODX_OK) return st;
    rep->images[v][split == DATASET_SPLIT_TEST]++;
    rep->captions[v][split == DATASET_SPLIT_TEST] += (size_t)nc;
    return MODX_OK;
}

/* Vendor v: one domain, its images in file-name order. */
static ModxStatus add_vendor(Dataset *ds, const char *root, int v, const Entry *ent, size_t n_ent,
                             const uint8_t *base_test, EmojiReport *rep) {
    char **files = NULL;
    size_t n_files = 0;
    uint32_t domain;
    ModxStatus st = dataset_domain_id(ds, EMOJI_VENDORS[v], &domain);
    if (st != MODX_OK) goto done;
    char dir[4400], path[8800];
    snprintf(dir, sizeof dir, "%s/emoji-datasource-%s/img/%s/64", root, EMOJI_VENDORS[v], EMOJI_VENDORS[v]);
    if ((st = list_png(dir, &files, &n_files)) != MODX_OK) goto done;
    if (n_files == 0) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected the vendor's *.png images, found none", dir);
        goto done;
    }
    for (size_t f = 0; f < n_files; f++) {
        const Entry *hit = find_entry(ent, n_ent, files[f]);
        if (!hit) {
            if (!rep->unlabelled[v]++) snprintf(rep->first_unlabelled[v], sizeof rep->first_unlabelled[v], "%s", files[f]);
            continue;
        }
        int split = base_test[hit->base] ? DATASET_SPLIT_TEST : DATASET_SPLIT_TRAIN;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        if ((st = add_emoji_image(ds, path, hit, domain, split, v, rep)) != MODX_OK) goto done;
    }
done:
    for (size_t f = 0; f < n_files; f++) free(files[f]);
    free(files);
    return st;
}

ModxStatus emoji_build_dataset(Dataset *ds, const char *npm_dir, const EmojiOptions *opt, EmojiReport *rep) {
    memset(rep, 0, sizeof *rep);
    if (!(opt->test_fraction >= 0 && opt->test_fraction < 1))
        return modx_fail(MODX_ERR_INVALID, "emoji: test fraction: expected a value in [0, 1), found %g", opt->test_fraction);
    char root[4096], path[8800];
    snprintf(root, sizeof root, "%s/node_modules", npm_dir);
    if (!is_dir(root)) snprintf(root, sizeof root, "%s", npm_dir);
    snprintf(path, sizeof path, "%s/emojibase-data/en/data.json", root);
    char *text = NULL;
    size_t n_text, n_ent = 0, n_base = 0;
    cJSON *doc = NULL;
    Entry *ent = NULL;
    uint32_t *base_order = NULL;
    uint8_t *base_test = NULL;
    ModxStatus st = dataset_read_file(path, &text, &n_text);
    if (st != MODX_OK) {
        modx_error_prefix("emoji labels (install with scripts/setup_npm.sh): ");
        return st;
    }
    if ((st = dataset_json_document(text, n_text, path, &doc)) != MODX_OK) goto done;
    if (!cJSON_IsArray(doc)) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected an array of emoji entries", path);
        goto done;
    }
    if ((st = collect_entries(doc, path, &ent, &n_ent, &n_base)) != MODX_OK) goto done;
    base_order = modx_calloc(n_base, sizeof *base_order, "emoji split");
    base_test = modx_calloc(n_base, 1, "emoji split");
    if (!base_order || !base_test) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    split_bases(ent, n_ent, opt, base_order, base_test, rep);
    for (int v = 0; v < EMOJI_N_VENDORS; v++)
        if ((st = add_vendor(ds, root, v, ent, n_ent, base_test, rep)) != MODX_OK) goto done;
done:
    free(ent);
    free(base_order);
    free(base_test);
    cJSON_Delete(doc);
    free(text);
    return st;
}
