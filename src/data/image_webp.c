/* WebP decoding with libwebp: lossy and lossless, with or without alpha, to
 * RGBA8, then alpha composited over the background into RGB8 by the same rule
 * as PNG (image.h). Animated WebP files are refused (the first frame alone is
 * not what the file shows). */
#include <stdlib.h>

#include <webp/decode.h>

#include "data/image_codec.h"

ModxStatus image_decode_webp(Image *out, const uint8_t *data, size_t n, const char *name, const uint8_t background[3],
                             uint64_t max_pixels) {
    *out = (Image){0, 0, NULL};
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(data, n, &f);
    if (vs == VP8_STATUS_NOT_ENOUGH_DATA)
        return modx_fail(MODX_ERR_FORMAT, "%s: truncated WebP data (%zu bytes)", name, n);
    if (vs != VP8_STATUS_OK) return modx_fail(MODX_ERR_FORMAT, "%s: corrupt WebP header (libwebp status %d)", name, (int)vs);
    if (f.has_animation) return modx_fail(MODX_ERR_FORMAT, "%s: animated WebP: expected a still image", name);
    MODX_TRY(image_check_dims(name, "WebP", f.width, f.height, max_pixels));
    size_t npix = (size_t)f.width * (size_t)f.height;
    uint8_t *px = malloc(npix * 4);
    if (!px) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory for a %dx%d WebP", name, f.width, f.height);
    if (!WebPDecodeRGBAInto(data, n, px, npix * 4, f.width * 4)) {
        free(px);
        return modx_fail(MODX_ERR_FORMAT, "%s: corrupt or truncated WebP data (%dx%d, %zu bytes)", name, f.width,
                         f.height, n);
    }
    image_composite_rgba(px, npix, background, px);
    uint8_t *shrunk = realloc(px, npix * 3);
    if (shrunk) px = shrunk;
    *out = (Image){f.width, f.height, px};
    return MODX_OK;
}
