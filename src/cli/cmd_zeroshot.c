/* modx zeroshot: zero-shot classification of a cache's images with a model
 * (src/eval/zeroshot_run.h). */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "data/cache.h"
#include "data/cache_paths.h"
#include "data/dataset.h"
#include "data/phases.h"
#include "eval/zeroshot_run.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "tok/bpe.h"

static const char zs_usage[] =
    "usage: modx zeroshot --ckpt CKPT --data CACHE --vocab FILE --labels domain|LABELS.jsonl\n"
    "                     [--classes FILE] [--templates FILE] [--split S] [--batch B] [--config CFG.json]\n"
    "Zero-shot classification: each class's prompts (default \"" ZEROSHOT_DEFAULT_TEMPLATE "\") are encoded\n"
    "with the text tower and averaged; each image gets the class of highest cosine. Prints top-1\n"
    "and top-5 accuracy (%).\n"
    "  --ckpt CKPT            the model (required)\n"
    "  --data CACHE           the dataset cache, or the folder `modx data prepare` wrote (required)\n"
    "  --labels domain|FILE   (required) 'domain': the label of an image is its domain in the cache,\n"
    "                         the images are those of --split; or FILE.jsonl, one labelled image a\n"
    "                         line: {\"image\": INDEX or \"PATH\", \"label\": \"name\"}, INDEX = the\n"
    "                         image's index in the cache, PATH = its path as the manifest gave it\n"
    "                         (`modx data info CACHE --list` prints both); the images listed are the\n"
    "                         ones classified (--split does not apply)\n"
    "  --split S              with --labels domain: the splits classified (default test)\n"
    "  --config CFG.json      the model config, used only when CKPT carries none (default: CKPT's)\n"
    "  --classes FILE         class names, one per line (blank lines ignored); default: the cache's\n"
    "                         domain names (--labels domain) or the labels in order of first use.\n"
    "                         A label that is not a class is an error\n"
    "  --templates FILE       prompt templates, one per line, each with {} for the class name\n"
    "                         (default: the one above)\n"
    "  --vocab FILE           the CLIP BPE merges file the model was trained with\n"
    "  --batch B              encoding batch size (default 64)\n";

typedef struct {
    char **items;
    int n, cap;
} Names;

static void names_free(Names *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int names_find(const Names *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s)) return i;
    return -1;
}

static int names_add(Names *l, const char *s, size_t len) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p) return 0;
        l->items = p, l->cap = cap;
    }
    char *d = malloc(len + 1);
    if (!d) return 0;
    memcpy(d, s, len);
    d[len] = 0;
    l->items[l->n++] = d;
    return 1;
}

/* Non-blank lines of a text file (trailing CR/space trimmed). */
static int read_lines(const char *path, const char *what, Names *out) {
    uint8_t *buf = NULL;
    size_t n = 0;
    if (io_read_file(path, &buf, &n) != MODX_OK) return cli_report_error("zeroshot");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && buf[j] != '\n') j++;
        size_t e = j;
        while (e > i && (buf[e - 1] == '\r' || buf[e - 1] == ' ' || buf[e - 1] == '\t')) e--;
        size_t b = i;
        while (b < e && (buf[b] == ' ' || buf[b] == '\t')) b++;
        if (e > b && !names_add(out, (const char *)buf + b, e - b)) {
            free(buf);
            fprintf(stderr, "modx zeroshot: out of memory reading %s\n", path);
            return 1;
        }
        i = j + 1;
    }
    free(buf);
    if (out->n == 0) {
        fprintf(stderr, "modx zeroshot: %s: no %s (one per line)\n", path, what);
        return 1;
    }
    return 0;
}

/* The cache index of a labels line's "image": an index, or a path looked up in
 * the cache's paths (loaded into *paths on first use). 0 when found. */
static int label_image(const cJSON *im, const Cache *c, const char *cache_path, char ***paths, const char *file,
                       long line, uint32_t *index) {
    if (cJSON_IsString(im)) {
        if (!*paths && cache_paths_read(cache_path, c->n_images, paths) != MODX_OK) return cli_report_error("zeroshot");
        if (!*paths) {
            fprintf(stderr, "modx zeroshot: %s:%ld: image \"%s\": the cache %s has no image paths (prepare it again "
                    "with modx data prepare, or give the image's index)\n", file, line, im->valuestring, cache_path);
            return 1;
        }
        uint64_t k;
        if (cache_paths_find(*paths, c->n_images, im->valuestring, &k) != MODX_OK) {
            fprintf(stderr, "modx zeroshot: %s:%ld: %s\n", file, line, modx_last_error());
            return 1;
        }
        *index = (uint32_t)k;
        return 0;
    }
    if (im->valuedouble != floor(im->valuedouble) || im->valuedouble < 0 || im->valuedouble >= (double)c->n_images) {
        fprintf(stderr, "modx zeroshot: %s:%ld: image %g is not an image index of the cache (0 to %llu)\n", file, line,
                im->valuedouble, (unsigned long long)c->n_images - 1);
        return 1;
    }
    *index = (uint32_t)im->valuedouble;
    return 0;
}

