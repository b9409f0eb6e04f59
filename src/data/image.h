/* Image decode and CLIP preprocessing.
 * Decode: JPEG (libjpeg-turbo) and PNG (libspng): 8/16-bit, grey, palette, alpha
 * composited over a background colour. Resize: the shorter side to `size` with
 * bicubic interpolation matching Pillow's Image.resize(..., BICUBIC) (which
 * anti-aliases when shrinking), then a centre crop to size×size. */
#ifndef MODX_DATA_IMAGE_H
#define MODX_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int width, height;
    uint8_t *rgb; /* height × width × 3, interleaved; owned, free with image_free */
} Image;

/* Background used for transparent pixels unless the caller passes another. */
extern const uint8_t IMAGE_DEFAULT_BACKGROUND[3]; /* white */

ModxStatus image_load(Image *out, const char *path, const uint8_t background[3]);
/* `name` is used in error messages. */
ModxStatus image_decode(Image *out, const void *data, size_t n, const char *name, const uint8_t background[3]);
void image_free(Image *img);

/* Resize shorter side to `size` (bicubic, Pillow-exact within rounding) and centre crop:
 * out is size × size × 3 uint8, interleaved. */
ModxStatus image_resize_crop(const Image *in, int size, uint8_t *out);

/* uint8 HWC → float CHW, scaled to [0,1] then normalised with the CLIP mean/std. */
void image_normalize(const uint8_t *hwc, int size, float *chw);

extern const float CLIP_MEAN[3];
extern const float CLIP_STD[3];

#endif
