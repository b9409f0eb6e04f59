#include "data/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/size.h"
#include "io/file.h"

static const char *const SECTION_NAMES[CACHE_N_SECTIONS] = {
    "pixels", "tokens", "caption_image", "image_domain", "image_split", "domain_names", "text_offsets", "text"};

/* ---- little-endian helpers (the format is little-endian; so is every target we build for) ---- */

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32 of a large buffer, in parallel chunks combined with crc32_combine (same value as one pass). */
static uint32_t crc32_big(const uint8_t *p, uint64_t n) {
    const uint64_t chunk = 32u << 20;
    if (n <= chunk) return (uint32_t)crc32_z(0L, p, (z_size_t)n);
    uint64_t nch = (n + chunk - 1) / chunk;
    uLong *parts = malloc(nch * sizeof *parts);
    if (!parts) return (uint32_t)crc32_z(0L, p, (z_size_t)n);
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < (int64_t)nch; k++) {
        uint64_t off = (uint64_t)k * chunk, len = n - off < chunk ? n - off : chunk;
        parts[k] = crc32_z(0L, p + off, (z_size_t)len);
    }
    uLong crc = parts[0];
    for (uint64_t k = 1; k < nch; k++) {
        uint64_t off = k * chunk, len = n - off < chunk ? n - off : chunk;
        crc = crc32_combine(crc, parts[k], (z_off_t)len);
    }
    free(parts);
    return (uint32_t)crc;
}

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* Expected sizes of the fixed-size sections (0 on overflow, flagged through *ok). */
static int expected_sizes(uint64_t n, uint64_t m, uint64_t s, uint64_t t, uint64_t sizes[CACHE_N_SECTIONS]) {
    uint64_t px, tok;
    if (!u64_mul(s, s, &px) || !u64_mul(px, 3, &px) || !u64_mul(px, n, &px)) return 0;
    if (!u64_mul(m, t, &tok) || !u64_mul(tok, 4, &tok)) return 0;
    sizes[CACHE_SEC_PIXELS] = px;
    sizes[CACHE_SEC_TOKENS] = tok;
    if (!u64_mul(m, 4, &sizes[CACHE_SEC_CAPTION_IMAGE])) return 0;
    if (!u64_mul(n, 4, &sizes[CACHE_SEC_IMAGE_DOMAIN])) return 0;
    sizes[CACHE_SEC_IMAGE_SPLIT] = n;
    sizes[CACHE_SEC_DOMAIN_NAMES] = UINT64_MAX; /* variable */
    if (!u64_add(m, 1, &sizes[CACHE_SEC_TEXT_OFFSETS]) || !u64_mul(sizes[CACHE_SEC_TEXT_OFFSETS], 8, &sizes[CACHE_SEC_TEXT_OFFSETS]))
        return 0;
    sizes[CACHE_SEC_TEXT] = UINT64_MAX; /* variable */
    return 1;
}

/* ---------------------------------------------------------------- reader */

/* The header's counts and sizes, as validate reads them. */
typedef struct {
    uint64_t n, m, d;
    uint32_t s, t, vocab;
} CacheDims;

