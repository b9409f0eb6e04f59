/* Prints the time of the image preprocessing steps (no assertions):
 * resize + centre crop of a 1920×1080 and a 4000×3000 RGB image to 224×224,
 * and decode of the committed JPEG/PNG fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rng.h"
#include "data/image.h"

static double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void bench_resize(int w, int h, int size, int reps) {
    Rng r;
    rng_seed(&r, 1);
    Image img = {w, h, malloc((size_t)w * h * 3)};
    uint8_t *out = malloc((size_t)size * size * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) img.rgb[i] = (uint8_t)(i * 7 + (i / 3 / w) * 13);
    double t0 = bench_now();
    for (int i = 0; i < reps; i++)
        if (image_resize_crop(&img, size, out) != MODX_OK) printf("error: %s\n", modx_last_error());
    double dt = (bench_now() - t0) / reps;
    printf("resize+crop %dx%d -> %d: %.2f ms (%.0f Mpixel/s of input)\n", w, h, size, dt * 1e3, w * (double)h / dt / 1e6);
    free(img.rgb);
    free(out);
}

static void bench_decode(const char *path, int reps) {
    Image img;
    double t0 = bench_now();
    for (int i = 0; i < reps; i++) {
        if (image_load(&img, path, NULL) != MODX_OK) {
            printf("error: %s\n", modx_last_error());
            return;
        }
        if (i + 1 < reps) image_free(&img);
    }
    double dt = (bench_now() - t0) / reps;
    printf("decode %s (%dx%d): %.3f ms\n", path, img.width, img.height, dt * 1e3);
    image_free(&img);
}

int main(void) {
    bench_resize(1920, 1080, 224, 20);
    bench_resize(4000, 3000, 224, 5);
    bench_resize(640, 480, 224, 100);
    bench_decode("tests/fixtures/images/jpeg_large.jpg", 200);
    bench_decode("tests/fixtures/images/png_rgb_odd.png", 200);
    return 0;
}
