/* In-memory description of an image–caption dataset, and its readers.
 *
 * A Dataset lists images (path, domain, split) and captions (UTF-8 text, the
 * index of their image). Every image has at least one caption; captions of one
 * image are stored next to each other. Three on-disk formats are read:
 *
 *   manifest  JSON Lines, one image per line:
 *             {"image": "path", "captions": ["...", ...], "domain": "name", "split": "train",
 *              "group": "id"}
 *             ("domain", "split" and "group" optional; relative paths are relative to the
 *             manifest's directory; "group": a string or integer naming images that
 *             must share a split, see dataset_assign_test_split)
 *   karpathy  dataset_coco.json / dataset_flickr30k.json: {"images": [{"filepath"?,
 *             "filename", "split", "sentences": [{"raw": ...}]}]}; paths are
 *             root/filepath/filename (COCO) or root/filename (Flickr30K)
 *   coco      captions_*.json: {"images": [{"id", "file_name"}],
 *             "annotations": [{"image_id", "caption"}]}; paths are root/file_name
 *
 * Errors name the file, the line or item and what was expected. A file-level
 * problem (missing file, malformed JSON document, wrong top-level type) always
 * fails. A per-item problem (a bad JSONL line, a wrong field type, a caption that
 * is empty or not UTF-8, an annotation for an unknown image, an image left with
 * no caption) fails unless `skip_bad` is set, in which case the item is left out
 * and its message is appended to Dataset.skipped (never silent). */
#ifndef MODX_DATA_DATASET_H
#define MODX_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum {
    DATASET_SPLIT_NONE = 0, /* the format gives no split */
    DATASET_SPLIT_TRAIN = 1,
    DATASET_SPLIT_VAL = 2,
    DATASET_SPLIT_TEST = 3,
    DATASET_SPLIT_RESTVAL = 4,
} DatasetSplit;

/* Bit mask of splits: 1u << DatasetSplit. DATASET_SPLITS_ALL keeps everything. */
#define DATASET_SPLITS_ALL 0x1Fu

typedef struct {
    char *path;      /* owned; joined with the root directory ("shard.tar:member" for wds) */
    uint32_t domain; /* index into Dataset.domains */
    uint8_t split;   /* DatasetSplit */
    uint8_t *bytes;  /* owned encoded image held in memory (wds), NULL: read the file at path */
    size_t n_bytes;
    char *group;     /* owned; images of one group share a split (a manifest's "group"); NULL: none */
} DatasetImage;

typedef struct {
    char *text;     /* owned, valid non-empty UTF-8 */
    uint32_t image; /* index into Dataset.images */
} DatasetCaption;

typedef struct {
    DatasetImage *images; /* n_images */
    size_t n_images, cap_images;
    DatasetCaption *captions; /* n_captions, grouped by image in image order */
    size_t n_captions, cap_captions;
    char **domains; /* n_domains owned names, in order of first use */
    size_t n_domains;
    char **skipped; /* n_skipped owned messages (only with skip_bad) */
    size_t n_skipped;
    size_t n_filtered; /* images left out because their split was not selected */
} Dataset;

typedef struct {
    int skip_bad;          /* per-item errors become entries of Dataset.skipped */
    unsigned splits;       /* mask of splits to keep (0 = DATASET_SPLITS_ALL) */
    const char *domain;    /* domain name for items that name none (NULL = format default) */
} DatasetOptions;

/* Where a dataset comes from, for the format registry (data/formats.h). Each
 * format reads the fields it knows and ignores the others. */
typedef struct {
    const char *const *inputs; /* (n_inputs) annotation files, shard patterns or CSV files */
    size_t n_inputs;
    const char *images;        /* image root (NULL: the format's default) */
    /* csv: column names (NULL: filepath, title, none, none) and the field separator (0: tab) */
    const char *csv_img_key, *csv_caption_key, *csv_domain_key, *csv_split_key;
    char csv_separator;
    /* wds: where a sample's domain comes from: NULL (DatasetOptions.domain), "shard"
     * (the shard's file name without .tar) or "json:FIELD" (a field of the sample's .json) */
    const char *wds_domain;
} DatasetSource;

void dataset_init(Dataset *ds);
void dataset_free(Dataset *ds);

/* Parses "train", "val", "test", "restval", "none" joined by '+' (e.g. "train+restval")
 * into a mask; "all" keeps everything. */
ModxStatus dataset_parse_splits(const char *text, unsigned *mask);
const char *dataset_split_name(int split);

/* Readers of whole files. `root` is the image directory (NULL: the manifest's own
 * directory for manifests; required for karpathy and coco). */
ModxStatus dataset_read_manifest(Dataset *ds, const char *path, const DatasetOptions *opt);
ModxStatus dataset_read_karpathy(Dataset *ds, const char *path, const char *root, const DatasetOptions *opt);
ModxStatus dataset_read_coco(Dataset *ds, const char *path, const char *root, const DatasetOptions *opt);