/* Magic, version, header size and checksum, and the counts within bounds. */
static ModxStatus validate_header(const uint8_t *base, size_t size, const char *name, CacheDims *h) {
    if (size < CACHE_HEADER_SIZE)
        return modx_fail(MODX_ERR_FORMAT, "%s: expected a modx dataset cache of at least %u bytes, found %zu bytes", name,
                         CACHE_HEADER_SIZE, size);
    if (memcmp(base, CACHE_MAGIC, 8))
        return modx_fail(MODX_ERR_FORMAT, "%s: bad magic: expected \"%s\" (a modx dataset cache; build one with "
                                          "`modx data prepare`)", name, CACHE_MAGIC);
    uint32_t version = rd32(base + 8), hsize = rd32(base + 12), nsec = rd32(base + 56), hcrc = rd32(base + 60);
    if (version != CACHE_VERSION)
        return modx_fail(MODX_ERR_FORMAT, "%s: version: expected %u, found %u (rebuild the cache)", name, CACHE_VERSION,
                         version);
    if (hsize != CACHE_HEADER_SIZE || nsec != CACHE_N_SECTIONS)
        return modx_fail(MODX_ERR_FORMAT, "%s: header: expected size %u with %u sections, found size %u with %u", name,
                         CACHE_HEADER_SIZE, CACHE_N_SECTIONS, hsize, nsec);
    uint8_t hdr[CACHE_HEADER_SIZE];
    memcpy(hdr, base, sizeof hdr);
    wr32(hdr + 60, 0);
    uint32_t got_crc = (uint32_t)crc32_z(0L, hdr, sizeof hdr);
    if (got_crc != hcrc)
        return modx_fail(MODX_ERR_FORMAT, "%s: header checksum: expected %08x, found %08x (corrupt file)", name, hcrc,
                         got_crc);
    uint64_t n = rd64(base + 16), m = rd64(base + 24), d = rd64(base + 32);
    uint32_t s = rd32(base + 40), t = rd32(base + 44), vocab = rd32(base + 48);
    if (n == 0 || n >= UINT32_MAX)
        return modx_fail(MODX_ERR_FORMAT, "%s: n_images: expected 1 .. 2^32-2, found %llu", name, (unsigned long long)n);
    if (m == 0 || m >= UINT32_MAX)
        return modx_fail(MODX_ERR_FORMAT, "%s: n_captions: expected 1 .. 2^32-2, found %llu", name, (unsigned long long)m);
    if (d == 0 || d > CACHE_MAX_DOMAINS)
        return modx_fail(MODX_ERR_FORMAT, "%s: n_domains: expected 1 .. %u, found %llu", name, CACHE_MAX_DOMAINS,
                         (unsigned long long)d);
    if (s == 0 || s > CACHE_MAX_IMAGE_SIZE || t == 0 || t > CACHE_MAX_CONTEXT || vocab == 0 || vocab > INT32_MAX)
        return modx_fail(MODX_ERR_FORMAT, "%s: expected image size 1..%u, context 1..%u, vocab size > 0, found %u, %u, %u",
                         name, CACHE_MAX_IMAGE_SIZE, CACHE_MAX_CONTEXT, s, t, vocab);
    *h = (CacheDims){.n = n, .m = m, .d = d, .s = s, .t = t, .vocab = vocab};
    return MODX_OK;
}

/* The section table: aligned, in order, of the sizes the counts give, the
 * last one ending the file; with verify_crc each section's checksum. */
static ModxStatus validate_sections(const uint8_t *base, size_t size, const char *name, const CacheDims *h,
                                    int verify_crc, uint64_t off[CACHE_N_SECTIONS], uint64_t len[CACHE_N_SECTIONS]) {
    uint64_t want[CACHE_N_SECTIONS];
    if (!expected_sizes(h->n, h->m, h->s, h->t, want))
        return modx_fail(MODX_ERR_FORMAT, "%s: counts overflow (N=%llu, M=%llu, S=%u, T=%u)", name,
                         (unsigned long long)h->n, (unsigned long long)h->m, h->s, h->t);
    uint64_t prev_end = CACHE_HEADER_SIZE;
    for (unsigned k = 0; k < CACHE_N_SECTIONS; k++) {
        const uint8_t *r = base + 64 + 24 * k;
        off[k] = rd64(r);
        len[k] = rd64(r + 8);
        uint64_t end;
        if (rd32(r + 20) != 0) return modx_fail(MODX_ERR_FORMAT, "%s: section %s: reserved field not zero", name, SECTION_NAMES[k]);
        if (off[k] % 64 || off[k] < prev_end || !u64_add(off[k], len[k], &end) || end > size)
            return modx_fail(MODX_ERR_FORMAT,
                             "%s: section %s: expected a 64-byte aligned range after offset %llu inside the %zu-byte "
                             "file, found offset %llu size %llu (truncated or corrupt file)",
                             name, SECTION_NAMES[k], (unsigned long long)prev_end, size, (unsigned long long)off[k],
                             (unsigned long long)len[k]);
        if (want[k] != UINT64_MAX && len[k] != want[k])
            return modx_fail(MODX_ERR_FORMAT, "%s: section %s: expected %llu bytes for the counts in the header, found %llu",
                             name, SECTION_NAMES[k], (unsigned long long)want[k], (unsigned long long)len[k]);
        prev_end = end;
    }
    if (prev_end != size)
        return modx_fail(MODX_ERR_FORMAT, "%s: expected the file to end with the last section at byte %llu, found %zu bytes "
                                          "(truncated or appended to)", name, (unsigned long long)prev_end, size);
    if (verify_crc) {
        for (unsigned k = 0; k < CACHE_N_SECTIONS; k++) {
            uint32_t want_crc = rd32(base + 64 + 24 * k + 16), got = crc32_big(base + off[k], len[k]);
            if (got != want_crc)
                return modx_fail(MODX_ERR_FORMAT, "%s: section %s: checksum expected %08x, found %08x (corrupt file)",
                                 name, SECTION_NAMES[k], want_crc, got);
        }
    }
    return MODX_OK;
}

