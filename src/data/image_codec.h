/* Internal to src/data/image*.c: one decoder per format. Each fills `out` with
 * RGB8 pixels or returns a status whose message names `name`. */
#ifndef MODX_DATA_IMAGE_CODEC_H
#define MODX_DATA_IMAGE_CODEC_H

#include "data/image.h"

ModxStatus image_decode_jpeg(Image *out, const uint8_t *data, size_t n, const char *name, uint64_t max_pixels);
ModxStatus image_decode_png(Image *out, const uint8_t *data, size_t n, const char *name, const uint8_t background[3],
                            uint64_t max_pixels);
ModxStatus image_decode_webp(Image *out, const uint8_t *data, size_t n, const char *name, const uint8_t background[3],
                             uint64_t max_pixels);
/* MODX_ERR_FORMAT naming the file when w × h is empty or beyond the limits. */
ModxStatus image_check_dims(const char *name, const char *format, long long w, long long h, uint64_t max_pixels);

#endif
