/* Pixel statistics of boxes in a PNG screenshot, for the report's screenshot
 * test: a plot whose data area holds no coloured pixels did not render. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spng.h>

#include "core/size.h"
#include "report/report.h"

#define PNG_MAX_SIDE 32768

ModxStatus report_png_load(const char *path, ReportImage *img) {
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    spng_ctx *ctx = spng_ctx_new(0);
    ModxStatus st = MODX_OK;
    if (!ctx) {
        fclose(f);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory for the PNG decoder", path);
    }
    spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    spng_set_image_limits(ctx, PNG_MAX_SIDE, PNG_MAX_SIDE);
    spng_set_png_file(ctx, f);
    struct spng_ihdr ihdr;
    int e = spng_get_ihdr(ctx, &ihdr);
    size_t size = 0;
    if (e) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: not a readable PNG: %s", path, spng_strerror(e));
        goto done;
    }
    e = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &size);
    size_t want;
    if (e || !size_mul((size_t)ihdr.width * 4, ihdr.height, &want) || want != size) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: cannot size the %ux%u image: %s", path, ihdr.width, ihdr.height,
                       e ? spng_strerror(e) : "size mismatch");
        goto done;
    }
    img->rgba = malloc(size);
    if (!img->rgba) {
        st = modx_fail(MODX_ERR_NOMEM, "%s: out of memory for a %ux%u image", path, ihdr.width, ihdr.height);
        goto done;
    }
    e = spng_decode_image(ctx, img->rgba, size, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS);
    if (e) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: PNG decode failed: %s", path, spng_strerror(e));
        free(img->rgba);
        img->rgba = NULL;
        goto done;
    }
    img->w = ihdr.width;
    img->h = ihdr.height;
done:
    spng_ctx_free(ctx);
    fclose(f);
    return st;
}

void report_image_free(ReportImage *img) {
    if (!img) return;
    free(img->rgba);
    memset(img, 0, sizeof *img);
}

ModxStatus report_image_region_stats(const ReportImage *img, int x, int y, int w, int h, ReportRegionStats *out) {
    memset(out, 0, sizeof *out);
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || (long)x + w > (long)img->w || (long)y + h > (long)img->h)
        return modx_fail(MODX_ERR_INVALID, "box %d,%d %dx%d does not lie inside the %ux%u image (it reaches %ld,%ld)", x,
                         y, w, h, img->w, img->h, (long)x + w, (long)y + h);
    /* Distinct colours: a bitmap over 15-bit quantised RGB. */
    uint8_t *seen = calloc(1u << 15, 1);
    if (!seen) return modx_fail(MODX_ERR_NOMEM, "out of memory for the colour table");
    for (int r = y; r < y + h; r++) {
        const uint8_t *p = img->rgba + ((size_t)r * img->w + (size_t)x) * 4;
        for (int c = 0; c < w; c++, p += 4) {
            int R = p[0], G = p[1], B = p[2];
            out->pixels++;
            int mx = R > G ? (R > B ? R : B) : (G > B ? G : B);
            int mn = R < G ? (R < B ? R : B) : (G < B ? G : B);
            if (255 - mn > 24) out->nonbackground++;
            if (mx - mn > 60) out->chromatic++;
            unsigned q = ((unsigned)(R >> 3) << 10) | ((unsigned)(G >> 3) << 5) | (unsigned)(B >> 3);
            if (!seen[q]) {
                seen[q] = 1;
                out->distinct++;
            }
        }
    }
    free(seen);
    return MODX_OK;
}

static int png_nonwhite(const ReportImage *img, long x, long y) {
    if (x < 0 || y < 0 || x >= (long)img->w || y >= (long)img->h) return 0;
    const uint8_t *p = img->rgba + ((size_t)y * img->w + (size_t)x) * 4;
    int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
    return 255 - mn > 24;
}

/* Whether a line of length `len` from (x0, y0) along (dx, dy) is >= 90% non-white. */
static int png_line_drawn(const ReportImage *img, long x0, long y0, long dx, long dy, long len) {
    long hits = 0;
    for (long i = 0; i < len; i++) hits += png_nonwhite(img, x0 + i * dx, y0 + i * dy);
    return len > 0 && hits * 10 >= len * 9;
}

int report_image_frame_sides(const ReportImage *img, int x, int y, int w, int h) {
    int sides = 0;
    for (int side = 0; side < 4; side++) {
        int found = 0;
        for (long k = 1; k <= 4 && !found; k++) {
            switch (side) {
            case 0: found = png_line_drawn(img, x, y - k, 1, 0, w); break;     /* top */
            case 1: found = png_line_drawn(img, x, y + h - 1 + k, 1, 0, w); break; /* bottom */
            case 2: found = png_line_drawn(img, x - k, y, 0, 1, h); break;     /* left */
            default: found = png_line_drawn(img, x + w - 1 + k, y, 0, 1, h); break; /* right */
            }
        }
        sides += found;
    }
    return sides;
}

ModxStatus report_png_region_stats(const char *path, int x, int y, int w, int h, ReportRegionStats *out) {
    ReportImage img;
    MODX_TRY(report_png_load(path, &img));
    ModxStatus st = report_image_region_stats(&img, x, y, w, h, out);
    if (st != MODX_OK) modx_error_prefix("%s: ", path);
    report_image_free(&img);
    return st;
}
