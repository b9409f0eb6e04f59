/* Webdataset shard reader (see wds.h), on libarchive. */
#include "data/wds.h"

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/brace.h"
#include "data/image.h"

#define WDS_KEY_MAX 1024

typedef struct {
    Dataset *ds;
    const DatasetSource *src;
    const DatasetOptions *opt;
    unsigned mask;
    const char *shard;   /* path, for messages */
    char shard_name[256]; /* the file name up to ".tar" */
    char key[WDS_KEY_MAX];
    int open;            /* a sample is being collected */
    uint8_t *image;
    size_t n_image;
    char image_member[WDS_KEY_MAX + 64];
    char *txt, *json;
    size_t n_txt, n_json;
    char problem[512];   /* a per-sample problem found while collecting ("" = none) */
} WdsCtx;

static void sample_clear(WdsCtx *w) {
    free(w->image), free(w->txt), free(w->json);
    w->image = NULL, w->txt = NULL, w->json = NULL;
    w->n_image = w->n_txt = w->n_json = 0;
    w->problem[0] = 0;
    w->open = 0;
}

/* NULL when the member may be read; else why it is refused. */
static const char *member_refusal(struct archive_entry *e) {
    const char *name = archive_entry_pathname(e);
    if (!name || !name[0]) return "an empty member name";
    if (name[0] == '/') return "an absolute path";
    for (const char *p = name; p;) {
        if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == 0)) return "a name outside the archive root ('..')";
        p = strchr(p, '/');
        if (p) p++;
    }
    if (archive_entry_hardlink(e)) return "a hard link";
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR: return NULL;
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR:
    case AE_IFBLK: return "a device file";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

/* Reads the member's data (size bytes, at most max) into a malloc'd, NUL-terminated buffer.
 * *truncated = 1 when the shard ended first (then MODX_OK with *buf = NULL). */
static ModxStatus read_member(struct archive *a, const WdsCtx *w, const char *member, int64_t size, uint8_t **buf,
                              int *truncated) {
    *buf = NULL;
    *truncated = 0;
    uint8_t *b = malloc((size_t)size + 1);
    if (!b) return modx_fail(MODX_ERR_NOMEM, "%s: member '%s': out of memory for %lld bytes", w->shard, member,
                             (long long)size);
    size_t got = 0;
    while (got < (size_t)size) {
        la_ssize_t r = archive_read_data(a, b + got, (size_t)size - got);
        if (r <= 0) {
            free(b);
            *truncated = 1;
            return MODX_OK;
        }
        got += (size_t)r;
    }
    b[size] = 0;
    *buf = b;
    return MODX_OK;
}

static int ext_is(const char *ext, const char *const *list) {
    for (; *list; list++)
        if (!strcasecmp(ext, *list)) return 1;
    return 0;
}

static ModxStatus bad_sample(WdsCtx *w, const char *why) {
    return dataset_bad_item(w->ds, w->opt->skip_bad, "%s: sample '%s': %s", w->shard, w->key, why);
}

typedef struct {
    const char *text[64];
    size_t len[64];
    size_t n;
} Captions;

/* Keeps a caption (trailing newlines removed) when it is acceptable; a bad one is a bad item. */
static ModxStatus keep_caption(WdsCtx *w, Captions *c, const char *text, size_t n) {
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
    const char *why = dataset_caption_problem(text, n);
    if (why) {
        char buf[256];
        snprintf(buf, sizeof buf, "caption %zu: %s", c->n, why);
        return bad_sample(w, buf);
    }
    if (c->n == 64) return bad_sample(w, "more than 64 captions");
    c->text[c->n] = text;
    c->len[c->n++] = n;
    return MODX_OK;
}

