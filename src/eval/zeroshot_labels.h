/* The inputs of zero-shot classification: class names, prompt templates and
 * labelled images of a cache, read the same way by `modx zeroshot` and by a
 * run's zero-shot test sets (src/run/zeroshot_sets.h), so that both give the
 * same numbers on the same checkpoint.
 *
 * Label sources (ZS_LABELS_*): an image's domain in the cache, its first
 * caption (a dataset whose first caption is a class name, as the emoji data's
 * label), or a JSON Lines file {"image": INDEX or "PATH", "label": "name"} per line.
 * Classes: a class-names file (one per line), else the domain names (domain
 * labels) or the labels in order of first use. Errors name the file and line. */
#ifndef MODX_EVAL_ZEROSHOT_LABELS_H
#define MODX_EVAL_ZEROSHOT_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef struct {
    char **items;
    int n, cap;
} ZsNames;

void zs_names_free(ZsNames *l);
/* Index of s, −1 when absent. */
int zs_names_find(const ZsNames *l, const char *s);
ModxStatus zs_names_add(ZsNames *l, const char *s, size_t len);

/* The non-blank lines of a text file (surrounding blanks trimmed); a file with
 * none is an error "PATH: no WHAT (one per line)". */
ModxStatus zs_read_lines(const char *path, const char *what, ZsNames *out);
/* Prompt templates of a file, each with "{}" for the class name (an error
 * names the line), or ZEROSHOT_DEFAULT_TEMPLATE alone when path is NULL. */
ModxStatus zs_read_templates(const char *path, ZsNames *out);

typedef enum { ZS_LABELS_DOMAIN = 0, ZS_LABELS_CAPTION, ZS_LABELS_FILE } ZsLabelSource;

/* Labelled images: images[n] with label_of[n] indices into `seen` (the label
 * strings). For the domain and caption sources `images` is given (a copy is
 * kept); for a file the images are the file's. */
typedef struct {
    uint32_t *images;
    int32_t *label_of;
    int n;
    ZsNames seen;
} ZsLabelled;

void zs_labelled_free(ZsLabelled *z);
/* Domain: seen = every domain name of the cache; caption: an image's first
 * caption (an image without one is an error naming it). */
ModxStatus zs_label_images(ZsLabelled *out, const Cache *c, ZsLabelSource src, const uint32_t *images, size_t n);
/* A labels file: {"image": INDEX or "PATH", "label": "name"} per line; a PATH
 * is looked up in cache_path's paths file (src/data/cache_paths.h; NULL: none). */
ModxStatus zs_label_file(ZsLabelled *out, const Cache *c, const char *cache_path, const char *path);

/* labels (n, malloc'd): the class (index into cls) of each image's label; a
 * label that is not a class is an error naming the image and classes_path. */
ModxStatus zs_class_labels(const ZsNames *cls, const ZsLabelled *z, const char *classes_path, int32_t **labels);

#endif
