/* The binary dataset cache: decoded, resized pixels and tokenized captions,
 * ready to be mmap'd for training.
 *
 * Layout (little-endian; version 1):
 *   header, 256 bytes:
 *     0  magic "MODXDSET"           8 bytes
 *     8  u32 version (1)            12 u32 header size (256)
 *     16 u64 n_images N             24 u64 n_captions M      32 u64 n_domains D
 *     40 u32 image size S           44 u32 context length T
 *     48 u32 vocab size             52 u32 CRC-32 of the tokenizer's vocab file
 *     56 u32 number of sections (8) 60 u32 CRC-32 of the header (this field as 0)
 *     64 8 section records {u64 offset, u64 size, u32 crc32, u32 zero}
 *   sections, each at a 64-byte aligned offset, in this order, not overlapping:
 *     0 pixels        uint8 N×S×S×3 (HWC, after resize + centre crop)
 *     1 tokens        int32 M×T (SOT … EOT, 0 padding), every id < vocab size
 *     2 caption_image uint32 M, the image of each caption (< N)
 *     3 image_domain  uint32 N, each < D
 *     4 image_split   uint8 N, a DatasetSplit
 *     5 domain_names  D non-empty NUL-terminated names
 *     6 text_offsets  uint64 M+1, increasing, [0] = 0, [M] = size of section 7
 *     7 text          the M captions, each NUL-terminated
 *
 * Opening checks everything a reader relies on: magic, version, header CRC,
 * limits on every count, each section's offset and size against the counts and
 * the file size (overflow-checked), order, alignment, all index values, and
 * (unless asked not to) each section's CRC-32. A file that passes cannot make a
 * reader read out of bounds. */
#ifndef MODX_DATA_CACHE_H
#define MODX_DATA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CACHE_MAGIC "MODXDSET"
#define CACHE_VERSION 1u
#define CACHE_HEADER_SIZE 256u
#define CACHE_N_SECTIONS 8u
#define CACHE_MAX_IMAGE_SIZE 4096u
#define CACHE_MAX_CONTEXT 4096u
#define CACHE_MAX_DOMAINS 65535u

typedef enum {
    CACHE_SEC_PIXELS = 0,
    CACHE_SEC_TOKENS,
    CACHE_SEC_CAPTION_IMAGE,
    CACHE_SEC_IMAGE_DOMAIN,
    CACHE_SEC_IMAGE_SPLIT,
    CACHE_SEC_DOMAIN_NAMES,
    CACHE_SEC_TEXT_OFFSETS,
    CACHE_SEC_TEXT,
} CacheSection;

/* An opened cache. All pointers are read-only views into the mapping. */
typedef struct Cache {
    uint64_t n_images, n_captions, n_domains;
    int image_size;  /* S */
    int context;     /* T */
    int vocab_size;
    uint32_t vocab_crc;
    const uint8_t *pixels;         /* (N, S, S, 3) */
    const int32_t *tokens;         /* (M, T) */
    const uint32_t *caption_image; /* (M) */
    const uint32_t *image_domain;  /* (N) */
    const uint8_t *image_split;    /* (N) */
    const char **domain_names;     /* (D), owned array of pointers into the mapping */
    const uint64_t *text_offsets;  /* (M + 1) */
    const char *text;
    /* private */
    void *map;
    size_t map_size;
    int owns_map;
} Cache;

/* Opens and validates a cache file (mmap, read-only). verify_crc = 0 skips the
 * per-section CRC pass (every structural check still runs). Free with cache_close. */
/* `path` may also be the folder `modx data prepare` wrote (its dataset.cache). */
ModxStatus cache_open(Cache **out, const char *path, int verify_crc);
/* The same over a caller-owned buffer that must outlive the Cache (fuzzing, tests).
 * `data` must be 8-byte aligned. `name` is used in messages. */
ModxStatus cache_open_mem(Cache **out, const void *data, size_t n, const char *name, int verify_crc);
void cache_close(Cache *c);

/* The text of caption i (NUL-terminated) and its length. */
const char *cache_caption_text(const Cache *c, uint64_t i, size_t *len);
const uint8_t *cache_image_pixels(const Cache *c, uint64_t i);
const int32_t *cache_caption_tokens(const Cache *c, uint64_t i);

/* Checks that the cache was built for this image size, context length and
 * tokenizer (vocab CRC); a mismatch is MODX_ERR_INVALID naming both values. */
ModxStatus cache_check_compat(const Cache *c, const char *name, int image_size, int context, uint32_t vocab_crc);

/* CRC-32 (zlib) of a whole file, e.g. the tokenizer's vocab file. */
ModxStatus cache_file_crc32(const char *path, uint32_t *crc);

/* Everything but the pixels, for the writer. Arrays are borrowed. */
typedef struct {
    uint64_t n_images, n_captions;
    int image_size, context, vocab_size;
    uint32_t vocab_crc;
    const int32_t *tokens;            /* (M, T) */
    const uint32_t *caption_image;    /* (M) */
    const uint32_t *image_domain;     /* (N) */
    const uint8_t *image_split;       /* (N) */
    const char *const *domain_names;  /* (n_domains) */
    uint64_t n_domains;
    const char *const *caption_texts; /* (M) NUL-terminated */
} CacheMeta;

/* Streaming writer: the pixels are written in place (a shared writable mapping
 * of a temporary file "<path>.tmp.<pid>") so a large dataset never has to fit in
 * memory. The mapped area's blocks are reserved (posix_fallocate) before it is
 * mapped, so a full disk is an I/O error naming the file ("No space left on
 * device"), never a SIGBUS from a store into the mapping. Opening also removes
 * "<path>.tmp.<pid>" files whose process no longer exists (builds that were
 * killed). cache_writer_finish writes the other sections, the CRCs and the header,
 * fsyncs and renames the file to `path` (atomic: a reader never sees a partial
 * cache). cache_writer_abort, and every failure, removes the temporary file. */
typedef struct CacheWriter CacheWriter;
/* Room for up to max_images images of image_size² × 3 bytes. */
ModxStatus cache_writer_open(CacheWriter **out, const char *path, uint64_t max_images, int image_size);
/* (max_images, S, S, 3); image i at offset i·S·S·3. */
uint8_t *cache_writer_pixels(CacheWriter *w);
/* meta->n_images ≤ max_images: only the first n_images pixel blocks are kept.
 * Frees the writer whatever the outcome. */
ModxStatus cache_writer_finish(CacheWriter *w, const CacheMeta *meta);
void cache_writer_abort(CacheWriter *w);

/* One call: writes `pixels` (N×S×S×3) and meta to path (atomically). */
ModxStatus cache_write(const char *path, const uint8_t *pixels, const CacheMeta *meta);

#endif
