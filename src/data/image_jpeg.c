/* JPEG decoding with libjpeg(-turbo). libjpeg reports fatal errors through
 * error_exit, which must not return: it longjmps back here with the message. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/size.h"
#include "data/image_codec.h"

#define JPEG_MAX_SCANS 1000 /* progressive files with more scans are refused (decoding time bomb) */

typedef struct {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64];
    /* Owned buffers, freed on both paths (kept here, not in locals, across longjmp). */
    uint8_t *rgb;
    uint8_t *row;
} JpegState;

static void jpeg_on_error(j_common_ptr cinfo) {
    JpegState *s = (JpegState *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    if (cinfo->err->msg_code == JERR_EMPTY_IMAGE)
        snprintf(s->message, sizeof s->message, "corrupt JPEG: image has zero width or height (%s)", msg);
    else
        snprintf(s->message, sizeof s->message, "corrupt JPEG: %s", msg);
    longjmp(s->jump, 1);
}

static void jpeg_on_message(j_common_ptr cinfo, int level) {
    JpegState *s = (JpegState *)cinfo->err;
    if (level >= 0) return; /* trace messages */
    /* Running out of data is fatal: libjpeg would otherwise pad the image with grey. */
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(s->message, sizeof s->message, "truncated JPEG: premature end of data");
        longjmp(s->jump, 1);
    }
    cinfo->err->num_warnings++; /* recoverable corrupt-data warnings are tolerated */
}

static void jpeg_on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        JpegState *s = (JpegState *)cinfo->err;
        snprintf(s->message, sizeof s->message, "corrupt JPEG: more than %d progressive scans", JPEG_MAX_SCANS);
        longjmp(s->jump, 1);
    }
}

/* Pillow's CMYK → RGB: R = (255 − K) − round((255 − K)·C / 255), with MULDIV255 rounding. */
static inline uint8_t cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v);
}

/* The decoder's output colour space for the file's: grey, RGB or CMYK (CMYK
 * and YCCK). 0 for a colour space that is not supported. */
static int jpeg_pick_out_space(j_decompress_ptr cinfo) {
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; return 1;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; return 1;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; return 1;
    default: return 0;
    }
}

/* One decoded row of w pixels with comps 1 (grey) or 4 (CMYK) components to
 * RGB in dst; an RGB row (comps 3) is decoded into dst directly. */
static void jpeg_row_to_rgb(uint8_t *dst, const uint8_t *row, int w, int comps) {
    if (comps == 1) {
        for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
    } else if (comps == 4) {
        for (int x = 0; x < w; x++) {
            const uint8_t *p = row + 4 * x;
            int c = p[0], m = p[1], y = p[2], k = p[3];
            /* inverted (Adobe) convention, assumed for every CMYK/YCCK file as Pillow does */
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
            int nk = 255 - k;
            dst[3 * x] = cmyk_channel(c, nk);
            dst[3 * x + 1] = cmyk_channel(m, nk);
            dst[3 * x + 2] = cmyk_channel(y, nk);
        }
    }
}

/* setjmp stays in this function: libjpeg's errors longjmp back to it. */
ModxStatus image_decode_jpeg(Image *out, const uint8_t *data, size_t n, const char *name, uint64_t max_pixels) {
    struct jpeg_decompress_struct cinfo;
    JpegState s;
    memset(&s, 0, sizeof s);
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&s.pub);
    s.pub.error_exit = jpeg_on_error;
    s.pub.emit_message = jpeg_on_message;
    if (setjmp(s.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(s.rgb);
        free(s.row);
        *out = (Image){0, 0, NULL};
        return modx_fail(MODX_ERR_FORMAT, "%s: %s", name, s.message);
    }
    jpeg_create_decompress(&cinfo);
    s.progress.progress_monitor = jpeg_on_progress;
    cinfo.progress = &s.progress;
    if (n > (unsigned long)-1) n = (unsigned long)-1;
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&cinfo);
        return modx_fail(MODX_ERR_FORMAT, "%s: JPEG holds only tables, no image", name);
    }

    ModxStatus st = image_check_dims(name, "JPEG", cinfo.image_width, cinfo.image_height, max_pixels);
    if (st != MODX_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    if (!jpeg_pick_out_space(&cinfo)) {
        jpeg_destroy_decompress(&cinfo);
        return modx_fail(MODX_ERR_UNSUPPORTED,
                         "%s: JPEG with %d components in an unknown colour space: expected grey, YCbCr, RGB, CMYK "
                         "or YCCK",
                         name, cinfo.num_components);
    }
    int cmyk = cinfo.out_color_space == JCS_CMYK;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, comps = cinfo.output_components;
    CHECK(comps == (cmyk ? 4 : cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3), "JPEG: %d output components", comps);
    size_t npix = (size_t)w * h; /* bounded by IMAGE_MAX_PIXELS */
    s.rgb = malloc(npix * 3);
    s.row = comps != 3 ? malloc((size_t)w * comps) : NULL;
    if (!s.rgb || (comps != 3 && !s.row)) {
        jpeg_destroy_decompress(&cinfo);
        free(s.rgb);
        free(s.row);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory for a %dx%d JPEG", name, w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = s.rgb + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW rows[1] = {comps == 3 ? dst : s.row};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(s.message, sizeof s.message, "corrupt JPEG: decoder returned no scanline at row %u",
                     cinfo.output_scanline);
            longjmp(s.jump, 1);
        }
        jpeg_row_to_rgb(dst, s.row, w, comps);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(s.row);
    *out = (Image){w, h, s.rgb};
    return MODX_OK;
}
