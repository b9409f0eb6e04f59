/* safetensors reader and writer. See safetensors.h for the format.
 *
 * Reader: the whole file is mapped read-only (or borrowed from memory) and
 * every number in the header is checked against the file before it is used:
 * header length, JSON syntax, each entry's dtype/shape/data_offsets, the byte
 * count implied by the shape (overflow-checked), overlap between tensors and
 * duplicate keys (cJSON keeps duplicate keys as separate items, so they are
 * found by sorting). The cJSON tree stays alive while the file is open: tensor
 * names and metadata strings point into it.
 *
 * Writer: header JSON is built by hand (integers printed exactly as uint64),
 * padded with spaces to a multiple of 8 bytes, then the tensors are streamed
 * through io/file's atomic writer (tmp + fsync + rename + directory fsync). */
#include "io/safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/size.h"
#include "io/file.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the file format is little-endian)"
#endif

/* Headers larger than this are refused as corrupt (the reference library uses the same bound). */
#define ST_MAX_HEADER 100000000ull
/* Integers above 2^53 cannot be represented exactly by cJSON's double. */
#define ST_MAX_JSON_INT 9007199254740992.0

/* ---- dtypes ---------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2},   [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define ST_NDTYPES ((int)(sizeof dtype_table / sizeof dtype_table[0]))

static int dtype_valid(StDtype dt) { return (int)dt >= 0 && (int)dt < ST_NDTYPES; }

const char *st_dtype_name(StDtype dt) { return dtype_valid(dt) ? dtype_table[dt].name : "?"; }

size_t st_dtype_size(StDtype dt) { return dtype_valid(dt) ? dtype_table[dt].size : 0; }

int st_dtype_parse(const char *name, StDtype *out) {
    for (int i = 0; i < ST_NDTYPES; i++) {
        if (name && !strcmp(name, dtype_table[i].name)) {
            *out = (StDtype)i;
            return 1;
        }
    }
    return 0;
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in float */
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf or NaN (payload kept) */
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float st_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* "[2, 3]" into buf. */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* ---- reader ---------------------------------------------------------------- */

struct SafeTensors {
    char *path;
    const uint8_t *data;  /* start of the data buffer */
    uint64_t data_size;   /* bytes in it */
    void *map;            /* mmap of the whole file, NULL for memory images */
    size_t map_size;
    cJSON *root;
    int count;
    StTensorInfo *tensors; /* header order */
    int nmeta;
    const char **meta_key, **meta_value;
};

/* A compact, truncated rendering of a JSON value for messages. */
static const char *json_brief(const cJSON *v, char *buf, size_t cap) {
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!s) {
        snprintf(buf, cap, "%s", v ? "?" : "(missing)");
        return buf;
    }
    if (strlen(s) >= cap && cap > 4) {
        memcpy(buf, s, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    } else {
        snprintf(buf, cap, "%s", s);
    }
    free(s);
    return buf;
}

/* A JSON number holding an exact non-negative integer. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > ST_MAX_JSON_INT || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_by_offset(const void *a, const void *b) {
    const StTensorInfo *x = *(const StTensorInfo *const *)a, *y = *(const StTensorInfo *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Reports the first duplicate among n strings (sorted in place), if any. */
static const char *first_duplicate(const char **names, int n) {
    if (n < 2) return NULL;
    qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
    for (int i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) return names[i];
    return NULL;
}

static ModxStatus parse_metadata(SafeTensors *st, const cJSON *meta) {
    char brief[96];
    if (!cJSON_IsObject(meta))
        return modx_fail(MODX_ERR_FORMAT, "%s: __metadata__: expected an object of string -> string, found %s",
                         st->path, json_brief(meta, brief, sizeof brief));
    int n = cJSON_GetArraySize(meta);
    st->meta_key = modx_calloc((size_t)n, sizeof *st->meta_key, "safetensors metadata keys");
    st->meta_value = modx_calloc((size_t)n, sizeof *st->meta_value, "safetensors metadata values");
    if (!st->meta_key || !st->meta_value) return MODX_ERR_NOMEM;
    const cJSON *e;
    cJSON_ArrayForEach(e, meta) {
        if (!cJSON_IsString(e) || !e->valuestring)
            return modx_fail(MODX_ERR_FORMAT, "%s: __metadata__ entry '%s': expected a string value, found %s",
                             st->path, e->string ? e->string : "", json_brief(e, brief, sizeof brief));
        st->meta_key[st->nmeta] = e->string ? e->string : "";
        st->meta_value[st->nmeta] = e->valuestring;
        st->nmeta++;
    }
    const char **sorted = modx_calloc((size_t)n, sizeof *sorted, "safetensors metadata check");
    if (!sorted) return MODX_ERR_NOMEM;
    memcpy(sorted, st->meta_key, (size_t)n * sizeof *sorted);
    const char *dup = first_duplicate(sorted, n);
    ModxStatus rc = dup ? modx_fail(MODX_ERR_FORMAT, "%s: __metadata__: key '%s' appears more than once", st->path, dup)
                        : MODX_OK;
    free(sorted);
    return rc;
}