/* Values: tokens, indices, splits. */
static ModxStatus validate_values(const Cache *c, const char *name) {
    uint64_t n = c->n_images, m = c->n_captions, d = c->n_domains, t = (uint64_t)c->context;
    uint32_t vocab = (uint32_t)c->vocab_size;
    for (uint64_t i = 0; i < m * t; i++)
        if (c->tokens[i] < 0 || c->tokens[i] >= (int32_t)vocab)
            return modx_fail(MODX_ERR_FORMAT, "%s: tokens of caption %llu: expected ids in [0, %u), found %d", name,
                             (unsigned long long)(i / t), vocab, c->tokens[i]);
    for (uint64_t i = 0; i < m; i++)
        if (c->caption_image[i] >= n)
            return modx_fail(MODX_ERR_FORMAT, "%s: caption %llu: image index %u, expected < %llu", name,
                             (unsigned long long)i, c->caption_image[i], (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        if (c->image_domain[i] >= d || c->image_split[i] > 4)
            return modx_fail(MODX_ERR_FORMAT, "%s: image %llu: domain %u (expected < %llu), split %u (expected <= 4)", name,
                             (unsigned long long)i, c->image_domain[i], (unsigned long long)d, c->image_split[i]);
    return MODX_OK;
}

/* The domain names (nl bytes of NUL-terminated names) and the caption texts
 * (tl bytes, delimited by text_offsets). */
static ModxStatus validate_strings(Cache *c, const char *names, uint64_t nl, uint64_t tl, const char *name) {
    uint64_t m = c->n_captions, d = c->n_domains;
    c->domain_names = modx_calloc(d, sizeof *c->domain_names, "cache domain names");
    if (!c->domain_names) return MODX_ERR_NOMEM;
    uint64_t pos = 0;
    for (uint64_t k = 0; k < d; k++) {
        const char *z = pos < nl ? memchr(names + pos, '\0', nl - pos) : NULL;
        if (!z || z == names + pos)
            return modx_fail(MODX_ERR_FORMAT, "%s: domain_names: expected %llu non-empty NUL-terminated names, found %llu",
                             name, (unsigned long long)d, (unsigned long long)k);
        c->domain_names[k] = names + pos;
        pos = (uint64_t)(z - names) + 1;
    }
    if (pos != nl)
        return modx_fail(MODX_ERR_FORMAT, "%s: domain_names: %llu bytes left after the %llu names", name,
                         (unsigned long long)(nl - pos), (unsigned long long)d);
    if (c->text_offsets[0] != 0 || c->text_offsets[m] != tl)
        return modx_fail(MODX_ERR_FORMAT, "%s: text_offsets: expected to run from 0 to %llu, found %llu .. %llu", name,
                         (unsigned long long)tl, (unsigned long long)c->text_offsets[0],
                         (unsigned long long)c->text_offsets[m]);
    for (uint64_t i = 0; i < m; i++) {
        uint64_t a = c->text_offsets[i], b = c->text_offsets[i + 1];
        if (b <= a || b > tl || c->text[b - 1] != '\0' || memchr(c->text + a, '\0', b - a - 1))
            return modx_fail(MODX_ERR_FORMAT, "%s: text of caption %llu: expected a NUL-terminated string in [%llu, %llu)",
                             name, (unsigned long long)i, (unsigned long long)a, (unsigned long long)b);
    }
    return MODX_OK;
}

static ModxStatus validate(Cache *c, const uint8_t *base, size_t size, const char *name, int verify_crc) {
    CacheDims h = {0};
    MODX_TRY(validate_header(base, size, name, &h));
    uint64_t off[CACHE_N_SECTIONS], len[CACHE_N_SECTIONS];
    MODX_TRY(validate_sections(base, size, name, &h, verify_crc, off, len));
    c->n_images = h.n;
    c->n_captions = h.m;
    c->n_domains = h.d;
    c->image_size = (int)h.s;
    c->context = (int)h.t;
    c->vocab_size = (int)h.vocab;
    c->vocab_crc = rd32(base + 52);
    c->pixels = base + off[CACHE_SEC_PIXELS];
    c->tokens = (const int32_t *)(const void *)(base + off[CACHE_SEC_TOKENS]);
    c->caption_image = (const uint32_t *)(const void *)(base + off[CACHE_SEC_CAPTION_IMAGE]);
    c->image_domain = (const uint32_t *)(const void *)(base + off[CACHE_SEC_IMAGE_DOMAIN]);
    c->image_split = base + off[CACHE_SEC_IMAGE_SPLIT];
    c->text_offsets = (const uint64_t *)(const void *)(base + off[CACHE_SEC_TEXT_OFFSETS]);
    c->text = (const char *)base + off[CACHE_SEC_TEXT];
    MODX_TRY(validate_values(c, name));
    return validate_strings(c, (const char *)base + off[CACHE_SEC_DOMAIN_NAMES], len[CACHE_SEC_DOMAIN_NAMES],
                            len[CACHE_SEC_TEXT], name);
}

ModxStatus cache_open_mem(Cache **out, const void *data, size_t n, const char *name, int verify_crc) {
    *out = NULL;
    CHECK(((uintptr_t)data & 7) == 0, "cache_open_mem needs an 8-byte aligned buffer");
    Cache *c = modx_calloc(1, sizeof *c, "cache");
    if (!c) return MODX_ERR_NOMEM;
    ModxStatus st = validate(c, data, n, name, verify_crc);
    if (st != MODX_OK) {
        cache_close(c);
        return st;
    }
    *out = c;
    return MODX_OK;
}

ModxStatus cache_open(Cache **out, const char *path, int verify_crc) {
    *out = NULL;
    char in_dir[4096];
    struct stat ps;
    if (stat(path, &ps) == 0 && S_ISDIR(ps.st_mode)) { /* the folder `modx data prepare` wrote */
        snprintf(in_dir, sizeof in_dir, "%s/dataset.cache", path);
        path = in_dir;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return modx_fail(MODX_ERR_IO, "%s: expected a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < CACHE_HEADER_SIZE) {
        close(fd);
        return modx_fail(MODX_ERR_FORMAT, "%s: expected a modx dataset cache of at least %u bytes, found %zu bytes (truncated?)",
                         path, CACHE_HEADER_SIZE, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return modx_fail(MODX_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    Cache *c = modx_calloc(1, sizeof *c, "cache");
    if (!c) {
        munmap(map, size);
        return MODX_ERR_NOMEM;
    }
    c->map = map;
    c->map_size = size;
    c->owns_map = 1;
    ModxStatus st = validate(c, map, size, path, verify_crc);
    if (st != MODX_OK) {
        cache_close(c);
        return st;
    }
    *out = c;
    return MODX_OK;
}

void cache_close(Cache *c) {
    if (!c) return;
    if (c->owns_map && c->map) munmap(c->map, c->map_size);
    free(c->domain_names);
    free(c);
}

const char *cache_caption_text(const Cache *c, uint64_t i, size_t *len) {
    CHECK(i < c->n_captions, "caption %llu out of range", (unsigned long long)i);
    if (len) *len = (size_t)(c->text_offsets[i + 1] - c->text_offsets[i] - 1);
    return c->text + c->text_offsets[i];
}

const uint8_t *cache_image_pixels(const Cache *c, uint64_t i) {
    CHECK(i < c->n_images, "image %llu out of range", (unsigned long long)i);
    return c->pixels + i * (uint64_t)c->image_size * (uint64_t)c->image_size * 3;
}

const int32_t *cache_caption_tokens(const Cache *c, uint64_t i) {
    CHECK(i < c->n_captions, "caption %llu out of range", (unsigned long long)i);
    return c->tokens + i * (uint64_t)c->context;
}

ModxStatus cache_check_compat(const Cache *c, const char *name, int image_size, int context, uint32_t vocab_crc) {
    if (c->image_size != image_size)
        return modx_fail(MODX_ERR_INVALID, "%s: built for %d px images, the model expects %d px (rebuild with --size %d)",
                         name, c->image_size, image_size, image_size);
    if (c->context != context)
        return modx_fail(MODX_ERR_INVALID, "%s: built with context length %d, the model expects %d (rebuild with --context %d)",
                         name, c->context, context, context);
    if (c->vocab_crc != vocab_crc)
        return modx_fail(MODX_ERR_INVALID, "%s: built with a tokenizer whose vocab CRC is %08x, this tokenizer's is %08x "
                                           "(rebuild the cache with this --vocab)", name, c->vocab_crc, vocab_crc);
    return MODX_OK;
}

ModxStatus cache_file_crc32(const char *path, uint32_t *crc) {
    FILE *f = fopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t buf[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) c = crc32_z(c, buf, got);
    int err = ferror(f);
    fclose(f);
    if (err) return modx_fail(MODX_ERR_IO, "%s: read error", path);
    *crc = (uint32_t)c;
    return MODX_OK;
}

/* ---------------------------------------------------------------- writer */

struct CacheWriter {
    char *path, *tmp;
    int fd;
    uint8_t *map;
    size_t map_size;
    uint64_t max_images;
    int image_size;
};

/* Allocates every block of bytes [0, n) of fd before it is mapped: a store into
 * a mapped hole on a full disk is a SIGBUS, a failed reservation is an error
 * that can be reported. Returns 0 or an errno value. */
static int reserve_space(int fd, uint64_t n) {
    int err = posix_fallocate(fd, 0, (off_t)n); /* returns the error number, not -1 */
    if (err != EINVAL && err != EOPNOTSUPP) return err;
    /* No fallocate on this file system: write the zeros ourselves. */
    static const uint8_t zeros[1 << 16];
    for (uint64_t off = 0; off < n;) {
        size_t chunk = n - off < sizeof zeros ? (size_t)(n - off) : sizeof zeros;
        ssize_t got = pwrite(fd, zeros, chunk, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got < 0 ? errno : ENOSPC;
        off += (uint64_t)got;
    }
    return 0;
}

/* Removes "<path>.tmp.<pid>" files left by cache builds whose process is gone
 * (killed, or crashed before it could clean up). A live pid's file is kept: it
 * may be another build in progress. Best effort: what cannot be read is left. */

ModxStatus cache_writer_open(CacheWriter **out, const char *path, uint64_t max_images, int image_size) {
    *out = NULL;
    if (max_images == 0 || max_images >= UINT32_MAX)
        return modx_fail(MODX_ERR_INVALID, "%s: expected 1 .. 2^32-2 images, found %llu", path, (unsigned long long)max_images);
    if (image_size <= 0 || (unsigned)image_size > CACHE_MAX_IMAGE_SIZE)
        return modx_fail(MODX_ERR_INVALID, "%s: image size: expected 1..%u, found %d", path, CACHE_MAX_IMAGE_SIZE, image_size);
    uint64_t px, total;
    if (!u64_mul((uint64_t)image_size * (uint64_t)image_size * 3, max_images, &px) ||
        !u64_add(px, CACHE_HEADER_SIZE, &total) || total > (uint64_t)SIZE_MAX)
        return modx_fail(MODX_ERR_INVALID, "%s: %llu images of %d px do not fit in memory", path,
                         (unsigned long long)max_images, image_size);
    CacheWriter *w = modx_calloc(1, sizeof *w, "cache writer");
    if (!w) return MODX_ERR_NOMEM;
    w->fd = -1;
    size_t np = strlen(path);
    w->path = malloc(np + 1);
    w->tmp = malloc(np + 32);
    if (!w->path || !w->tmp) {
        cache_writer_abort(w);
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    memcpy(w->path, path, np + 1);
    io_remove_stale_tmp(path);
    snprintf(w->tmp, np + 32, "%s.tmp.%ld", path, (long)getpid());
    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        cache_writer_abort(w);
        return st;
    }
    w->map_size = (size_t)total;
    int err = reserve_space(w->fd, total);
    if (err != 0) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: cannot reserve %llu bytes for the cache: %s", w->tmp,
                                  (unsigned long long)total, strerror(err));
        cache_writer_abort(w);
        return st;
    }
    void *map = mmap(NULL, w->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (map == MAP_FAILED) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: mmap failed: %s", w->tmp, strerror(errno));
        cache_writer_abort(w);
        return st;
    }
    w->map = map;
    w->max_images = max_images;
    w->image_size = image_size;
    *out = w;
    return MODX_OK;
}

uint8_t *cache_writer_pixels(CacheWriter *w) { return w->map + CACHE_HEADER_SIZE; }

void cache_writer_abort(CacheWriter *w) {
    if (!w) return;
    if (w->map) munmap(w->map, w->map_size);
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w);
}

static ModxStatus pwrite_all(int fd, const void *buf, uint64_t n, uint64_t off, const char *path) {
    const uint8_t *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        ssize_t got = pwrite(fd, p, chunk, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return modx_fail(MODX_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        p += got;
        n -= (uint64_t)got;
        off += (uint64_t)got;
    }
    return MODX_OK;
}

/* The counts against the writer, then the borrowed arrays (CHECKed: they
 * come from our own code, not from input data); sizes of the fixed sections. */
static ModxStatus check_meta(const CacheWriter *w, const CacheMeta *meta, uint64_t sizes[CACHE_N_SECTIONS]) {
    uint64_t n = meta->n_images, m = meta->n_captions, d = meta->n_domains;
    if (n == 0 || n > w->max_images || m == 0 || m >= UINT32_MAX || d == 0 || d > CACHE_MAX_DOMAINS ||
        meta->image_size != w->image_size || meta->context <= 0 || (unsigned)meta->context > CACHE_MAX_CONTEXT ||
        meta->vocab_size <= 0)
        return modx_fail(MODX_ERR_INVALID, "%s: cannot write a cache with %llu images (room for %llu), %llu captions, "
                                           "%llu domains, image size %d (writer %d), context %d, vocab %d",
                         w->path, (unsigned long long)n, (unsigned long long)w->max_images, (unsigned long long)m,
                         (unsigned long long)d, meta->image_size, w->image_size, meta->context, meta->vocab_size);
    for (uint64_t i = 0; i < m; i++) CHECK(meta->caption_image[i] < n, "caption %llu: bad image index", (unsigned long long)i);
    for (uint64_t i = 0; i < n; i++)
        CHECK(meta->image_domain[i] < d && meta->image_split[i] <= 4, "image %llu: bad domain/split", (unsigned long long)i);
    for (uint64_t i = 0; i < m * (uint64_t)meta->context; i++)
        CHECK(meta->tokens[i] >= 0 && meta->tokens[i] < meta->vocab_size, "token %llu out of range", (unsigned long long)i);
    CHECK(expected_sizes(n, m, (uint64_t)w->image_size, (uint64_t)meta->context, sizes), "sizes overflow");
    return MODX_OK;
}

/* The variable sections: the NUL-terminated domain names, the caption texts
 * and their offsets; their sizes go into sizes[]. The caller frees the three. */
static ModxStatus build_strings(const CacheMeta *meta, uint8_t **names_out, uint64_t **text_off_out, uint8_t **text_out,
                                uint64_t sizes[CACHE_N_SECTIONS]) {
    uint64_t m = meta->n_captions, d = meta->n_domains;
    uint64_t nl = 0, tl = 0;
    for (uint64_t k = 0; k < d; k++) {
        CHECK(meta->domain_names[k][0], "empty domain name");
        nl += strlen(meta->domain_names[k]) + 1;
    }
    uint64_t *text_off = *text_off_out = modx_calloc(m + 1, sizeof *text_off, "caption text offsets");
    uint8_t *names = *names_out = modx_calloc(nl, 1, "domain names");
    if (!text_off || !names) return MODX_ERR_NOMEM;
    for (uint64_t i = 0; i < m; i++) {
        text_off[i] = tl;
        tl += strlen(meta->caption_texts[i]) + 1;
    }
    text_off[m] = tl;
    uint8_t *text = *text_out = modx_calloc(tl, 1, "caption text");
    if (!text) return MODX_ERR_NOMEM;
    for (uint64_t i = 0; i < m; i++) memcpy(text + text_off[i], meta->caption_texts[i], text_off[i + 1] - text_off[i]);
    for (uint64_t k = 0, pos = 0; k < d; k++) {
        size_t len = strlen(meta->domain_names[k]) + 1;
        memcpy(names + pos, meta->domain_names[k], len);
        pos += len;
    }
    sizes[CACHE_SEC_DOMAIN_NAMES] = nl;
    sizes[CACHE_SEC_TEXT] = tl;
    return MODX_OK;
}

/* The header with its section table (offsets, sizes, checksums) and its own
 * checksum; offs[k] receive the offsets; returns the file size. */
static uint64_t build_header(uint8_t hdr[CACHE_HEADER_SIZE], const CacheWriter *w, const CacheMeta *meta,
                             const void *const data[CACHE_N_SECTIONS], const uint64_t sizes[CACHE_N_SECTIONS],
                             uint64_t offs[CACHE_N_SECTIONS]) {
    memset(hdr, 0, CACHE_HEADER_SIZE);
    memcpy(hdr, CACHE_MAGIC, 8);
    wr32(hdr + 8, CACHE_VERSION);
    wr32(hdr + 12, CACHE_HEADER_SIZE);
    wr64(hdr + 16, meta->n_images);
    wr64(hdr + 24, meta->n_captions);
    wr64(hdr + 32, meta->n_domains);
    wr32(hdr + 40, (uint32_t)w->image_size);
    wr32(hdr + 44, (uint32_t)meta->context);
    wr32(hdr + 48, (uint32_t)meta->vocab_size);
    wr32(hdr + 52, meta->vocab_crc);
    wr32(hdr + 56, CACHE_N_SECTIONS);
    uint64_t off = CACHE_HEADER_SIZE;
    for (unsigned k = 0; k < CACHE_N_SECTIONS; k++) {
        offs[k] = off;
        uint8_t *r = hdr + 64 + 24 * k;
        wr64(r, off);
        wr64(r + 8, sizes[k]);
        wr32(r + 16, crc32_big(data[k], sizes[k]));
        off = k + 1 < CACHE_N_SECTIONS ? align64(off + sizes[k]) : off + sizes[k]; /* no padding at the end */
    }
    wr32(hdr + 60, (uint32_t)crc32_z(0L, hdr, CACHE_HEADER_SIZE));
    return off;
}

/* Unmaps the pixels (already in place: section 0 starts right after the
 * header), sizes the file to `size` and writes the other sections, the
 * zero gaps between them and the header. */
static ModxStatus write_sections(CacheWriter *w, const uint8_t hdr[CACHE_HEADER_SIZE],
                                 const void *const data[CACHE_N_SECTIONS], const uint64_t sizes[CACHE_N_SECTIONS],
                                 const uint64_t offs[CACHE_N_SECTIONS], uint64_t size) {
    CHECK(offs[0] == CACHE_HEADER_SIZE, "pixel section must follow the header");
    if (munmap(w->map, w->map_size) != 0) {
        w->map = NULL;
        return modx_fail(MODX_ERR_IO, "%s: munmap failed: %s", w->tmp, strerror(errno));
    }
    w->map = NULL;
    if (ftruncate(w->fd, (off_t)size) != 0)
        return modx_fail(MODX_ERR_IO, "%s: cannot size to %llu bytes: %s", w->tmp, (unsigned long long)size,
                         strerror(errno));
    /* Zero the alignment gap after the pixels (left over from the larger pixel area). */
    uint8_t zeros[64] = {0};
    uint64_t px_end = offs[0] + sizes[0];
    MODX_TRY(pwrite_all(w->fd, zeros, offs[1] - px_end, px_end, w->tmp));
    for (unsigned k = 1; k < CACHE_N_SECTIONS; k++) {
        MODX_TRY(pwrite_all(w->fd, data[k], sizes[k], offs[k], w->tmp));
        uint64_t end = offs[k] + sizes[k], next = k + 1 < CACHE_N_SECTIONS ? offs[k + 1] : size;
        MODX_TRY(pwrite_all(w->fd, zeros, next - end, end, w->tmp));
    }
    return pwrite_all(w->fd, hdr, CACHE_HEADER_SIZE, 0, w->tmp);
}

/* fsync, close and rename the temporary file to its path, then fsync its
 * folder (best effort). */
static ModxStatus commit_file(CacheWriter *w) {
    if (fsync(w->fd) != 0) return modx_fail(MODX_ERR_IO, "%s: fsync failed: %s", w->tmp, strerror(errno));
    close(w->fd);
    w->fd = -1;
    if (rename(w->tmp, w->path) != 0)
        return modx_fail(MODX_ERR_IO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    free(w->tmp);
    w->tmp = NULL; /* renamed: nothing to remove */
    char *dir_copy = strdup(w->path);
    if (dir_copy) {
        int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir_copy);
    }
    return MODX_OK;
}

ModxStatus cache_writer_finish(CacheWriter *w, const CacheMeta *meta) {
    ModxStatus st = MODX_OK;
    uint8_t *names = NULL, *text = NULL;
    uint64_t *text_off = NULL;
    uint64_t sizes[CACHE_N_SECTIONS];
    if ((st = check_meta(w, meta, sizes)) != MODX_OK) goto fail;
    if ((st = build_strings(meta, &names, &text_off, &text, sizes)) != MODX_OK) goto fail;
    const void *data[CACHE_N_SECTIONS] = {cache_writer_pixels(w), meta->tokens, meta->caption_image, meta->image_domain,
                                          meta->image_split, names, text_off, text};
    uint8_t hdr[CACHE_HEADER_SIZE];
    uint64_t offs[CACHE_N_SECTIONS];
    uint64_t size = build_header(hdr, w, meta, data, sizes, offs);
    if ((st = write_sections(w, hdr, data, sizes, offs, size)) != MODX_OK) goto fail;
    st = commit_file(w);
fail:
    free(names);
    free(text);
    free(text_off);
    cache_writer_abort(w);
    return st;
}

ModxStatus cache_write(const char *path, const uint8_t *pixels, const CacheMeta *meta) {
    CacheWriter *w;
    MODX_TRY(cache_writer_open(&w, path, meta->n_images, meta->image_size));
    size_t bytes = (size_t)meta->n_images * (size_t)meta->image_size * (size_t)meta->image_size * 3;
    memcpy(cache_writer_pixels(w), pixels, bytes);
    return cache_writer_finish(w, meta);
}
