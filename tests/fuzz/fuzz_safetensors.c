/* Fuzz target: parse a safetensors image from memory; when it validates, check
 * the reader's invariants and read every tensor through the typed readers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafeTensors *st = NULL;
    if (safetensors_open_memory(&st, data, size, "fuzz.safetensors") != MODX_OK) {
        if (st || !modx_last_error()[0]) __builtin_trap(); /* failure must leave no handle and a message */
        return 0;
    }
    for (int i = 0; i < safetensors_metadata_count(st); i++) {
        const char *k, *v;
        safetensors_metadata_at(st, i, &k, &v);
        if (safetensors_metadata(st, k) == NULL || strlen(v) > size) __builtin_trap();
    }
    for (int i = 0; i < safetensors_count(st); i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        /* Validated: the range lies inside the input and holds exactly numel elements. */
        if (t->begin > t->end || t->end > size || t->numel * st_dtype_size(t->dtype) != t->end - t->begin)
            __builtin_trap();
        if (safetensors_find(st, t->name) != t) __builtin_trap(); /* names are unique */
        size_t n = (size_t)t->numel;
        void *out = malloc(n ? n * 4 : 1);
        if (!out) break;
        ModxStatus rc;
        if (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16 || t->dtype == ST_F64)
            rc = safetensors_read_f32(st, t->name, t->ndim, t->shape, out);
        else if (t->dtype == ST_BOOL)
            rc = MODX_OK;
        else
            rc = safetensors_read_i32(st, t->name, t->ndim, t->shape, out);
        /* Only an I64 value outside int32 may fail a read of a validated tensor. */
        if (rc != MODX_OK && t->dtype != ST_I64) __builtin_trap();
        free(out);
    }
    safetensors_close(st);
    return 0;
}
