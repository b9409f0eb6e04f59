/* Image decode + preprocessing against Pillow 9.4 references
 * (tests/fixtures/images, written by tools/gen_image_ref.py), resize geometry,
 * compositing, normalisation, and bad inputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/image.h"
#include "data/resize.h"
#include "harness.h"

#define IMG_DIR "tests/fixtures/images/"

static uint8_t *img_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static int img_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n;
}

static int img_max_diff(const uint8_t *a, const uint8_t *b, size_t n, size_t *first) {
    int m = 0;
    *first = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m) m = d;
        if (d > 0 && *first == (size_t)-1) *first = i;
    }
    return m;
}

TEST(image_resize_crop_matches_pillow) {
    FILE *f = fopen(IMG_DIR "manifest.txt", "r");
    EXPECT(f, "cannot open " IMG_DIR "manifest.txt");
    char line[512], report[8192] = "";
    int cases = 0, overall = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char file[128], ref[128];
        int size, r, g, b;
        if (sscanf(line, "%127s %d %d %d %d %127s", file, &size, &r, &g, &b, ref) != 6) continue;
        char path[300], refpath[300];
        snprintf(path, sizeof path, IMG_DIR "%s", file);
        snprintf(refpath, sizeof refpath, IMG_DIR "%s", ref);
        uint8_t bg[3] = {(uint8_t)r, (uint8_t)g, (uint8_t)b};
        Image img;
        ModxStatus st = image_load(&img, path, bg);
        if (st != MODX_OK) fclose(f);
        EXPECT(st == MODX_OK, "%s: %s", path, modx_last_error());
        size_t n = (size_t)size * size * 3, rn = 0;
        uint8_t *got = malloc(n), *want = img_read_file(refpath, &rn);
        st = image_resize_crop(&img, size, got);
        size_t first = 0;
        int d = (st == MODX_OK && want && rn == n) ? img_max_diff(got, want, n, &first) : 999;
        if (d > 2 || st != MODX_OK) fclose(f);
        EXPECT(st == MODX_OK, "%s: %s", path, modx_last_error());
        EXPECT(want && rn == n, "%s: reference has %zu bytes, expected %zu", refpath, rn, n);
        /* Resize is bit-exact with Pillow, so PNG (lossless) cases must match exactly.
         * JPEG cases get the acceptance bound of 2: another libjpeg-turbo build may
         * decode a few values differently from the one that wrote the references. */
        int bound = strstr(file, ".png") ? 0 : 2;
        EXPECT(d <= bound, "%s (%dx%d, S=%d): max |diff| %d > %d at byte %zu: got %d want %d", ref, img.width,
               img.height, size, d, bound, first, got[first], want[first]);
        size_t len = strlen(report);
        snprintf(report + len, sizeof report - len, " %.*s=%d", (int)(strlen(ref) - 4), ref, d);
        if (d > overall) overall = d;
        cases++;
        free(got);
        free(want);
        image_free(&img);
    }
    fclose(f);
    EXPECT(cases >= 40, "only %d reference cases in the manifest", cases);
    printf("  image vs Pillow: %d cases, max |diff| %d; per case:%s\n", cases, overall, report);
}

/* Parses a binary PPM (P6, maxval 255) written by Pillow. */
static uint8_t *img_read_ppm(const char *path, int *w, int *h) {
    size_t n;
    uint8_t *buf = img_read_file(path, &n);
    if (!buf) return NULL;
    int maxv, off = 0;
    if (sscanf((char *)buf, "P6 %d %d %d%n", w, h, &maxv, &off) != 3 || maxv != 255 ||
        (size_t)off + 1 + (size_t)*w * *h * 3 != n) {
        free(buf);
        return NULL;
    }
    uint8_t *px = malloc((size_t)*w * *h * 3);
    memcpy(px, buf + off + 1, (size_t)*w * *h * 3);
    free(buf);
    return px;
}