/* Reads {"image": INDEX or "PATH", "label": "name"} lines into images/labels
 * (label strings collected in `seen`, in order of first use; *label_of = index into seen). */
static int read_labels(const char *path, const Cache *c, const char *cache_path, uint32_t **images, int32_t **label_of,
                       int *n, Names *seen) {
    uint8_t *buf = NULL;
    size_t len = 0;
    char **paths = NULL;
    if (io_read_file(path, &buf, &len) != MODX_OK) return cli_report_error("zeroshot");
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += buf[i] == '\n';
    *images = calloc(cap, sizeof **images);
    *label_of = calloc(cap, sizeof **label_of);
    int rc = *images && *label_of ? 0 : 1;
    long line = 0;
    *n = 0;
    for (size_t i = 0; i < len && !rc;) {
        size_t j = i;
        while (j < len && buf[j] != '\n') j++;
        line++;
        size_t k = i;
        while (k < j && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) k++;
        if (k < j) {
            cJSON *o = cJSON_ParseWithLength((const char *)buf + i, j - i);
            const cJSON *im = cJSON_GetObjectItemCaseSensitive(o, "image"), *lb = cJSON_GetObjectItemCaseSensitive(o, "label");
            uint32_t index = 0;
            if (!cJSON_IsObject(o) || !(cJSON_IsNumber(im) || cJSON_IsString(im)) || !cJSON_IsString(lb) ||
                !lb->valuestring[0]) {
                fprintf(stderr, "modx zeroshot: %s:%ld: expected {\"image\": INDEX or \"PATH\", \"label\": \"name\"}\n",
                        path, line);
                rc = 1;
            } else if (!(rc = label_image(im, c, cache_path, &paths, path, line, &index))) {
                int l = names_find(seen, lb->valuestring);
                if (l < 0 && !names_add(seen, lb->valuestring, strlen(lb->valuestring))) rc = 1;
                if (l < 0) l = seen->n - 1;
                (*images)[*n] = index;
                (*label_of)[(*n)++] = l;
            }
            cJSON_Delete(o);
        }
        i = j + 1;
    }
    free(buf);
    cache_paths_free(paths, c->n_images);
    if (!rc && *n == 0) {
        fprintf(stderr, "modx zeroshot: %s: no labelled images\n", path);
        rc = 1;
    }
    return rc;
}

/* The prompt templates: those of the file (each with {}), else the default. */
static int read_templates(const char *path, Names *templates) {
    if (!path) return names_add(templates, ZEROSHOT_DEFAULT_TEMPLATE, strlen(ZEROSHOT_DEFAULT_TEMPLATE)) ? 0 : 1;
    int rc = read_lines(path, "templates", templates);
    if (rc) return rc;
    for (int i = 0; i < templates->n; i++)
        if (!strstr(templates->items[i], "{}")) {
            fprintf(stderr, "modx zeroshot: %s: template %d (\"%s\") has no {} for the class name\n", path, i + 1,
                    templates->items[i]);
            return 1;
        }
    return 0;
}

/* --labels domain: the images of the splits in `mask`, each labelled with its
 * domain (the cache's domain names collected in `seen`). */
static int domain_labels(const Cache *c, unsigned mask, uint32_t **images, int32_t **label_of, int *n, Names *seen) {
    size_t nn = 0;
    if (phases_subset_by_split(c, mask, images, &nn) != MODX_OK) return cli_report_error("zeroshot");
    *n = (int)nn;
    *label_of = calloc(nn ? nn : 1, sizeof **label_of);
    int rc = 0;
    for (uint64_t d = 0; d < c->n_domains && *label_of; d++)
        if (!names_add(seen, c->domain_names[d], strlen(c->domain_names[d]))) rc = 1;
    if (!*label_of || rc) {
        fputs("modx zeroshot: out of memory\n", stderr);
        return 1;
    }
    for (int i = 0; i < *n; i++) (*label_of)[i] = (int32_t)c->image_domain[(*images)[i]];
    return 0;
}

/* labels[i]: the class (index into cls) of image i's label; a label that is
 * not a class of --classes (classes_path) is an error. */
