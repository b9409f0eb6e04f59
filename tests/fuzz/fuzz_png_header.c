/* Fuzz target: PNG files with well-formed chunks (correct CRCs, so the input
 * gets past the container checks) around fuzzed contents: the first 13 bytes
 * are the IHDR fields (width, height, bit depth, colour type, compression,
 * filter, interlace: extreme sizes, every channel count), the 14th picks how
 * the rest becomes IDAT data (1: zlib-compressed by us, so the scanlines are
 * fuzzed directly; else: copied as is, a fuzzed zlib stream). Decoded with the
 * real default pixel limit (IMAGE_DEFAULT_MAX_PIXELS): any input must give a
 * valid image or an error message, and a header beyond the limit must be
 * refused before decoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "data/image.h"

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, size_t n) {
    out[0] = (uint8_t)(n >> 24), out[1] = (uint8_t)(n >> 16), out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
    memcpy(out + 4, type, 4);
    if (n) memcpy(out + 8, data, n);
    uLong c = crc32(0L, out + 4, 4 + (uInt)n);
    uint8_t *p = out + 8 + n;
    p[0] = (uint8_t)(c >> 24), p[1] = (uint8_t)(c >> 16), p[2] = (uint8_t)(c >> 8), p[3] = (uint8_t)c;
    return 12 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 14 || size > (1u << 20)) return 0;
    const uint8_t *ihdr = data, *rest = data + 14;
    size_t nrest = size - 14;
    uint8_t *idat = (uint8_t *)rest;
    uLongf nidat = nrest;
    if (data[13] == 1) {
        nidat = compressBound(nrest);
        idat = malloc(nidat);
        if (!idat || compress2(idat, &nidat, rest, nrest, 6) != Z_OK) {
            free(idat);
            return 0;
        }
    }
    uint8_t *png = malloc(8 + 25 + 12 + nidat + 12);
    if (!png) {
        if (idat != rest) free(idat);
        return 0;
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(png, sig, 8);
    size_t n = 8;
    n += put_chunk(png + n, "IHDR", ihdr, 13);
    n += put_chunk(png + n, "IDAT", idat, nidat);
    n += put_chunk(png + n, "IEND", NULL, 0);
    if (idat != rest) free(idat);
    uint64_t w = (uint64_t)ihdr[0] << 24 | ihdr[1] << 16 | ihdr[2] << 8 | ihdr[3];
    uint64_t h = (uint64_t)ihdr[4] << 24 | ihdr[5] << 16 | ihdr[6] << 8 | ihdr[7];
    Image img;
    ModxStatus st = image_decode(&img, png, n, "fuzz.png", NULL);
    free(png);
    if (st != MODX_OK) {
        CHECK(img.rgb == NULL && img.width == 0, "failed decode left an image");
        CHECK(modx_last_error()[0] != '\0', "failed decode without a message");
        return 0;
    }
    CHECK(w * h <= IMAGE_DEFAULT_MAX_PIXELS, "a %llux%llu PNG beyond the pixel limit was decoded",
          (unsigned long long)w, (unsigned long long)h);
    CHECK(img.rgb && (uint64_t)img.width == w && (uint64_t)img.height == h, "decoded %dx%d from a %llux%llu header",
          img.width, img.height, (unsigned long long)w, (unsigned long long)h);
    image_free(&img);
    return 0;
}