/* The same from memory (used by the file readers and by the fuzz targets);
 * `name` is used in messages, `root` prefixes relative image paths ("" = none). */
ModxStatus dataset_parse_manifest(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                                  const DatasetOptions *opt);
ModxStatus dataset_parse_karpathy(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                                  const DatasetOptions *opt);
ModxStatus dataset_parse_coco(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                              const DatasetOptions *opt);

/* Webdataset shards (see data/wds.h) and CSV files (see data/csv.h) from memory,
 * with the default options (the fuzz targets' entry points). */
ModxStatus dataset_parse_wds(Dataset *ds, const char *data, size_t n, const char *name, const char *root,
                             const DatasetOptions *opt);
ModxStatus dataset_parse_csv(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                             const DatasetOptions *opt);

/* Any of these parsers. */
typedef ModxStatus (*DatasetParseFn)(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                                     const DatasetOptions *opt);
/* Reads the file at `path` and parses it with `parse` (path names it in messages). */
ModxStatus dataset_read_with(DatasetParseFn parse, Dataset *ds, const char *path, const char *root,
                             const DatasetOptions *opt);

/* Building blocks shared by the readers (and the emoji builder). */
ModxStatus dataset_domain_id(Dataset *ds, const char *name, uint32_t *id);
/* Appends an image; *index receives its index. `path` is copied. */
ModxStatus dataset_add_image(Dataset *ds, const char *path, uint32_t domain, int split, uint32_t *index);
/* Gives image `index` the group `group` (copied). */
ModxStatus dataset_set_group(Dataset *ds, uint32_t index, const char *group);
/* Gives every image without a split (DATASET_SPLIT_NONE) the split train or
 * test: a seeded shuffle of the units (a group's images, or one image without
 * a group) puts round(fraction × units) of them (at least one, and at least one
 * unit left for train when there are two) in test, so a group never straddles
 * train and test. Images with a split keep it. *n_test: the images put in test.
 * data/testsplit.c. */
ModxStatus dataset_assign_test_split(Dataset *ds, double fraction, uint64_t seed, size_t *n_test);
/* Gives image `index` its encoded bytes (malloc'd; the dataset takes ownership). */
void dataset_set_image_bytes(Dataset *ds, uint32_t index, uint8_t *bytes, size_t n);
/* Appends a caption of the last image added (keeps captions grouped). `text` is copied. */
ModxStatus dataset_add_caption(Dataset *ds, const char *text, size_t len);
/* A per-item error: with skip_bad, records "<message>" in ds->skipped and returns
 * MODX_OK (the caller leaves the item out); otherwise records it as the error and
 * returns MODX_ERR_FORMAT. */
ModxStatus dataset_bad_item(Dataset *ds, int skip_bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a skipped item; printf-style. */
ModxStatus dataset_add_skip(Dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* NULL when `text` (n bytes) is an acceptable caption, else a short reason
 * ("empty caption", "not valid UTF-8 at byte 7", ...) in a static/thread buffer. */
const char *dataset_caption_problem(const char *text, size_t n);
/* Joins root and a relative path into a malloc'd string (absolute paths and an
 * empty root are copied as they are). NULL on out of memory (message recorded). */
char *dataset_join_path(const char *root, const char *path);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF). *bad_at receives the offset of the first bad byte otherwise. */
int utf8_valid(const char *s, size_t n, size_t *bad_at);

/* Parses exactly one JSON value from text[0..n) (only whitespace may follow it).
 * NULL on malformed input, with *err_off = the byte offset of the problem. */
struct cJSON;
struct cJSON *dataset_json_parse(const char *text, size_t n, size_t *err_off);

/* Appends (dataset_add_caption) every acceptable caption of the JSON array
 * `arr`: its strings (key NULL) or each object's string member `key`; the
 * other items are passed over (callers report them when validating). */
ModxStatus dataset_add_json_captions(Dataset *ds, const struct cJSON *arr, const char *key);

/* What dataset_json_parse stopped at, for the message: "the escape \\u0000 (a
 * NUL character ...)", "the escape \\ud800, a lone UTF-16 high surrogate ...",
 * "a NUL byte ..." or "malformed JSON". Written into buf (nbuf >= 160), returned. */
const char *dataset_json_problem(const char *text, size_t n, size_t err_off, char *buf, size_t nbuf);

/* The same for a whole file's text: on failure records "name:line:col: expected a
 * JSON document, found malformed JSON" (or what dataset_json_problem names) and
 * returns MODX_ERR_FORMAT. */
ModxStatus dataset_json_document(const char *text, size_t n, const char *name, struct cJSON **out);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
ModxStatus dataset_read_file(const char *path, char **data, size_t *n);

#endif
