/* Dataset formats: the one table from a format name to its reader.
 *
 * Every command and the run driver read a dataset through dataset_read_source,
 * so a format is known everywhere once it is in the table. Adding a format is
 * one reader file (a DatasetReadFn) and one line in DATASET_FORMATS
 * (formats.c). An unknown name is an error listing the known ones. */
#ifndef MODX_DATA_FORMATS_H
#define MODX_DATA_FORMATS_H

#include <stddef.h>

#include "core/error.h"
#include "data/dataset.h"

/* Reads src into ds (initialised, empty) following opt; on failure ds may hold
 * partial content (the caller frees it). */
typedef ModxStatus (*DatasetReadFn)(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt);

typedef struct {
    const char *name;     /* "manifest" */
    DatasetReadFn read;
    const char *summary;  /* one line for --help */
    int needs_images;     /* 1: src->images (the image root) is required */
    int many_inputs;      /* 1: several inputs are read in order as one dataset; 0: exactly one */
} DatasetFormat;

extern const DatasetFormat DATASET_FORMATS[];
extern const size_t DATASET_N_FORMATS;

/* The format called `name`; NULL with the error "unknown dataset format 'x'
 * (known: manifest, karpathy, …)" recorded. */
const DatasetFormat *dataset_format_find(const char *name);

/* "manifest, karpathy, coco, …" into out[0..n). */
void dataset_format_names(char *out, size_t n, const char *separator);

/* Finds the format, checks the source has what it needs (an input; the image
 * root when required; one input unless the format takes many) and reads it. */
ModxStatus dataset_read_source(Dataset *ds, const char *format, const DatasetSource *src, const DatasetOptions *opt);

#endif