/* Finds dtype, shape and data_offsets of a tensor entry into field[0..2]
 * (NULL when absent), refusing a key that appears twice. */
static ModxStatus tensor_fields(const char *path, const char *name, const cJSON *entry, const cJSON *field[3]) {
    /* Each known key exactly once (cJSON would silently use the first duplicate). */
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    const cJSON *e;
    cJSON_ArrayForEach(e, entry) {
        for (int k = 0; k < 3; k++) {
            if (!e->string || strcmp(e->string, keys[k])) continue;
            if (field[k])
                return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': key \"%s\" appears more than once", path, name,
                                 keys[k]);
            field[k] = e;
        }
    }
    return MODX_OK;
}

/* Checks a tensor's shape into t->ndim, t->shape and t->numel. */
static ModxStatus tensor_shape(const char *path, const char *name, const cJSON *shape, StTensorInfo *t) {
    char brief[96];
    if (!cJSON_IsArray(shape))
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': shape must be an array of integers, found %s", path,
                         name, json_brief(shape, brief, sizeof brief));
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': shape %s has %d dims, at most %d supported", path, name,
                         json_brief(shape, brief, sizeof brief), ndim, ST_MAX_DIMS);
    t->ndim = ndim;
    uint64_t numel = 1;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, shape) {
        uint64_t d;
        if (!json_uint(e, &d))
            return modx_fail(MODX_ERR_FORMAT,
                             "%s: tensor '%s': shape %s: dim %d is not a non-negative integer (at most 2^53)", path,
                             name, json_brief(shape, brief, sizeof brief), i);
        t->shape[i++] = (int64_t)d;
        if (!u64_mul(numel, d, &numel))
            return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': shape %s: element count overflows 64 bits", path,
                             name, json_brief(shape, brief, sizeof brief));
    }
    t->numel = numel;
    return MODX_OK;
}

/* Checks a tensor's data_offsets into t->begin, t->end: inside the data
 * buffer and exactly the size its dtype and shape need. */
static ModxStatus tensor_offsets(const SafeTensors *st, const char *name, const cJSON *offs, StTensorInfo *t) {
    const char *path = st->path;
    char brief[96];
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_uint(offs->child, &begin) ||
        !json_uint(offs->child->next, &end))
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets must be [begin, end] with non-negative integers, found %s",
                         path, name, json_brief(offs, brief, sizeof brief));
    if (end < begin)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before begin",
                         path, name, begin, end);
    if (end > st->data_size)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] past the end of the %" PRIu64
                         "-byte data buffer (file truncated?)",
                         path, name, begin, end, st->data_size);
    t->begin = begin;
    t->end = end;
    uint64_t need;
    char sbuf[160];
    if (!u64_mul(t->numel, st_dtype_size(t->dtype), &need))
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': %s %s: byte size overflows 64 bits", path, name,
                         st_dtype_name(t->dtype), fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape));
    if (need != end - begin)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64 " bytes but %s %s needs %" PRIu64,
                         path, name, begin, end, end - begin, st_dtype_name(t->dtype),
                         fmt_shape(sbuf, sizeof sbuf, t->ndim, t->shape), need);
    return MODX_OK;
}

