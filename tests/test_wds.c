/* Shard patterns (brace expansion as webdataset reads them) and WebP decoding
 * (lossless round trip through libwebp's encoder, alpha composited as for PNG;
 * truncated and corrupt files refused). The shard and CSV readers themselves
 * are tested end to end in tests/cli/test_data_{wds,csv}_*.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>

#include "data/brace.h"
#include "data/image.h"
#include "harness.h"

static int expands_to(const char *pattern, const char *const *want, size_t n_want) {
    char **got;
    size_t n;
    if (brace_expand(pattern, &got, &n) != MODX_OK) return 0;
    int ok = n == n_want;
    for (size_t i = 0; ok && i < n; i++) ok = !strcmp(got[i], want[i]);
    brace_free(got, n);
    return ok;
}

TEST(brace_expand_ranges_lists_and_products) {
    const char *a[] = {"s-0008.tar", "s-0009.tar", "s-0010.tar"};
    EXPECT(expands_to("s-{0008..0010}.tar", a, 3), "zero-padded range");
    const char *b[] = {"8", "9", "10"};
    EXPECT(expands_to("{8..10}", b, 3), "unpadded range");
    const char *c[] = {"x3", "x2", "x1"};
    EXPECT(expands_to("x{3..1}", c, 3), "downward range");
    const char *d[] = {"a-0.tar", "a-1.tar", "b-0.tar", "b-1.tar"};
    EXPECT(expands_to("{a,b}-{0..1}.tar", d, 4), "product, left to right");
    const char *e[] = {"plain.tar"};
    EXPECT(expands_to("plain.tar", e, 1), "no braces");
    const char *f[] = {"x", "x-1"};
    EXPECT(expands_to("x{,-1}", f, 2), "empty alternative");
    char **got;
    size_t n;
    EXPECT(brace_expand("a{0..2", &got, &n) == MODX_ERR_INVALID, "unclosed brace accepted");
    EXPECT(strstr(modx_last_error(), "'a{0..2'"), "%s", modx_last_error());
    EXPECT(brace_expand("a{0..x}", &got, &n) == MODX_ERR_INVALID, "bad range accepted");
    EXPECT(brace_expand("a{{0,1}}", &got, &n) == MODX_ERR_INVALID, "nested group accepted");
    EXPECT(brace_expand("{0..999}{0..9999}", &got, &n) == MODX_ERR_INVALID, "10^7 names accepted");
}

TEST(image_webp_lossless_round_trip) {
    enum { W = 5, H = 3 };
    uint8_t rgba[W * H * 4], want[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        rgba[4 * i] = (uint8_t)(i * 17), rgba[4 * i + 1] = (uint8_t)(255 - i * 9), rgba[4 * i + 2] = (uint8_t)(i * i);
        rgba[4 * i + 3] = (uint8_t)(i % 3 == 0 ? 255 : i * 16);
    }
    image_composite_rgba(rgba, W * H, NULL, want);
    uint8_t *webp = NULL;
    size_t n = WebPEncodeLosslessRGBA(rgba, W, H, W * 4, &webp);
    EXPECT(n > 0 && webp, "libwebp could not encode");
    Image img;
    ModxStatus st = image_decode(&img, webp, n, "t.webp", NULL);
    int same = st == MODX_OK && img.width == W && img.height == H && !memcmp(img.rgb, want, sizeof want);
    image_free(&img);
    ModxStatus cut = image_decode(&img, webp, n / 2, "cut.webp", NULL);
    char why[256];
    snprintf(why, sizeof why, "%s", modx_last_error());
    image_free(&img);
    WebPFree(webp);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    EXPECT(same, "decoded pixels differ from the composited source");
    EXPECT(cut == MODX_ERR_FORMAT && strstr(why, "cut.webp"), "a truncated WebP: %d %s", (int)cut, why);
    const uint8_t junk[16] = {'R', 'I', 'F', 'F', 8, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'};
    EXPECT(image_decode(&img, junk, sizeof junk, "junk.webp", NULL) == MODX_ERR_FORMAT, "corrupt WebP accepted");
}
