/* safetensors read and write (https://huggingface.co/docs/safetensors format):
 * 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
 * then the data buffer; offsets are relative to the buffer start.
 *
 * The reader validates every number against the file before use: header
 * length within the file, valid JSON, known dtype, shape product × dtype size
 * == end − begin without overflow, offsets inside the buffer, tensors not
 * overlapping, no duplicate names. Every error message names the file, the
 * tensor and what was expected versus found. */
#ifndef MODX_IO_SAFETENSORS_H
#define MODX_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } StDtype;

typedef struct {
    const char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end; /* byte range inside the data buffer */
} StTensorInfo;

typedef struct SafeTensors SafeTensors; /* an open, validated file */

ModxStatus safetensors_open(SafeTensors **out, const char *path);
void safetensors_close(SafeTensors *st);
const char *safetensors_path(const SafeTensors *st);
int safetensors_count(const SafeTensors *st);
const StTensorInfo *safetensors_at(const SafeTensors *st, int i);
/* NULL when absent (no error recorded). */
const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name);
/* Value of a "__metadata__" entry, NULL when absent. */
const char *safetensors_metadata(const SafeTensors *st, const char *key);
/* Reads tensor `name` as F32 (converting F16/BF16/F64), checking its shape equals
 * shape[0..ndim). Missing tensor or mismatched shape: MODX_ERR_FORMAT naming both shapes. */
ModxStatus safetensors_read_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *out);
/* Reads an integer tensor (I32/I64/I16/I8/U8) into int32, checking the range and shape. */
ModxStatus safetensors_read_i32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape, int32_t *out);

const char *st_dtype_name(StDtype dt);
size_t st_dtype_size(StDtype dt);

/* Writer: collects tensors (pointers are kept, not copied: keep the data alive
 * until safetensors_writer_save) and writes them in insertion order, F32 or as given. */
typedef struct SafeTensorsWriter SafeTensorsWriter;
ModxStatus safetensors_writer_new(SafeTensorsWriter **out);
ModxStatus safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype, int ndim,
                                  const int64_t *shape, const void *data);
ModxStatus safetensors_writer_metadata(SafeTensorsWriter *w, const char *key, const char *value);
/* Writes to path.tmp, flushes (fsync) and renames over path, so a crash never
 * leaves a torn file at `path`. */
ModxStatus safetensors_writer_save(SafeTensorsWriter *w, const char *path);
void safetensors_writer_free(SafeTensorsWriter *w);

#endif