/* Validates one header entry into *t. */
static ModxStatus parse_tensor(SafeTensors *st, const cJSON *entry, StTensorInfo *t) {
    const char *path = st->path;
    const char *name = entry->string;
    char brief[96];
    t->name = name;
    if (!name[0]) return modx_fail(MODX_ERR_FORMAT, "%s: header has a tensor with an empty name", path);
    if (!cJSON_IsObject(entry))
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: tensor '%s': expected an object {dtype, shape, data_offsets}, found %s", path, name,
                         json_brief(entry, brief, sizeof brief));
    const cJSON *field[3] = {NULL, NULL, NULL};
    MODX_TRY(tensor_fields(path, name, entry, field));
    const cJSON *dtype = field[0], *shape = field[1], *offs = field[2];

    if (!cJSON_IsString(dtype) || !st_dtype_parse(dtype->valuestring, &t->dtype))
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: tensor '%s': dtype %s is not one of F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL", path,
                         name, json_brief(dtype, brief, sizeof brief));
    MODX_TRY(tensor_shape(path, name, shape, t));
    return tensor_offsets(st, name, offs, t);
}

/* Checks the 8-byte length and parses the JSON header object into st->root;
 * sets st->data and st->data_size to the byte buffer that follows. */
static ModxStatus parse_header_json(SafeTensors *st, const uint8_t *base, size_t size) {
    const char *path = st->path;
    if (size < 8)
        return modx_fail(MODX_ERR_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", path, size);
    uint64_t n;
    memcpy(&n, base, 8);
    uint64_t avail = (uint64_t)size - 8;
    if (n > avail)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: header length %" PRIu64 " is past the end of the file (%" PRIu64
                         " bytes follow the length field; truncated or not a safetensors file?)",
                         path, n, avail);
    if (n > ST_MAX_HEADER)
        return modx_fail(MODX_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds the %llu-byte limit", path, n,
                         ST_MAX_HEADER);
    if (n < 2) return modx_fail(MODX_ERR_FORMAT, "%s: header length %" PRIu64 " is too short for a JSON object", path, n);
    const char *text = (const char *)base + 8;
    st->data = base + 8 + n;
    st->data_size = avail - n;

    const char *end = NULL;
    st->root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
    if (!st->root) {
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        return modx_fail(MODX_ERR_FORMAT, "%s: header is not valid JSON (error near byte %zu of %" PRIu64 ")", path,
                         at, n);
    }
    /* Only padding may follow the JSON value. */
    for (const char *p = end; p && p < text + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return modx_fail(MODX_ERR_FORMAT, "%s: header has data after the JSON object at byte %zu of %" PRIu64,
                             path, (size_t)(p - text), n);
    }
    if (!cJSON_IsObject(st->root)) {
        char brief[96];
        return modx_fail(MODX_ERR_FORMAT, "%s: header must be a JSON object, found %s", path,
                         json_brief(st->root, brief, sizeof brief));
    }
    return MODX_OK;
}

/* Refuses two tensors whose byte ranges overlap (order is sorted in place). */
static ModxStatus check_overlap(const char *path, const StTensorInfo **order, int count) {
    qsort(order, (size_t)count, sizeof *order, cmp_by_offset);
    for (int i = 1; i < count; i++) {
        const StTensorInfo *a = order[i - 1], *b = order[i];
        if (b->begin < a->end)
            return modx_fail(MODX_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor '%s' [%" PRIu64
                             ", %" PRIu64 "]",
                             path, b->name, b->begin, b->end, a->name, a->begin, a->end);
    }
    return MODX_OK;
}

static ModxStatus parse_header(SafeTensors *st, const uint8_t *base, size_t size) {
    const char *path = st->path;
    MODX_TRY(parse_header_json(st, base, size));

    int nitems = cJSON_GetArraySize(st->root);
    st->tensors = modx_calloc((size_t)nitems, sizeof *st->tensors, "safetensors tensor table");
    const char **names = modx_calloc((size_t)nitems, sizeof *names, "safetensors name check");
    const StTensorInfo **order = modx_calloc((size_t)nitems, sizeof *order, "safetensors overlap check");
    ModxStatus rc = MODX_OK;
    if (!st->tensors || !names || !order) {
        rc = MODX_ERR_NOMEM;
        goto done;
    }
    int nmeta_objects = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, st->root) {
        if (!e->string) { /* cannot happen for a parsed object; guard anyway */
            rc = modx_fail(MODX_ERR_FORMAT, "%s: header entry without a name", path);
            goto done;
        }
        if (!strcmp(e->string, "__metadata__")) {
            if (++nmeta_objects > 1) {
                rc = modx_fail(MODX_ERR_FORMAT, "%s: __metadata__ appears more than once", path);
                goto done;
            }
            if ((rc = parse_metadata(st, e)) != MODX_OK) goto done;
            continue;
        }
        StTensorInfo *t = &st->tensors[st->count];
        if ((rc = parse_tensor(st, e, t)) != MODX_OK) goto done;
        names[st->count] = t->name;
        order[st->count] = t;
        st->count++;
    }
    const char *dup = first_duplicate(names, st->count);
    if (dup) {
        rc = modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' appears more than once in the header", path, dup);
        goto done;
    }
    rc = check_overlap(path, order, st->count);
done:
    free(names);
    free(order);
    return rc;
}

static ModxStatus open_common(SafeTensors **out, const void *data, size_t size, const char *name, void *map) {
    SafeTensors *st = modx_calloc(1, sizeof *st, "safetensors handle");
    if (!st) {
        if (map) munmap(map, size);
        return MODX_ERR_NOMEM;
    }
    st->map = map;
    st->map_size = size;
    st->path = strdup(name ? name : "(memory)");
    if (!st->path) {
        safetensors_close(st);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
    }
    ModxStatus rc = parse_header(st, data, size);
    if (rc != MODX_OK) {
        safetensors_close(st);
        return rc;
    }
    *out = st;
    return MODX_OK;
}

ModxStatus safetensors_open_memory(SafeTensors **out, const void *data, size_t size, const char *name) {
    *out = NULL;
    if (!data && size) return modx_fail(MODX_ERR_INVALID, "%s: NULL data", name ? name : "(memory)");
    return open_common(out, data ? data : "", size, name, NULL);
}

ModxStatus safetensors_open(SafeTensors **out, const char *path) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return modx_fail(MODX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return modx_fail(MODX_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return modx_fail(MODX_ERR_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", path,
                         size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return modx_fail(MODX_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
    return open_common(out, map, size, path, map);
}

void safetensors_close(SafeTensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    cJSON_Delete(st->root);
    free(st->tensors);
    free(st->meta_key);
    free(st->meta_value);
    free(st->path);
    free(st);
}

const char *safetensors_path(const SafeTensors *st) { return st->path; }

int safetensors_count(const SafeTensors *st) { return st->count; }

const StTensorInfo *safetensors_at(const SafeTensors *st, int i) {
    CHECK(i >= 0 && i < st->count, "tensor index %d outside [0, %d)", i, st->count);
    return &st->tensors[i];
}

const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

const char *safetensors_metadata(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->nmeta; i++)
        if (!strcmp(st->meta_key[i], key)) return st->meta_value[i];
    return NULL;
}

int safetensors_metadata_count(const SafeTensors *st) { return st->nmeta; }

void safetensors_metadata_at(const SafeTensors *st, int i, const char **key, const char **value) {
    CHECK(i >= 0 && i < st->nmeta, "metadata index %d outside [0, %d)", i, st->nmeta);
    *key = st->meta_key[i];
    *value = st->meta_value[i];
}

const void *safetensors_data(const SafeTensors *st, const StTensorInfo *info) { return st->data + info->begin; }

/* Finds `name` and checks it has exactly the requested shape. */
static ModxStatus find_with_shape(const SafeTensors *st, const char *name, int ndim, const int64_t *shape,
                                  const StTensorInfo **out) {
    char want[160], got[160];
    if (ndim < 0 || ndim > ST_MAX_DIMS || (ndim > 0 && !shape))
        return modx_fail(MODX_ERR_INVALID, "%s: tensor '%s': requested %d dims, expected 0..%d", st->path, name, ndim,
                         ST_MAX_DIMS);
    const StTensorInfo *t = safetensors_find(st, name);
    if (!t)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' not found (expected shape %s; the file has %d tensors)",
                         st->path, name, fmt_shape(want, sizeof want, ndim, shape), st->count);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': expected shape %s, found %s %s", st->path, name,
                         fmt_shape(want, sizeof want, ndim, shape), st_dtype_name(t->dtype),
                         fmt_shape(got, sizeof got, t->ndim, t->shape));
    *out = t;
    return MODX_OK;
}

ModxStatus safetensors_read_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *out) {
    const StTensorInfo *t;
    MODX_TRY(find_with_shape(st, name, ndim, shape, &t));
    const uint8_t *src = st->data + t->begin;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case ST_F32:
        if (n) memcpy(out, src, n * 4);
        return MODX_OK;
    case ST_F16:
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = t->dtype == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
        }
        return MODX_OK;
    case ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = (float)d;
        }
        return MODX_OK;
    default:
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': dtype %s, expected a float dtype (F32, F16, BF16, F64)",
                         st->path, name, st_dtype_name(t->dtype));
    }
}