/* The sample's domain name and split from its .json (json may be NULL). *why set on a bad value. */
static const char *sample_domain(WdsCtx *w, const cJSON *json, int *split, const char **why) {
    *split = DATASET_SPLIT_NONE;
    const cJSON *s = json ? cJSON_GetObjectItemCaseSensitive(json, "split") : NULL;
    if (s) {
        int found = -1;
        for (int k = 0; k <= DATASET_SPLIT_RESTVAL && cJSON_IsString(s); k++)
            if (!strcmp(s->valuestring, dataset_split_name(k))) found = k;
        if (found < 0) return *why = "\"split\": expected one of \"train\", \"val\", \"test\", \"restval\"", NULL;
        *split = found;
    }
    const char *mode = w->src->wds_domain, *field = "domain";
    if (mode && !strcmp(mode, "shard")) return w->shard_name;
    if (mode) field = mode + 5; /* "json:FIELD", checked by dataset_read_wds */
    const cJSON *d = json ? cJSON_GetObjectItemCaseSensitive(json, field) : NULL;
    if (d && cJSON_IsString(d) && d->valuestring[0]) return d->valuestring;
    if (d || mode) return *why = "the domain field is missing or not a non-empty string (see --wds-domain)", NULL;
    return w->opt->domain ? w->opt->domain : "default";
}

/* The .json's captions: "caption" or "text", a string or an array of strings. */
static ModxStatus json_captions(WdsCtx *w, const cJSON *json, Captions *out) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(json, "caption");
    if (!c) c = cJSON_GetObjectItemCaseSensitive(json, "text");
    if (cJSON_IsString(c)) return keep_caption(w, out, c->valuestring, strlen(c->valuestring));
    if (!cJSON_IsArray(c))
        return bad_sample(w, "expected a caption: a .txt, or a .json with \"caption\" or \"text\" (a string or strings)");
    const cJSON *x;
    cJSON_ArrayForEach(x, c) {
        if (!cJSON_IsString(x)) MODX_TRY(bad_sample(w, "\"caption\": expected an array of strings"));
        else MODX_TRY(keep_caption(w, out, x->valuestring, strlen(x->valuestring)));
    }
    return MODX_OK;
}

/* Adds the collected sample (or reports why it cannot be added), then clears it. */
static ModxStatus flush_sample(WdsCtx *w) {
    if (!w->open) return MODX_OK;
    ModxStatus st = MODX_OK;
    cJSON *json = NULL;
    Captions caps = {.n = 0};
    const char *why = w->problem[0] ? w->problem : NULL;
    if (!why && !w->image) why = "expected an image (.jpg, .jpeg, .png or .webp), found none";
    if (!why && !w->txt && !w->json) why = "expected a caption (.txt or .json), found none";
    if (!why && w->json) {
        size_t off = 0;
        json = dataset_json_parse(w->json, w->n_json, &off);
        if (!json || !cJSON_IsObject(json)) why = "the .json is not a JSON object";
    }
    int split = 0;
    const char *domain = why ? NULL : sample_domain(w, json, &split, &why);
    if (why) {
        st = bad_sample(w, why);
        goto done;
    }
    if (w->txt) st = keep_caption(w, &caps, w->txt, w->n_txt);
    else st = json_captions(w, json, &caps);
    if (st != MODX_OK) goto done;
    if (!caps.n) {
        st = bad_sample(w, "no usable caption");
        goto done;
    }
    if (!(w->mask & (1u << split))) {
        w->ds->n_filtered++;
        goto done;
    }
    uint32_t d, index;
    if ((st = dataset_domain_id(w->ds, domain, &d)) != MODX_OK) goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s:%s", w->shard, w->image_member);
    if ((st = dataset_add_image(w->ds, path, d, split, &index)) != MODX_OK) goto done;
    dataset_set_image_bytes(w->ds, index, w->image, w->n_image);
    w->image = NULL;
    for (size_t k = 0; k < caps.n && st == MODX_OK; k++) st = dataset_add_caption(w->ds, caps.text[k], caps.len[k]);
done:
    cJSON_Delete(json);
    sample_clear(w);
    return st;
}