TEST(image_decode_every_mode_matches_pillow) {
    static const char *cases[] = {"jpeg_rgb_wide.jpg", "jpeg_rgb_tall444.jpg", "jpeg_progressive.jpg",
                                  "jpeg_grey.jpg", "jpeg_cmyk.jpg", "png_rgb_tiny.png", "png_rgb_square.png",
                                  "png_rgb_upscale.png", "png_rgb_odd.png", "png_rgba.png", "png_la.png",
                                  "png_l.png", "png_p_trns.png", "png_i16.png", "png_rgba16.png", "png_grey1.png",
                                  "png_rgb_trns.png", "png_p4_trns.png"};
    char report[2048] = "";
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[256], ppm[256];
        snprintf(path, sizeof path, IMG_DIR "%s", cases[c]);
        snprintf(ppm, sizeof ppm, IMG_DIR "%.*s_decoded.ppm", (int)(strchr(cases[c], '.') - cases[c]), cases[c]);
        int w = 0, h = 0;
        uint8_t *want = img_read_ppm(ppm, &w, &h);
        EXPECT(want, "cannot read %s", ppm);
        Image img;
        ModxStatus st = image_load(&img, path, NULL);
        if (st != MODX_OK) free(want);
        EXPECT(st == MODX_OK, "%s", modx_last_error());
        int same_size = img.width == w && img.height == h;
        size_t first = 0;
        int d = same_size ? img_max_diff(img.rgb, want, (size_t)w * h * 3, &first) : 999;
        uint8_t g = same_size && d ? img.rgb[first] : 0, e = same_size && d ? want[first] : 0;
        image_free(&img);
        free(want);
        EXPECT(same_size, "%s: decoded size differs from Pillow's %dx%d", path, w, h);
        /* PNG rules are integer-exact; JPEG is exact with the same libjpeg-turbo
         * (it is here) but allowed 2 levels for another build of the library. */
        int bound = strstr(cases[c], ".png") ? 0 : 2;
        EXPECT(d <= bound, "%s: max |diff| %d vs Pillow at byte %zu (got %d want %d)", path, d, first, g, e);
        size_t len = strlen(report);
        snprintf(report + len, sizeof report - len, " %s=%d", cases[c], d);
    }
    printf("  decode max |diff| vs Pillow:%s\n", report);
}

TEST(image_normalize_matches_reference) {
    size_t n = 0, fn = 0;
    uint8_t *crop = img_read_file(IMG_DIR "png_rgba_s16.rgb", &n);
    float *want = (float *)img_read_file(IMG_DIR "png_rgba_s16.f32", &fn);
    EXPECT(crop && want && n == 16 * 16 * 3 && fn == 3 * 16 * 16 * 4, "normalisation fixtures missing");
    float got[3 * 16 * 16], formula[3 * 16 * 16];
    image_normalize(crop, 16, got);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++)
            formula[c * 256 + i] = (float)((crop[3 * i + c] / 255.0 - (double)CLIP_MEAN[c]) / (double)CLIP_STD[c]);
    free(crop);
    int exact = 1;
    for (int i = 0; i < 3 * 256; i++) exact &= got[i] == want[i];
    /* float32 torchvision-style reference: bit-exact expected */
    if (!exact) {
        EXPECT_CLOSE("normalize vs float32 reference", got, want, 3 * 256, 1e-6, 0);
    }
    free(want);
    EXPECT_CLOSE("normalize vs double formula", got, formula, 3 * 256, 2e-6, 0);
    EXPECT(exact, "normalisation not bit-exact with the float32 reference (within 1e-6)");
}

TEST(image_composite_rule) {
    const uint8_t bg[3] = {30, 120, 200};
    const uint8_t rgba[] = {200, 10, 255, 128, 200, 10, 255, 0, 200, 10, 255, 255, 0, 255, 100, 1};
    uint8_t rgb[12];
    image_composite_rgba(rgba, 4, bg, rgb);
    /* round((c·a + bg·(255−a)) / 255) */
    const uint8_t want[12] = {115, 65, 228, 30, 120, 200, 200, 10, 255, 30, 121, 200};
    for (int i = 0; i < 12; i++) EXPECT(rgb[i] == want[i], "byte %d: got %d want %d", i, rgb[i], want[i]);
    /* exhaustive property: the rule for every (c, a) on one background value */
    for (int c = 0; c < 256; c++)
        for (int a = 0; a < 256; a++) {
            uint8_t p[4] = {(uint8_t)c, (uint8_t)c, (uint8_t)c, (uint8_t)a}, o[3];
            image_composite_rgba(p, 1, bg, o);
            double exact = (c * a + 30.0 * (255 - a)) / 255.0;
            EXPECT(abs((int)o[0] - (int)(exact + 0.5)) == 0, "c=%d a=%d: %d vs %g", c, a, o[0], exact);
        }
}

