/* Bicubic resampling of interleaved RGB8 images, bit-exact with Pillow's
 * Image.resize(size, Image.BICUBIC) (libImaging/Resample.c), and the output
 * geometry of torchvision's Resize(int) + CenterCrop as used by OpenCLIP.
 *
 * Pillow's algorithm, reproduced here:
 *   - separable convolution, horizontal pass first, then vertical; the
 *     intermediate image is rounded and clipped to uint8 (as Pillow's is);
 *   - cubic kernel with a = -0.5 and support 2, stretched by the downscale
 *     factor when shrinking (anti-aliasing), never narrower than 1 pixel;
 *   - per-output coefficients normalised to sum 1 in double, then rounded
 *     (half away from zero) to fixed point with 22 fractional bits;
 *   - accumulation in int32 starting at 0.5 (2^21), result >> 22 clipped to [0, 255].
 * A pass whose size does not change is skipped (it would be the identity).
 *
 * Only the requested output window is computed: each output pixel depends on
 * its own coefficients alone, so a window equals the same crop of the full
 * resize, at a fraction of the cost when the long side is cropped away. */
#ifndef MODX_DATA_RESIZE_H
#define MODX_DATA_RESIZE_H

#include <stdint.h>

#include "core/error.h"

/* Largest square output side accepted by the preprocessing functions. */
#define RESIZE_MAX_SIZE 4096

/* torchvision Resize(size) with an int size: the shorter side becomes `size`,
 * the longer int(size * long / short) (truncated, as torchvision does). Equal
 * sides both become `size`. Needs w, h >= 1 and 1 <= size <= RESIZE_MAX_SIZE;
 * fails with MODX_ERR_INVALID when the long side would not fit an int. */
ModxStatus resize_shorter_side_dims(int w, int h, int size, int *out_w, int *out_h);

/* torchvision CenterCrop offset along one axis: int(round((len - crop) / 2.0))
 * with Python's round-half-to-even. Needs len >= crop. */
int resize_center_offset(int len, int crop);

/* Resamples `in` (h × w × 3) to a virtual (oh × ow) image and writes its window
 * columns [x0, x0 + cw) × rows [y0, y0 + ch) to `out` (ch × cw × 3). The window
 * must lie inside the output. Allocates its coefficient tables and one
 * intermediate buffer per call (never per pixel); MODX_ERR_NOMEM on failure. */
ModxStatus resize_bicubic_rgb8(const uint8_t *in, int w, int h, int ow, int oh, int x0, int y0, int cw, int ch,
                               uint8_t *out);

#endif