ModxStatus safetensors_read_i32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape,
                                int32_t *out) {
    const StTensorInfo *t;
    MODX_TRY(find_with_shape(st, name, ndim, shape, &t));
    const uint8_t *src = st->data + t->begin;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case ST_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, src + 8 * i, 8);
            if (v < INT32_MIN || v > INT32_MAX)
                return modx_fail(MODX_ERR_FORMAT,
                                 "%s: tensor '%s': element %zu = %" PRId64 " is outside the int32 range [%d, %d]",
                                 st->path, name, i, v, INT32_MIN, INT32_MAX);
            out[i] = (int32_t)v;
        }
        return MODX_OK;
    case ST_I32:
        if (n) memcpy(out, src, n * 4);
        return MODX_OK;
    case ST_I16:
        for (size_t i = 0; i < n; i++) {
            int16_t v;
            memcpy(&v, src + 2 * i, 2);
            out[i] = v;
        }
        return MODX_OK;
    case ST_I8:
        for (size_t i = 0; i < n; i++) out[i] = (int8_t)src[i];
        return MODX_OK;
    case ST_U8:
        for (size_t i = 0; i < n; i++) out[i] = src[i];
        return MODX_OK;
    default:
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s': dtype %s, expected an integer dtype (I64, I32, I16, I8, U8)",
                         st->path, name, st_dtype_name(t->dtype));
    }
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
} WEntry;