static int class_labels(const Names *cls, const Names *seen, const uint32_t *images, const int32_t *label_of, int n,
                        const char *classes_path, int32_t **labels) {
    *labels = calloc((size_t)n + 1, sizeof **labels);
    if (!*labels) return 1;
    for (int i = 0; i < n; i++) {
        int k = names_find(cls, seen->items[label_of[i]]);
        if (k < 0) {
            fprintf(stderr, "modx zeroshot: image %u has label \"%s\", which is not in %s\n", images[i],
                    seen->items[label_of[i]], classes_path);
            return 1;
        }
        (*labels)[i] = k;
    }
    return 0;
}

MODX_COMMAND(zeroshot, "zeroshot", "zero-shot classification of a cache's images with a model") {
    if (cli_wants_help(argc, argv)) return fputs(zs_usage, stdout), 0;
    enum { O_CKPT, O_DATA, O_VOCAB, O_LABELS, O_CLASSES, O_TEMPLATES, O_SPLIT, O_BATCH, O_CONFIG, O_N };
    CliOpt o[O_N] = {{"--ckpt", 1, 0},    {"--data", 1, 0},      {"--vocab", 1, 0}, {"--labels", 1, 0},
                     {"--classes", 1, 0}, {"--templates", 1, 0}, {"--split", 1, 0}, {"--batch", 1, 0},
                     {"--config", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, O_N, pos, 0, &npos)) return 2;
    for (int k = O_CKPT; k <= O_LABELS; k++)
        if (cli_require("zeroshot", &o[k])) return 2;
    int by_domain = !strcmp(o[O_LABELS].value, "domain");
    if (!by_domain && o[O_SPLIT].value) {
        fputs("modx zeroshot: --split goes with --labels domain (a labels file lists its images)\n", stderr);
        return 2;
    }
    long batch = 64;
    if (o[O_BATCH].value && cli_int("zeroshot", "--batch", o[O_BATCH].value, 1, 1 << 20, &batch)) return 2;
    unsigned mask = 0;
    if (by_domain && dataset_parse_splits(o[O_SPLIT].value ? o[O_SPLIT].value : "test", &mask) != MODX_OK) {
        fprintf(stderr, "modx zeroshot: --split: %s\n", modx_last_error());
        return 2;
    }
    Names classes = {0}, templates = {0}, seen = {0};
    Cache *c = NULL;
    Bpe *bpe = NULL;
    ClipModel *m = NULL;
    uint32_t *images = NULL;
    int32_t *label_of = NULL, *labels = NULL;
    int n = 0, rc = 0;
    if ((rc = read_templates(o[O_TEMPLATES].value, &templates))) goto done;
    if (o[O_CLASSES].value && (rc = read_lines(o[O_CLASSES].value, "class names", &classes))) goto done;
    if (cache_open(&c, o[O_DATA].value, 1) != MODX_OK) {
        rc = cli_report_error("zeroshot");
        goto done;
    }
    if (by_domain) {
        if ((rc = domain_labels(c, mask, &images, &label_of, &n, &seen))) goto done;
    } else if ((rc = read_labels(o[O_LABELS].value, c, o[O_DATA].value, &images, &label_of, &n, &seen))) {
        goto done;
    }
    Names *cls = classes.n ? &classes : &seen;
    if ((rc = class_labels(cls, &seen, images, label_of, n, o[O_CLASSES].value, &labels))) goto done;
    if (bpe_load(&bpe, o[O_VOCAB].value) != MODX_OK || checkpoint_load_or(&m, o[O_CKPT].value, o[O_CONFIG].value) != MODX_OK ||
        clip_model_check_finite(m, o[O_CKPT].value) != MODX_OK) {
        rc = cli_report_error("zeroshot");
        goto done;
    }
    ZeroShotResult z;
    if (zeroshot_run(&z, m, bpe, c, o[O_DATA].value, images, labels, n, (const char *const *)cls->items, cls->n,
                     (const char *const *)templates.items, templates.n, (int)batch, NULL) != MODX_OK) {
        rc = cli_report_error("zeroshot");
        goto done;
    }
    printf("zero-shot: %d images, %d classes, %d template%s: top-1 %.2f%%  top-5 %.2f%%\n", z.n, cls->n, templates.n,
           templates.n == 1 ? "" : "s", z.top1, z.top5);
done:
    names_free(&classes), names_free(&templates), names_free(&seen);
    free(images), free(label_of), free(labels);
    clip_model_free(m);
    bpe_free(bpe);
    cache_close(c);
    return rc;
}
