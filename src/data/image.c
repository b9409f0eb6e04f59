/* Image loading, format detection, alpha compositing and CLIP normalisation. */
#include "data/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/image_codec.h"
#include "data/resize.h"

const uint8_t IMAGE_DEFAULT_BACKGROUND[3] = {255, 255, 255};
const float CLIP_MEAN[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float CLIP_STD[3] = {0.26862954f, 0.26130258f, 0.27577711f};

ModxStatus image_check_dims(const char *name, const char *format, long long w, long long h,
                            uint64_t max_pixels) {
    if (w <= 0 || h <= 0)
        return modx_fail(MODX_ERR_FORMAT, "%s: %s image is %lldx%lld pixels: expected a non-empty image", name,
                         format, w, h);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return modx_fail(MODX_ERR_FORMAT, "%s: %s image is %lldx%lld pixels: exceeds the limit of %d per side", name,
                         format, w, h, IMAGE_MAX_SIDE);
    if ((uint64_t)w * (uint64_t)h > max_pixels)
        return modx_fail(MODX_ERR_FORMAT, "%s: %s image is %lldx%lld pixels: exceeds the limit of %llu pixels "
                         "(--max-image-pixels, at most %u)", name, format, w, h, (unsigned long long)max_pixels,
                         IMAGE_MAX_PIXELS);
    return MODX_OK;
}

void image_composite_rgba(const uint8_t *rgba, size_t n, const uint8_t background[3], uint8_t *rgb) {
    const uint8_t *bg = background ? background : IMAGE_DEFAULT_BACKGROUND;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = rgba + 4 * i;
        uint32_t a = p[3];
        uint8_t r = p[0], g = p[1], b = p[2];
        /* Reading the whole pixel before writing keeps rgb == rgba safe. */
        uint8_t *o = rgb + 3 * i;
        o[0] = (uint8_t)((r * a + bg[0] * (255 - a) + 127) / 255);
        o[1] = (uint8_t)((g * a + bg[1] * (255 - a) + 127) / 255);
        o[2] = (uint8_t)((b * a + bg[2] * (255 - a) + 127) / 255);
    }
}

/* A readable guess at what a non-JPEG/PNG file is, for the error message. */
static const char *image_guess_kind(const uint8_t *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "a GIF image (unsupported)";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "possibly a BMP image (unsupported)";
    if (n >= 4 && (!memcmp(d, "II*", 4) || !memcmp(d, "MM\0*", 4))) return "a TIFF image (unsupported)";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "an ISO media file such as HEIC/AVIF (unsupported)";
    if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) return "a JPEG start-of-image marker without a following marker";
    return "not an image";
}

ModxStatus image_decode(Image *out, const void *data, size_t n, const char *name, const uint8_t background[3]) {
    return image_decode_limited(out, data, n, name, background, IMAGE_DEFAULT_MAX_PIXELS);
}

ModxStatus image_decode_limited(Image *out, const void *data, size_t n, const char *name,
                                const uint8_t background[3], uint64_t max_pixels) {
    if (max_pixels == 0) max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
    CHECK(max_pixels >= 1 && max_pixels <= IMAGE_MAX_PIXELS, "image: pixel limit %llu",
          (unsigned long long)max_pixels);
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    const uint8_t *d = data;
    *out = (Image){0, 0, NULL};
    if (!name) name = "<memory>";
    if (!background) background = IMAGE_DEFAULT_BACKGROUND;
    if (n == 0 || !d) return modx_fail(MODX_ERR_FORMAT, "%s: empty file: expected a JPEG, PNG or WebP image", name);
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return image_decode_jpeg(out, d, n, name, max_pixels);
    if (n >= 8 && !memcmp(d, png_sig, 8)) return image_decode_png(out, d, n, name, background, max_pixels);
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        return image_decode_webp(out, d, n, name, background, max_pixels);
    char hex[3 * 8 + 1] = "";
    size_t m = n < 8 ? n : 8;
    for (size_t i = 0; i < m; i++) snprintf(hex + 3 * i, 4, "%02x%s", d[i], i + 1 < m ? " " : "");
    return modx_fail(MODX_ERR_FORMAT,
                     "%s: unknown image format: expected a JPEG (ff d8 ff), PNG (89 50 4e 47 ...) or WebP (RIFF....WEBP) signature, "
                     "found %s (%s)",
                     name, hex, image_guess_kind(d, n));
}

ModxStatus image_load(Image *out, const char *path, const uint8_t background[3]) {
    return image_load_limited(out, path, background, IMAGE_DEFAULT_MAX_PIXELS);
}

ModxStatus image_load_limited(Image *out, const char *path, const uint8_t background[3], uint64_t max_pixels) {
    *out = (Image){0, 0, NULL};
    FILE *f = fopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open image: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return modx_fail(MODX_ERR_IO, "%s: cannot read image: not a regular file", path);
    }
    if ((unsigned long long)sb.st_size > IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return modx_fail(MODX_ERR_FORMAT, "%s: image file is %lld bytes: exceeds the limit of %zu", path,
                         (long long)sb.st_size, IMAGE_MAX_FILE_BYTES);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != n) {
        free(buf);
        return modx_fail(MODX_ERR_IO, "%s: cannot read image: got %zu of %zu bytes%s%s", path, got, n,
                         err ? ": " : "", err ? strerror(err) : "");
    }
    ModxStatus st = image_decode_limited(out, buf, n, path, background, max_pixels);
    free(buf);
    return st;
}

void image_free(Image *img) {
    if (!img) return;
    free(img->rgb);
    *img = (Image){0, 0, NULL};
}

ModxStatus image_resize_crop(const Image *in, int size, uint8_t *out) {
    int ow, oh;
    MODX_TRY(resize_shorter_side_dims(in->width, in->height, size, &ow, &oh));
    int x0 = resize_center_offset(ow, size), y0 = resize_center_offset(oh, size);
    return resize_bicubic_rgb8(in->rgb, in->width, in->height, ow, oh, x0, y0, size, size, out);
}

void image_normalize(const uint8_t *hwc, int size, float *chw) {
    size_t hw = (size_t)size * size;
    for (int c = 0; c < 3; c++) {
        float mean = CLIP_MEAN[c], std = CLIP_STD[c];
        float *o = chw + (size_t)c * hw;
        for (size_t i = 0; i < hw; i++) o[i] = ((float)hwc[3 * i + c] / 255.0f - mean) / std;
    }
}

ModxStatus image_preprocess_file(const char *path, int size, const uint8_t background[3], uint64_t max_pixels,
                                 float *chw) {
    if (size < 1 || size > RESIZE_MAX_SIZE)
        return modx_fail(MODX_ERR_INVALID, "%s: preprocess size %d outside [1, %d]", path, size, RESIZE_MAX_SIZE);
    Image img;
    MODX_TRY(image_load_limited(&img, path, background, max_pixels));
    uint8_t *crop = modx_calloc((size_t)size * size, 3, "preprocess crop");
    ModxStatus st = crop ? image_resize_crop(&img, size, crop) : MODX_ERR_NOMEM;
    if (st == MODX_OK) image_normalize(crop, size, chw);
    else modx_error_prefix("%s: ", path);
    free(crop);
    image_free(&img);
    return st;
}
