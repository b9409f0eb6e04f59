/* PNG size limits: highly compressible but valid PNGs of every channel count
 * decode (the truncation guard counts the real channels), the pixel limit is
 * checked from the header before anything is allocated, and a decompression
 * bomb (a ~1 MB file declaring 16384² RGBA, 1 GiB decoded) is refused by the
 * default limit. The PNGs are built here with zlib. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "data/image.h"
#include "harness.h"

typedef struct {
    uint8_t *d;
    size_t n, cap;
} PngBuf;

static int pb_put(PngBuf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2;
        uint8_t *d = realloc(b->d, cap);
        if (!d) return 0;
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
    return 1;
}

static void be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v; }

static int pb_chunk(PngBuf *b, const char *type, const uint8_t *data, size_t n) {
    uint8_t len[4], crc[4];
    be32(len, (uint32_t)n);
    uLong c = crc32(0L, (const Bytef *)type, 4);
    if (n) c = crc32_z(c, data, n);
    be32(crc, (uint32_t)c);
    return pb_put(b, len, 4) && pb_put(b, type, 4) && (!n || pb_put(b, data, n)) && pb_put(b, crc, 4);
}

/* A PNG of w×h, colour type ct, 8-bit samples, every sample `value` (filter 0).
 * idat_junk > 0: instead of pixel data, that many zero bytes (not valid zlib). */
static uint8_t *png_build(uint32_t w, uint32_t h, uint8_t ct, int channels, uint8_t value, size_t idat_junk, size_t *n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    PngBuf b = {0};
    uint8_t ihdr[13] = {0};
    be32(ihdr, w), be32(ihdr + 4, h);
    ihdr[8] = 8, ihdr[9] = ct;
    uint8_t *raw = NULL, *z = NULL;
    int ok = pb_put(&b, sig, 8) && pb_chunk(&b, "IHDR", ihdr, 13);
    if (ok && idat_junk) {
        z = calloc(idat_junk, 1);
        ok = z && pb_chunk(&b, "IDAT", z, idat_junk);
    } else if (ok) {
        size_t row = 1 + (size_t)w * channels, nraw = row * h;
        uLongf nz = compressBound(nraw);
        raw = malloc(nraw), z = malloc(nz);
        ok = raw && z;
        if (ok) {
            memset(raw, value, nraw);
            for (size_t y = 0; y < h; y++) raw[y * row] = 0;
            ok = compress2(z, &nz, raw, nraw, 9) == Z_OK && pb_chunk(&b, "IDAT", z, nz);
        }
    }
    ok = ok && pb_chunk(&b, "IEND", NULL, 0);
    free(raw);
    free(z);
    if (!ok) {
        free(b.d);
        return NULL;
    }
    *n = b.n;
    return b.d;
}

TEST(image_png_flat_images_of_every_channel_count_decode) {
    struct { uint32_t side; uint8_t ct; int ch; uint8_t value, want; } cases[] = {
        {1024, 0, 1, 128, 128}, /* a ~2 kB grey 1024² file: refused as "truncated" by a 4-channel guard */
        {2048, 0, 1, 90, 90},
        {2048, 4, 2, 200, 200}, /* grey + alpha 200 over white: round((200·200 + 255·55) / 255) = 212 */
        {4096, 2, 3, 17, 17},
    };
    cases[2].want = (uint8_t)((200 * 200 + 255 * 55 + 127) / 255);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n;
        uint8_t *png = png_build(cases[c].side, cases[c].side, cases[c].ct, cases[c].ch, cases[c].value, 0, &n);
        EXPECT(png, "cannot build the PNG");
        Image img;
        ModxStatus st = image_decode(&img, png, n, "flat.png", NULL);
        free(png);
        EXPECT(st == MODX_OK, "%u² colour type %u (%zu bytes): %s", cases[c].side, cases[c].ct, n, modx_last_error());
        size_t npix = (size_t)img.width * img.height, bad = npix;
        for (size_t i = 0; i < npix * 3 && bad == npix; i++)
            if (img.rgb[i] != cases[c].want) bad = i / 3;
        image_free(&img);
        EXPECT(bad == npix, "%u² colour type %u: pixel %zu differs from %u", cases[c].side, cases[c].ct, bad,
               cases[c].want);
    }
}

TEST(image_png_bomb_refused_from_header_by_default_limit) {
    /* 16384² RGBA (1 GiB decoded) in a ~1 MB file: large enough to pass the truncation guard */
    size_t n;
    uint8_t *png = png_build(16384, 16384, 6, 4, 0, (size_t)1 << 20, &n);
    EXPECT(png, "cannot build the PNG");
    Image img;
    ModxStatus st = image_decode(&img, png, n, "bomb.png", NULL);
    EXPECT(st == MODX_ERR_FORMAT && strstr(modx_last_error(), "16384x16384") &&
               strstr(modx_last_error(), "limit of 67108864 pixels") && strstr(modx_last_error(), "--max-image-pixels"),
           "status %d: %s", st, modx_last_error());
    EXPECT(img.rgb == NULL, "an image was returned");
    /* a caller's own limit is honoured, and checked before decoding */
    uint8_t *small = png_build(300, 200, 2, 3, 5, 0, &n);
    free(png);
    EXPECT(small, "cannot build the PNG");
    st = image_decode_limited(&img, small, n, "small.png", NULL, 300 * 200 - 1);
    EXPECT(st == MODX_ERR_FORMAT && strstr(modx_last_error(), "limit of 59999 pixels"), "%s", modx_last_error());
    st = image_decode_limited(&img, small, n, "small.png", NULL, 300 * 200);
    free(small);
    EXPECT(st == MODX_OK && img.width == 300 && img.height == 200, "%s", modx_last_error());
    image_free(&img);
}
