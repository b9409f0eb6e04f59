#include "data/formats.h"

#include <stdio.h>
#include <string.h>

#include "data/csv.h"
#include "data/wds.h"

static ModxStatus read_manifest(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt) {
    return dataset_read_manifest(ds, src->inputs[0], opt);
}

static ModxStatus read_karpathy(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt) {
    return dataset_read_karpathy(ds, src->inputs[0], src->images, opt);
}

static ModxStatus read_coco(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt) {
    return dataset_read_coco(ds, src->inputs[0], src->images, opt);
}

const DatasetFormat DATASET_FORMATS[] = {
    {"manifest", read_manifest, "JSON Lines, one image per line (paths relative to the manifest's folder)", 0, 0},
    {"karpathy", read_karpathy, "dataset_coco.json / dataset_flickr30k.json (Karpathy splits); needs the image root", 1, 0},
    {"coco", read_coco, "COCO captions_*.json; needs the image root", 1, 0},
    {"wds", dataset_read_wds, "webdataset tar shards, e.g. 'shards/train-{0000..0127}.tar' (see --wds-domain)", 0, 1},
    {"csv", dataset_read_csv, "CSV/TSV with a header (OpenCLIP: --csv-img-key, --csv-caption-key, --csv-separator)", 0, 0},
};
const size_t DATASET_N_FORMATS = sizeof DATASET_FORMATS / sizeof *DATASET_FORMATS;

void dataset_format_names(char *out, size_t n, const char *separator) {
    size_t len = 0;
    out[0] = 0;
    for (size_t k = 0; k < DATASET_N_FORMATS && len + 1 < n; k++) {
        int w = snprintf(out + len, n - len, "%s%s", k ? separator : "", DATASET_FORMATS[k].name);
        len += w < 0 ? 0 : (size_t)w;
    }
}

const DatasetFormat *dataset_format_find(const char *name) {
    for (size_t k = 0; k < DATASET_N_FORMATS; k++)
        if (!strcmp(DATASET_FORMATS[k].name, name)) return &DATASET_FORMATS[k];
    char known[512];
    dataset_format_names(known, sizeof known, ", ");
    modx_fail(MODX_ERR_INVALID, "unknown dataset format '%s' (known: %s)", name, known);
    return NULL;
}

ModxStatus dataset_read_source(Dataset *ds, const char *format, const DatasetSource *src, const DatasetOptions *opt) {
    const DatasetFormat *f = dataset_format_find(format);
    if (!f) return MODX_ERR_INVALID;
    if (src->n_inputs == 0) return modx_fail(MODX_ERR_INVALID, "format %s: expected an input, found none", format);
    if (src->n_inputs > 1 && !f->many_inputs)
        return modx_fail(MODX_ERR_INVALID, "format %s: expected one input, found %zu", format, src->n_inputs);
    if (f->needs_images && (!src->images || !src->images[0]))
        return modx_fail(MODX_ERR_INVALID, "format %s: expected the image root (--images DIR, or \"images\" in an "
                         "experiment), found none", format);
    return f->read(ds, src, opt);
}