TEST(image_resize_geometry) {
    int w, h;
    EXPECT(resize_shorter_side_dims(64, 40, 16, &w, &h) == MODX_OK && w == 25 && h == 16, "64x40 -> %dx%d", w, h);
    EXPECT(resize_shorter_side_dims(40, 64, 16, &w, &h) == MODX_OK && w == 16 && h == 25, "40x64 -> %dx%d", w, h);
    EXPECT(resize_shorter_side_dims(33, 33, 224, &w, &h) == MODX_OK && w == 224 && h == 224, "square");
    /* int(224 * 500 / 333) = int(336.336...) = 336 (truncation, not rounding) */
    EXPECT(resize_shorter_side_dims(500, 333, 224, &w, &h) == MODX_OK && w == 336 && h == 224, "500x333 -> %dx%d", w,
           h);
    /* int(16 * 101 / 37) = int(43.67) = 43 */
    EXPECT(resize_shorter_side_dims(101, 37, 16, &w, &h) == MODX_OK && w == 43 && h == 16, "101x37 -> %dx%d", w, h);
    EXPECT(resize_shorter_side_dims(0, 5, 16, &w, &h) == MODX_ERR_INVALID, "zero width accepted");
    EXPECT(resize_shorter_side_dims(5, 5, 0, &w, &h) == MODX_ERR_INVALID, "size 0 accepted");
    /* Python round-half-even of (len - crop) / 2 */
    EXPECT(resize_center_offset(25, 16) == 4, "round(4.5) should be 4, got %d", resize_center_offset(25, 16));
    EXPECT(resize_center_offset(43, 16) == 14, "round(13.5) should be 14, got %d", resize_center_offset(43, 16));
    EXPECT(resize_center_offset(17, 16) == 0, "round(0.5) should be 0");
    EXPECT(resize_center_offset(19, 16) == 2, "round(1.5) should be 2");
    EXPECT(resize_center_offset(20, 16) == 2, "20-16 -> 2");
    EXPECT(resize_center_offset(16, 16) == 0, "no crop");
}

/* A window of the resize equals the same crop of the full resize, on awkward shapes. */
TEST(image_resize_window_equals_full_crop) {
    Rng r;
    rng_seed(&r, 11);
    const int shapes[][4] = {{53, 31, 7, 90}, {1, 1, 5, 3}, {3, 5, 24, 40}, {200, 9, 13, 9}, {17, 17, 17, 17},
                             {64, 48, 64, 5}, {2, 300, 1, 37}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int w = shapes[s][0], h = shapes[s][1], ow = shapes[s][2], oh = shapes[s][3];
        uint8_t *in = malloc((size_t)w * h * 3), *full = malloc((size_t)ow * oh * 3), *win = malloc((size_t)ow * oh * 3);
        for (int i = 0; i < w * h * 3; i++) in[i] = (uint8_t)rng_below(&r, 256);
        ModxStatus st = resize_bicubic_rgb8(in, w, h, ow, oh, 0, 0, ow, oh, full);
        int bad = -1;
        for (int t = 0; t < 5 && st == MODX_OK && bad < 0; t++) {
            int cw = 1 + (int)rng_below(&r, (uint64_t)ow), ch = 1 + (int)rng_below(&r, (uint64_t)oh);
            int x0 = (int)rng_below(&r, (uint64_t)(ow - cw + 1)), y0 = (int)rng_below(&r, (uint64_t)(oh - ch + 1));
            st = resize_bicubic_rgb8(in, w, h, ow, oh, x0, y0, cw, ch, win);
            for (int y = 0; y < ch && st == MODX_OK && bad < 0; y++)
                if (memcmp(win + (size_t)y * cw * 3, full + ((size_t)(y0 + y) * ow + x0) * 3, (size_t)cw * 3)) bad = t;
        }
        int identity_ok = 1;
        if (st == MODX_OK && ow == w && oh == h) identity_ok = !memcmp(in, full, (size_t)w * h * 3);
        free(in);
        free(full);
        free(win);
        EXPECT(st == MODX_OK, "%dx%d -> %dx%d: %s", w, h, ow, oh, modx_last_error());
        EXPECT(bad < 0, "%dx%d -> %dx%d: window %d differs from the full resize", w, h, ow, oh, bad);
        EXPECT(identity_ok, "%dx%d same-size resize is not the identity", w, h);
    }
}

