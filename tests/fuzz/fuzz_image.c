/* Fuzz target: decode arbitrary bytes as an image (JPEG/PNG by signature), and
 * when that succeeds resize + centre-crop to 8×8 and normalise. Any input must
 * give either a valid image or an error message; never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>

#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the real default pixel limit, so the fuzzer reaches what users meet (huge
     * declared sizes, highly compressed images) */
    Image img;
    const uint8_t bg[3] = {size > 0 ? data[size - 1] : 0, 77, 200};
    ModxStatus st = image_decode_limited(&img, data, size, "fuzz-input", bg, IMAGE_DEFAULT_MAX_PIXELS);
    if (st != MODX_OK) {
        CHECK(img.rgb == NULL && img.width == 0, "failed decode left an image");
        CHECK(modx_last_error()[0] != '\0', "failed decode without a message");
        return 0;
    }
    CHECK(img.rgb && img.width >= 1 && img.height >= 1 && img.width <= IMAGE_MAX_SIDE && img.height <= IMAGE_MAX_SIDE,
          "decoded %dx%d", img.width, img.height);
    uint8_t crop[8 * 8 * 3];
    float chw[3 * 8 * 8];
    st = image_resize_crop(&img, 8, crop);
    CHECK(st == MODX_OK, "resize of a decoded %dx%d image failed: %s", img.width, img.height, modx_last_error());
    image_normalize(crop, 8, chw);
    image_free(&img);
    return 0;
}