static const char *const IMAGE_EXTS[] = {"jpg", "jpeg", "png", "webp", NULL};

/* Splits a member name into key and extension (webdataset's rule): 1 when it has
 * both, 0 when it has no key or no extension (ignored), -1 when the key is too long. */
static int member_key(const char *name, char *key, size_t nkey, const char **ext) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strchr(base, '.');
    if (!dot || dot == base || !dot[1]) return 0;
    size_t len = (size_t)(dot - name);
    if (len >= nkey) return -1;
    memcpy(key, name, len);
    key[len] = 0;
    *ext = dot + 1;
    return 1;
}

/* One tar member: refused, ignored, or kept as part of the current sample.
 * *stop = 1 when the rest of the shard cannot be read. */
static ModxStatus take_member(struct archive *a, struct archive_entry *e, WdsCtx *w, int *stop) {
    const char *name = archive_entry_pathname(e), *refused = member_refusal(e), *ext = NULL;
    if (refused)
        return modx_fail(MODX_ERR_FORMAT, "%s: member '%s': %s; refused", w->shard, name ? name : "", refused);
    if (archive_entry_filetype(e) == AE_IFDIR) return MODX_OK;
    char key[WDS_KEY_MAX];
    int k = member_key(name, key, sizeof key, &ext);
    if (k < 0) return modx_fail(MODX_ERR_FORMAT, "%s: member '%.80s...': key longer than %d bytes", w->shard, name,
                                WDS_KEY_MAX - 1);
    if (k == 0) return MODX_OK; /* no key or no extension: not part of a sample */
    if (!w->open || strcmp(key, w->key)) {
        MODX_TRY(flush_sample(w));
        memcpy(w->key, key, sizeof key);
        w->open = 1;
    }
    int is_img = ext_is(ext, IMAGE_EXTS), is_txt = !strcasecmp(ext, "txt"), is_json = !strcasecmp(ext, "json");
    if ((!is_img && !is_txt && !is_json) || w->problem[0]) return MODX_OK;
    int64_t size = archive_entry_size(e);
    size_t limit = is_img ? IMAGE_MAX_FILE_BYTES : WDS_MAX_CAPTION_BYTES;
    if (size < 0 || (uint64_t)size > limit) {
        snprintf(w->problem, sizeof w->problem, "member '%s' is %lld bytes, over the limit of %zu for %s", name,
                 (long long)size, limit, is_img ? "an image" : "a caption file");
        return MODX_OK;
    }
    if ((is_img && w->image) || (is_txt && w->txt) || (is_json && w->json)) {
        snprintf(w->problem, sizeof w->problem, "member '%s': expected one %s per sample, found two", name,
                 is_img ? "image" : is_txt ? ".txt" : ".json");
        return MODX_OK;
    }
    uint8_t *buf;
    int truncated;
    MODX_TRY(read_member(a, w, name, size, &buf, &truncated));
    if (truncated) {
        snprintf(w->problem, sizeof w->problem, "member '%s' is cut short (a truncated tar: %s); the rest of the shard "
                 "is left out", name, archive_error_string(a) ? archive_error_string(a) : "unexpected end of data");
        *stop = 1;
        return flush_sample(w);
    }
    if (is_img) {
        w->image = buf, w->n_image = (size_t)size;
        snprintf(w->image_member, sizeof w->image_member, "%s", name);
    } else if (is_txt) {
        w->txt = (char *)buf, w->n_txt = (size_t)size;
    } else {
        w->json = (char *)buf, w->n_json = (size_t)size;
    }
    return MODX_OK;
}