struct SafeTensorsWriter {
    WEntry *entries;
    int count, cap;
    char **meta_key, **meta_value;
    int nmeta, meta_cap;
};

ModxStatus safetensors_writer_new(SafeTensorsWriter **out) {
    *out = modx_calloc(1, sizeof **out, "safetensors writer");
    return *out ? MODX_OK : MODX_ERR_NOMEM;
}

void safetensors_writer_free(SafeTensorsWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->count; i++) free(w->entries[i].name);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->meta_key[i]);
        free(w->meta_value[i]);
    }
    free(w->entries);
    free(w->meta_key);
    free(w->meta_value);
    free(w);
}

ModxStatus safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype, int ndim,
                                  const int64_t *shape, const void *data) {
    if (!name || !name[0]) return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor name is empty");
    if (!strcmp(name, "__metadata__"))
        return modx_fail(MODX_ERR_INVALID, "safetensors writer: '__metadata__' is reserved, not a tensor name");
    if (!dtype_valid(dtype))
        return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS || (ndim > 0 && !shape))
        return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': %d dims, expected 0..%d", name, ndim,
                         ST_MAX_DIMS);
    for (int i = 0; i < w->count; i++)
        if (!strcmp(w->entries[i].name, name))
            return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s' added twice", name);
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': dim %d is %" PRId64 ", expected >= 0",
                             name, i, shape[i]);
        if (!u64_mul(numel, (uint64_t)shape[i], &numel))
            return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': element count overflows", name);
    }
    uint64_t nbytes;
    if (!u64_mul(numel, st_dtype_size(dtype), &nbytes) || nbytes > SIZE_MAX)
        return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': byte size overflows", name);
    if (nbytes && !data)
        return modx_fail(MODX_ERR_INVALID, "safetensors writer: tensor '%s': NULL data for %" PRIu64 " bytes", name,
                         nbytes);
    if (w->count == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 16;
        WEntry *ne = realloc(w->entries, (size_t)ncap * sizeof *ne);
        if (!ne) return modx_fail(MODX_ERR_NOMEM, "safetensors writer: out of memory adding '%s'", name);
        w->entries = ne;
        w->cap = ncap;
    }
    WEntry *e = &w->entries[w->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return modx_fail(MODX_ERR_NOMEM, "safetensors writer: out of memory adding '%s'", name);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = nbytes;
    w->count++;
    return MODX_OK;
}

