/* Image decode and CLIP preprocessing.
 * Decode: JPEG (libjpeg-turbo), PNG (libspng): 8/16-bit, grey, palette, alpha
 * composited over a background colour, and still WebP (libwebp; alpha composited
 * as for PNG). Resize: the shorter side to `size` with
 * bicubic interpolation matching Pillow's Image.resize(..., BICUBIC) (which
 * anti-aliases when shrinking), then a centre crop to size×size.
 *
 * Decoding rules (the reference is Pillow 9.4, tools/gen_image_ref.py):
 *   - the format is detected from the first bytes (JPEG FF D8 FF, PNG signature,
 *     RIFF....WEBP),
 *     never from the file name;
 *   - JPEG: YCbCr/RGB decode to RGB, grey is replicated to R=G=B, CMYK and YCCK
 *     are converted as Pillow does: samples are taken as inverted (Adobe
 *     convention, assumed for every 4-component file), then with C, K the true
 *     values R = (255-K) - round((255-K)·C/255). A truncated JPEG is an error
 *     (libjpeg would pad it with grey); recoverable "corrupt data" warnings are
 *     tolerated, as in Pillow;
 *   - PNG: every colour type and bit depth decodes to RGBA8 (16-bit samples keep
 *     their high byte; tRNS gives palette/colour-key transparency), then alpha is
 *     composited over the background exactly as Pillow's
 *     Image.alpha_composite(solid background, image).convert("RGB"):
 *         out = round((c·a + bg·(255 − a)) / 255)
 *     (checked against Pillow for all 2^24 (c, a, bg) triples; no ties occur).
 *     One deliberate difference: Pillow opens 16-bit grey PNGs as mode "I" and
 *     its convert("RGB") clips values above 255 to white; here they keep their
 *     high byte like every other 16-bit PNG;
 *   - like Pillow's open + convert, EXIF orientation, ICC profiles and PNG gamma
 *     are ignored;
 *   - limits: width and height in [1, IMAGE_MAX_SIDE] and width·height at most
 *     the caller's pixel limit (IMAGE_DEFAULT_MAX_PIXELS unless given, at most
 *     IMAGE_MAX_PIXELS), checked from the header before any pixel is allocated.
 * Errors (MODX_ERR_IO for unreadable files, MODX_ERR_FORMAT for bad data,
 * MODX_ERR_NOMEM) carry a message naming the file and what was wrong. */
#ifndef MODX_DATA_IMAGE_H
#define MODX_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define IMAGE_MAX_SIDE 32768
/* The most pixels any caller may allow (--max-image-pixels), and the default
 * limit: decoding holds 4 bytes per pixel (RGBA8) at its peak, so the default
 * (8192², 2^26 pixels) bounds one decode to 256 MiB; a "decompression bomb"
 * (a small file declaring a huge image) is refused from its header. */
#define IMAGE_MAX_PIXELS (1u << 28)
#define IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)1 << 26)
/* Files larger than this are refused before being read. */
#define IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

typedef struct {
    int width, height;
    uint8_t *rgb; /* height × width × 3, interleaved; owned, free with image_free */
} Image;

/* Background used for transparent pixels unless the caller passes another. */
extern const uint8_t IMAGE_DEFAULT_BACKGROUND[3]; /* white */

/* Reads and decodes the file at `path`. `background` may be NULL (white).
 * On failure *out is left empty ({0, 0, NULL}). Limit: IMAGE_DEFAULT_MAX_PIXELS. */
ModxStatus image_load(Image *out, const char *path, const uint8_t background[3]);
/* As image_load with a pixel limit (1 <= max_pixels <= IMAGE_MAX_PIXELS; 0 means
 * IMAGE_DEFAULT_MAX_PIXELS), checked against the header before decoding. */
ModxStatus image_load_limited(Image *out, const char *path, const uint8_t background[3], uint64_t max_pixels);
/* `name` is used in error messages. Limit: IMAGE_DEFAULT_MAX_PIXELS. */
ModxStatus image_decode(Image *out, const void *data, size_t n, const char *name, const uint8_t background[3]);
/* As image_decode with a pixel limit (1 <= max_pixels <= IMAGE_MAX_PIXELS; 0
 * means IMAGE_DEFAULT_MAX_PIXELS), e.g. for a loader that wants to refuse huge
 * images cheaply. */
ModxStatus image_decode_limited(Image *out, const void *data, size_t n, const char *name,
                                const uint8_t background[3], uint64_t max_pixels);
void image_free(Image *img);

/* Resize shorter side to `size` (bicubic, Pillow-exact within rounding) and centre crop:
 * out is size × size × 3 uint8, interleaved. 1 <= size <= RESIZE_MAX_SIZE (4096).
 * The geometry follows torchvision Resize(size) + CenterCrop(size): see resize.h. */
ModxStatus image_resize_crop(const Image *in, int size, uint8_t *out);

/* uint8 HWC → float CHW, scaled to [0,1] then normalised with the CLIP mean/std,
 * in float32 as torchvision's ToTensor + Normalize: (v / 255 − mean[c]) / std[c]. */
void image_normalize(const uint8_t *hwc, int size, float *chw);

/* The whole preprocessing of one file: load, resize + crop, normalise into
 * chw (3 × size × size floats). Errors name the file. */
ModxStatus image_preprocess_file(const char *path, int size, const uint8_t background[3], uint64_t max_pixels,
                                 float *chw);

/* Composites `n` RGBA8 pixels over an opaque background into RGB8 with the rule
 * above. `rgb` may alias `rgba` (the conversion runs front to back). */
void image_composite_rgba(const uint8_t *rgba, size_t n, const uint8_t background[3], uint8_t *rgb);

extern const float CLIP_MEAN[3];
extern const float CLIP_STD[3];

#endif
