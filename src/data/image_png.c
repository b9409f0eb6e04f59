/* PNG decoding with libspng: any colour type and bit depth to RGBA8 (16-bit
 * samples keep their high byte, tRNS applied), then alpha composited over the
 * background into RGB8. */
#include <stdlib.h>
#include <string.h>

#include <spng.h>

#include "data/image_codec.h"

#define PNG_CHUNK_LIMIT ((size_t)64 << 20) /* ancillary chunk size and total cache */

static uint32_t png_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Samples per pixel of a PNG colour type (a palette index is one sample). */
static int png_channels(uint8_t color_type) {
    switch (color_type) {
    case SPNG_COLOR_TYPE_TRUECOLOR: return 3;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: return 2;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: return 4;
    default: return 1; /* grey, indexed */
    }
}

static ModxStatus png_fail(const char *name, int err) {
    if (err == SPNG_EOF || err == SPNG_IO_EOF)
        return modx_fail(MODX_ERR_FORMAT, "%s: truncated PNG data (unexpected end of file)", name);
    return modx_fail(MODX_ERR_FORMAT, "%s: corrupt PNG: %s", name, spng_strerror(err));
}

ModxStatus image_decode_png(Image *out, const uint8_t *data, size_t n, const char *name, const uint8_t background[3],
                            uint64_t max_pixels) {
    *out = (Image){0, 0, NULL};
    /* The IHDR chunk must come first; read the size here for a clear message. */
    if (n < 8 + 8 + 13)
        return modx_fail(MODX_ERR_FORMAT, "%s: truncated PNG: %zu bytes, too short for the IHDR header", name, n);
    if (memcmp(data + 12, "IHDR", 4) != 0 || png_be32(data + 8) != 13)
        return modx_fail(MODX_ERR_FORMAT, "%s: corrupt PNG header: expected a 13-byte IHDR chunk first, found '%.4s' "
                         "of length %u", name, (const char *)data + 12, png_be32(data + 8));
    MODX_TRY(image_check_dims(name, "PNG", png_be32(data + 16), png_be32(data + 20), max_pixels));

    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory creating a PNG decoder", name);
    ModxStatus st = MODX_OK;
    uint8_t *px = NULL;
    int err = spng_set_image_limits(ctx, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    if (!err) err = spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CHUNK_LIMIT);
    if (!err) err = spng_set_png_buffer(ctx, data, n);
    struct spng_ihdr ihdr;
    if (!err) err = spng_get_ihdr(ctx, &ihdr);
    if (err) {
        st = png_fail(name, err);
        goto done;
    }
    size_t npix = (size_t)ihdr.width * ihdr.height, len = 0; /* bounded by max_pixels */
    /* zlib cannot compress by more than about 1032:1; a file far smaller than
     * the filtered scanlines it declares (with its real channel count) is
     * truncated, so fail before allocating for it. */
    size_t raw = (size_t)ihdr.height * (1 + ((size_t)ihdr.width * ihdr.bit_depth * png_channels(ihdr.color_type) + 7) / 8);
    if (n < raw / 1100) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: truncated PNG: %zu bytes cannot hold the %zu bytes of a %ux%u image with "
                       "%d channel(s) of %u bits", name, n, raw, ihdr.width, ihdr.height,
                       png_channels(ihdr.color_type), ihdr.bit_depth);
        goto done;
    }
    if ((err = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &len))) {
        st = png_fail(name, err);
        goto done;
    }
    CHECK(len == npix * 4, "spng: RGBA8 size %zu for %zu pixels", len, npix);
    px = malloc(len);
    if (!px) {
        st = modx_fail(MODX_ERR_NOMEM, "%s: out of memory for a %ux%u PNG", name, ihdr.width, ihdr.height);
        goto done;
    }
    if ((err = spng_decode_image(ctx, px, len, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS))) {
        st = png_fail(name, err);
        goto done;
    }
    image_composite_rgba(px, npix, background, px);
    uint8_t *shrunk = realloc(px, npix * 3);
    if (shrunk) px = shrunk;
    *out = (Image){(int)ihdr.width, (int)ihdr.height, px};
    px = NULL;
done:
    free(px);
    spng_ctx_free(ctx);
    return st;
}