TEST(image_resize_constant_stays_constant) {
    static uint8_t in[97 * 41 * 3], out[24 * 24 * 3];
    for (int v = 0; v <= 255; v += 51) {
        memset(in, v, sizeof in);
        Image img = {97, 41, in};
        EXPECT(image_resize_crop(&img, 24, out) == MODX_OK, "%s", modx_last_error());
        for (size_t i = 0; i < sizeof out; i++) EXPECT(out[i] == v, "constant %d became %d at %zu", v, out[i], i);
    }
}

/* --- bad inputs: each fails with a message naming the file ------------------ */

static void img_expect_error(const char *path, ModxStatus want, const char *fragment, int *ok, char *why, size_t nwhy) {
    Image img;
    ModxStatus st = image_load(&img, path, NULL);
    const char *msg = modx_last_error();
    *ok = st == want && strstr(msg, path) && strstr(msg, fragment) && img.rgb == NULL;
    snprintf(why, nwhy, "%s: status %d (want %d), message \"%s\" (want the path and \"%s\")", path, st, want, msg,
             fragment);
    image_free(&img);
}

static void img_write_tmp(char *path, size_t npath, const char *name, const void *data, size_t n) {
    snprintf(path, npath, "%s/%s", harness_tmpdir(), name);
    CHECK(img_write_file(path, data, n), "cannot write %s", path);
}

#define EXPECT_LOAD_ERROR(path, status, fragment)                         \
    do {                                                                  \
        int ok_;                                                          \
        char why_[1024];                                                  \
        img_expect_error((path), (status), (fragment), &ok_, why_, sizeof why_); \
        EXPECT(ok_, "%s", why_);                                          \
    } while (0)

/* Offset of the SOF0/SOF2 marker's height field in a JPEG, or 0. */
static size_t img_sof_offset(const uint8_t *d, size_t n) {
    for (size_t i = 2; i + 9 < n; i++)
        if (d[i] == 0xFF && (d[i + 1] == 0xC0 || d[i + 1] == 0xC2)) return i + 5;
    return 0;
}

