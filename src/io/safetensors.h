/* safetensors read and write (https://huggingface.co/docs/safetensors format):
 * 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
 * then the data buffer; offsets are relative to the buffer start.
 *
 * The reader validates every number against the file before use: header
 * length within the file, valid JSON, known dtype, shape product × dtype size
 * == end − begin without overflow, offsets inside the buffer, tensors not
 * overlapping, no duplicate names. Every error message names the file, the
 * tensor and what was expected versus found.
 *
 * Accepted as valid (as other readers do): gaps between tensors or unused bytes
 * after the last one, tensors in any offset order, unknown extra keys inside a
 * tensor entry, zero-size tensors. Rejected beyond the checks above: headers over
 * 100 MB, integers above 2^53 (not exact in JSON doubles), empty tensor names,
 * a known key repeated inside one entry, non-space bytes after the JSON object.
 * Tensors are listed in header order; tensor data may be unaligned. */
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

/* Opens and validates `path` (memory-mapped, read-only). Free with safetensors_close. */
ModxStatus safetensors_open(SafeTensors **out, const char *path);
/* Validates a safetensors image held in memory; `name` is used in messages and
 * returned by safetensors_path. The bytes are NOT copied: keep them alive and
 * unchanged until safetensors_close. */
ModxStatus safetensors_open_memory(SafeTensors **out, const void *data, size_t size, const char *name);
void safetensors_close(SafeTensors *st);
const char *safetensors_path(const SafeTensors *st);
int safetensors_count(const SafeTensors *st);
const StTensorInfo *safetensors_at(const SafeTensors *st, int i);
/* NULL when absent (no error recorded). */
const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name);
/* Value of a "__metadata__" entry, NULL when absent. */
const char *safetensors_metadata(const SafeTensors *st, const char *key);
/* The i-th "__metadata__" entry in file order, i in [0, safetensors_metadata_count). */
int safetensors_metadata_count(const SafeTensors *st);
void safetensors_metadata_at(const SafeTensors *st, int i, const char **key, const char **value);
/* The tensor's raw little-endian bytes (info->end - info->begin of them) inside
 * the open file; NOT necessarily aligned for the dtype: copy with memcpy. */
const void *safetensors_data(const SafeTensors *st, const StTensorInfo *info);
/* Reads tensor `name` as F32 (converting F16/BF16/F64), checking its shape equals
 * shape[0..ndim). Missing tensor or mismatched shape: MODX_ERR_FORMAT naming both shapes. */
ModxStatus safetensors_read_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *out);
/* Reads an integer tensor (I32/I64/I16/I8/U8) into int32, checking the range and shape. */
ModxStatus safetensors_read_i32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape, int32_t *out);

const char *st_dtype_name(StDtype dt);
size_t st_dtype_size(StDtype dt);
/* Parses "F32", "BF16", ... (case-sensitive); 0 when unknown. */
int st_dtype_parse(const char *name, StDtype *out);
/* IEEE binary16 (incl. subnormals, ±inf, NaN) and bfloat16 bit patterns to float. */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);

/* Writer: collects tensors (pointers are kept, not copied: keep the data alive
 * until safetensors_writer_save) and writes them in insertion order, F32 or as given. */
typedef struct SafeTensorsWriter SafeTensorsWriter;
ModxStatus safetensors_writer_new(SafeTensorsWriter **out);
/* Adds tensor `name` (copied) of shape shape[0..ndim) (ndim 0 = scalar). Rejects an
 * empty or duplicate name, "__metadata__", ndim outside [0, ST_MAX_DIMS], a negative
 * dim, a byte size that overflows, or NULL data for a non-empty tensor. */
ModxStatus safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype, int ndim,
                                  const int64_t *shape, const void *data);
/* Sets a string metadata entry (both copied); a key set twice is rejected. */
ModxStatus safetensors_writer_metadata(SafeTensorsWriter *w, const char *key, const char *value);
/* Writes to path.tmp, flushes (fsync) and renames over path, so a crash never
 * leaves a torn file at `path`. Tensors are contiguous in insertion order; the
 * header JSON ("__metadata__" first) is padded with spaces to a multiple of 8
 * bytes. On failure neither path nor path.tmp is left behind by this call and
 * an existing file at `path` is untouched. The writer can be saved again. */
ModxStatus safetensors_writer_save(SafeTensorsWriter *w, const char *path);
void safetensors_writer_free(SafeTensorsWriter *w);

#endif