static ModxStatus read_archive(struct archive *a, WdsCtx *w) {
    struct archive_entry *e;
    ModxStatus st = MODX_OK;
    size_t members = 0;
    char last[WDS_KEY_MAX + 64] = "";
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            const char *why = archive_error_string(a) ? archive_error_string(a) : "unreadable header";
            if (members == 0) return modx_fail(MODX_ERR_FORMAT, "%s: expected a tar archive, found %s", w->shard, why);
            if ((st = flush_sample(w)) != MODX_OK) return st;
            return dataset_bad_item(w->ds, w->opt->skip_bad, "%s: after member '%s': corrupt or truncated tar (%s); "
                                    "the rest of the shard is left out", w->shard, last, why);
        }
        members++;
        snprintf(last, sizeof last, "%s", archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        int stop = 0;
        if ((st = take_member(a, e, w, &stop)) != MODX_OK || stop) return st;
    }
    return flush_sample(w);
}

/* Reads one shard: from memory when mem != NULL, else the file w->shard. */
static ModxStatus read_shard(WdsCtx *w, const void *mem, size_t n) {
    const char *base = strrchr(w->shard, '/');
    snprintf(w->shard_name, sizeof w->shard_name, "%s", base ? base + 1 : w->shard);
    char *tar = strstr(w->shard_name, ".tar");
    if (tar && tar != w->shard_name) *tar = 0;
    struct archive *a = archive_read_new();
    if (!a) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory opening the shard", w->shard);
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    int r = mem ? archive_read_open_memory(a, mem, n) : archive_read_open_filename(a, w->shard, 1 << 16);
    ModxStatus st;
    if (r != ARCHIVE_OK)
        st = modx_fail(mem ? MODX_ERR_FORMAT : MODX_ERR_IO, "%s: cannot open the shard: %s", w->shard,
                       archive_error_string(a) ? archive_error_string(a) : "unknown error");
    else
        st = read_archive(a, w);
    sample_clear(w);
    archive_read_free(a);
    return st;
}

static ModxStatus check_usable(const Dataset *ds, const char *name) {
    if (ds->n_images == 0 && ds->n_filtered == 0)
        return modx_fail(MODX_ERR_FORMAT, "%s: no usable sample (%zu skipped; the first: %s)", name, ds->n_skipped,
                         ds->n_skipped ? ds->skipped[0] : "-");
    return MODX_OK;
}

ModxStatus dataset_parse_wds(Dataset *ds, const char *data, size_t n, const char *name, const char *root,
                             const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    DatasetSource src = {0};
    WdsCtx w = {.ds = ds, .src = &src, .opt = opt ? opt : &defaults, .shard = name};
    w.mask = w.opt->splits ? w.opt->splits : DATASET_SPLITS_ALL;
    MODX_TRY(read_shard(&w, data ? data : "", n));
    return check_usable(ds, name);
}

/* Every shard of one pattern, in order. */
static ModxStatus read_pattern(WdsCtx *w, const char *pattern) {
    char **shards;
    size_t n;
    MODX_TRY(brace_expand(pattern, &shards, &n));
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < n && st == MODX_OK; i++) {
        w->shard = shards[i];
        st = read_shard(w, NULL, 0);
    }
    brace_free(shards, n);
    return st;
}

ModxStatus dataset_read_wds(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    WdsCtx w = {.ds = ds, .src = src, .opt = opt ? opt : &defaults};
    w.mask = w.opt->splits ? w.opt->splits : DATASET_SPLITS_ALL;
    const char *dm = src->wds_domain;
    if (dm && strcmp(dm, "shard") && (strncmp(dm, "json:", 5) || !dm[5]))
        return modx_fail(MODX_ERR_INVALID, "wds domain '%s': expected shard or json:FIELD", dm);
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < src->n_inputs && st == MODX_OK; i++) {
        char *list = strdup(src->inputs[i]);
        if (!list) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        for (char *p = list; p && st == MODX_OK;) {
            char *sep = strstr(p, "::");
            if (sep) *sep = 0;
            st = read_pattern(&w, p);
            p = sep ? sep + 2 : NULL;
        }
        free(list);
    }
    if (st == MODX_OK) st = check_usable(ds, src->inputs[0]);
    return st;
}