ModxStatus safetensors_writer_metadata(SafeTensorsWriter *w, const char *key, const char *value) {
    if (!key || !value) return modx_fail(MODX_ERR_INVALID, "safetensors writer: metadata key or value is NULL");
    for (int i = 0; i < w->nmeta; i++)
        if (!strcmp(w->meta_key[i], key))
            return modx_fail(MODX_ERR_INVALID, "safetensors writer: metadata key '%s' set twice", key);
    if (w->nmeta == w->meta_cap) {
        int ncap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **nk = realloc(w->meta_key, (size_t)ncap * sizeof *nk);
        if (!nk) return modx_fail(MODX_ERR_NOMEM, "safetensors writer: out of memory");
        w->meta_key = nk;
        char **nv = realloc(w->meta_value, (size_t)ncap * sizeof *nv);
        if (!nv) return modx_fail(MODX_ERR_NOMEM, "safetensors writer: out of memory");
        w->meta_value = nv;
        w->meta_cap = ncap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return modx_fail(MODX_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->meta_key[w->nmeta] = k;
    w->meta_value[w->nmeta] = v;
    w->nmeta++;
    return MODX_OK;
}

/* A growable byte string; `oom` sticks once an append fails. */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} StrBuf;

static void sb_put(StrBuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->n + n + 1) {
            if (!size_mul(ncap, 2, &ncap)) {
                b->oom = 1;
                return;
            }
        }
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(StrBuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(StrBuf *b, uint64_t v) {
    char tmp[32];
    sb_str(b, (snprintf(tmp, sizeof tmp, "%" PRIu64, v), tmp));
}

/* A JSON string literal: escapes quote, backslash and control bytes; other bytes (UTF-8) pass through. */
static void sb_json_string(StrBuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                sb_put(b, esc, 6);
            } else {
                sb_put(b, (const char *)p, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

/* The padded header JSON for the writer's current content. */
static ModxStatus build_header(const SafeTensorsWriter *w, const char *path, StrBuf *b) {
    sb_put(b, "{", 1);
    int first = 1;
    if (w->nmeta) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < w->nmeta; i++) {
            if (i) sb_put(b, ",", 1);
            sb_json_string(b, w->meta_key[i]);
            sb_put(b, ":", 1);
            sb_json_string(b, w->meta_value[i]);
        }
        sb_put(b, "}", 1);
        first = 0;
    }
    uint64_t offset = 0;
    for (int i = 0; i < w->count; i++) {
        const WEntry *e = &w->entries[i];
        if (!first) sb_put(b, ",", 1);
        first = 0;
        sb_json_string(b, e->name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, st_dtype_name(e->dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) {
            if (d) sb_put(b, ",", 1);
            sb_u64(b, (uint64_t)e->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, offset);
        sb_put(b, ",", 1);
        if (!u64_add(offset, e->nbytes, &offset))
            return modx_fail(MODX_ERR_INVALID, "%s: total tensor data size overflows", path);
        sb_u64(b, offset);
        sb_str(b, "]}");
    }
    sb_put(b, "}", 1);
    while (!b->oom && b->n % 8) sb_put(b, " ", 1);
    if (b->oom) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory building the header", path);
    return MODX_OK;
}

ModxStatus safetensors_writer_save(SafeTensorsWriter *w, const char *path) {
    if (!path || !path[0]) return modx_fail(MODX_ERR_INVALID, "safetensors writer: empty output path");
    StrBuf hdr = {0};
    ModxStatus rc = build_header(w, path, &hdr);
    if (rc != MODX_OK) {
        free(hdr.p);
        return rc;
    }
    IoAtomicFile *f = NULL;
    rc = io_atomic_open(&f, path);
    if (rc == MODX_OK) {
        uint64_t n = hdr.n;
        rc = io_atomic_write(f, &n, 8);
        if (rc == MODX_OK) rc = io_atomic_write(f, hdr.p, hdr.n);
        for (int i = 0; rc == MODX_OK && i < w->count; i++)
            rc = io_atomic_write(f, w->entries[i].data, (size_t)w->entries[i].nbytes);
        if (rc == MODX_OK)
            rc = io_atomic_commit(f);
        else
            io_atomic_abort(f);
    }
    free(hdr.p);
    return rc;
}