TEST(image_bad_inputs_named) {
    char path[512];
    snprintf(path, sizeof path, "%s/no_such_image.png", harness_tmpdir());
    EXPECT_LOAD_ERROR(path, MODX_ERR_IO, "No such file");
    EXPECT_LOAD_ERROR(harness_tmpdir(), MODX_ERR_IO, "not a regular file");
    if (geteuid() != 0) { /* root reads anything */
        img_write_tmp(path, sizeof path, "unreadable.png", "x", 1);
        chmod(path, 0);
        EXPECT_LOAD_ERROR(path, MODX_ERR_IO, "Permission denied");
    }
    img_write_tmp(path, sizeof path, "empty.jpg", "", 0);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "empty file");
    const char text[] = "<html><body>not found</body></html>";
    img_write_tmp(path, sizeof path, "page.jpg", text, sizeof text - 1);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "unknown image format");
    img_write_tmp(path, sizeof path, "anim.png", "GIF89a\x01\x00\x01\x00", 10);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "GIF");

    size_t nj = 0, np = 0;
    uint8_t *jpg = img_read_file(IMG_DIR "jpeg_rgb_wide.jpg", &nj);
    uint8_t *png = img_read_file(IMG_DIR "png_rgb_odd.png", &np);
    EXPECT(jpg && png, "fixtures missing");
    uint8_t *buf = malloc(nj > np ? nj : np);

    img_write_tmp(path, sizeof path, "truncated.jpg", jpg, nj / 2);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "truncated");
    img_write_tmp(path, sizeof path, "truncated_header.jpg", jpg, 40);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "JPEG");
    img_write_tmp(path, sizeof path, "truncated.png", png, np * 2 / 3);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "PNG");
    img_write_tmp(path, sizeof path, "truncated_header.png", png, 20);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "too short for the IHDR");

    /* corrupt headers */
    memcpy(buf, png, np);
    memcpy(buf + 12, "IHDX", 4);
    img_write_tmp(path, sizeof path, "bad_ihdr.png", buf, np);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "IHDR");
    memcpy(buf, png, np);
    buf[29] ^= 0x55; /* IHDR CRC */
    img_write_tmp(path, sizeof path, "bad_crc.png", buf, np);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "corrupt PNG");
    memcpy(buf, jpg, nj);
    for (size_t i = 3; i < 40; i++) buf[i] = (uint8_t)(i * 37);
    img_write_tmp(path, sizeof path, "bad_header.jpg", buf, nj);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "corrupt JPEG");

    /* zero-size and absurd dimensions */
    memcpy(buf, png, np);
    memset(buf + 16, 0, 4);
    img_write_tmp(path, sizeof path, "zero_width.png", buf, np);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "non-empty");
    memcpy(buf, png, np);
    buf[16] = 0, buf[17] = 0, buf[18] = 0x9C, buf[19] = 0x40; /* width 40000 */
    img_write_tmp(path, sizeof path, "wide.png", buf, np);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "limit of 32768 per side");
    memcpy(buf, png, np);
    buf[16] = 0, buf[17] = 0, buf[18] = 0x4E, buf[19] = 0x20; /* 20000 x 20000 */
    buf[20] = 0, buf[21] = 0, buf[22] = 0x4E, buf[23] = 0x20;
    img_write_tmp(path, sizeof path, "huge.png", buf, np);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "pixels");
    size_t sof = img_sof_offset(jpg, nj);
    EXPECT(sof > 0, "no SOF marker in the JPEG fixture");
    memcpy(buf, jpg, nj);
    buf[sof] = 0, buf[sof + 1] = 0; /* height 0 */
    img_write_tmp(path, sizeof path, "zero_height.jpg", buf, nj);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "zero width or height");
    memcpy(buf, jpg, nj);
    buf[sof + 2] = 0x9C, buf[sof + 3] = 0x40; /* width 40000 */
    img_write_tmp(path, sizeof path, "wide.jpg", buf, nj);
    EXPECT_LOAD_ERROR(path, MODX_ERR_FORMAT, "limit of 32768 per side");

    /* corrupt entropy-coded data: must not crash (a decode or an error, never garbage size) */
    Rng r;
    rng_seed(&r, 5);
    for (int t = 0; t < 50; t++) {
        memcpy(buf, jpg, nj);
        for (int k = 0; k < 4; k++) buf[sof + 10 + rng_below(&r, nj - sof - 10)] = (uint8_t)rng_below(&r, 256);
        Image img;
        ModxStatus st = image_decode(&img, buf, nj, "flipped.jpg", NULL);
        EXPECT(st == MODX_OK ? (img.width == 64 && img.height == 40 && img.rgb) : img.rgb == NULL,
               "bit-flipped JPEG: status %d size %dx%d", st, img.width, img.height);
        EXPECT(st == MODX_OK || strstr(modx_last_error(), "flipped.jpg"), "message lacks the name: %s",
               modx_last_error());
        image_free(&img);
    }
    free(buf);
    free(jpg);
    free(png);
}

TEST(image_preprocess_file_errors_name_file) {
    float chw[3 * 8 * 8];
    EXPECT(image_preprocess_file(IMG_DIR "png_la.png", 8, NULL, 0, chw) == MODX_OK, "%s", modx_last_error());
    for (int i = 0; i < 3 * 64; i++) EXPECT(chw[i] > -2.0f && chw[i] < 2.2f, "value %g out of range", chw[i]);
    EXPECT(image_preprocess_file(IMG_DIR "png_la.png", 0, NULL, 0, chw) == MODX_ERR_INVALID, "size 0 accepted");
    EXPECT(strstr(modx_last_error(), "png_la.png"), "message lacks the file: %s", modx_last_error());
}
