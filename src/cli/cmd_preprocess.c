/* modx preprocess IMAGE --size S --out FILE.safetensors [--background R,G,B]
 * Decodes one image, resizes its shorter side to S (Pillow bicubic), centre
 * crops S×S, normalises with the CLIP mean/std and writes the 3×S×S float32
 * tensor "pixels" (CHW). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "data/image.h"
#include "data/resize.h"
#include "io/safetensors.h"

static const char PREPROCESS_USAGE[] =
    "usage: modx preprocess IMAGE --size S --out FILE.safetensors [--background R,G,B]\n"
    "                       [--max-image-pixels N]\n"
    "\n"
    "Decodes IMAGE (JPEG or PNG, detected from its bytes), resizes the shorter side\n"
    "to S with Pillow-exact bicubic interpolation, centre crops S x S, normalises with\n"
    "the CLIP mean/std and writes the float32 tensor 'pixels' of shape [3, S, S].\n"
    "\n"
    "  --size S              output side, 1..4096 (224 for ViT-B/32; required)\n"
    "  --out FILE            safetensors file to write (required)\n"
    "  --background R,G,B    colour under transparent pixels (default 255,255,255)\n"
    "  --max-image-pixels N  refuse an image whose header declares more than N pixels\n"
    "                        (default 67108864 = 8192^2, at most 268435456)\n";

/* Parses "R,G,B" with each part an integer in [0, 255]. */
static int preprocess_parse_rgb(const char *text, uint8_t rgb[3]) {
    const char *p = text;
    for (int c = 0; c < 3; c++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 255 || *end != (c < 2 ? ',' : '\0')) return 0;
        rgb[c] = (uint8_t)v;
        p = end + 1;
    }
    return 1;
}

MODX_COMMAND(preprocess, "preprocess", "decode, resize, crop and normalise one image to a safetensors tensor") {
    if (cli_wants_help(argc, argv)) {
        fputs(PREPROCESS_USAGE, stdout);
        return 0;
    }
    CliOpt opts[] = {{"--size", 1, NULL}, {"--out", 1, NULL}, {"--background", 1, NULL}, {"--max-image-pixels", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, opts, 4, pos, 1, &npos)) return 2;
    if (npos != 1 || !opts[0].value || !opts[1].value) {
        fprintf(stderr, "modx preprocess: expected IMAGE, --size and --out\n%s", PREPROCESS_USAGE);
        return 2;
    }
    long size;
    if (cli_int("preprocess", "--size", opts[0].value, 1, RESIZE_MAX_SIZE, &size)) return 2;
    long max_pixels = 0; /* 0: IMAGE_DEFAULT_MAX_PIXELS */
    if (opts[3].value && cli_int("preprocess", "--max-image-pixels", opts[3].value, 1, IMAGE_MAX_PIXELS, &max_pixels))
        return 2;
    uint8_t bg[3] = {IMAGE_DEFAULT_BACKGROUND[0], IMAGE_DEFAULT_BACKGROUND[1], IMAGE_DEFAULT_BACKGROUND[2]};
    if (opts[2].value && !preprocess_parse_rgb(opts[2].value, bg)) {
        fprintf(stderr, "modx preprocess: --background expects R,G,B with each in [0, 255], got '%s'\n",
                opts[2].value);
        return 2;
    }
    float *chw = malloc((size_t)3 * size * size * sizeof *chw);
    if (!chw) {
        fprintf(stderr, "modx preprocess: out of memory for a %ldx%ld tensor\n", size, size);
        return 1;
    }
    SafeTensorsWriter *w = NULL;
    int64_t shape[3] = {3, size, size};
    char size_text[32];
    snprintf(size_text, sizeof size_text, "%ld", size);
    ModxStatus st = image_preprocess_file(pos[0], (int)size, bg, (uint64_t)max_pixels, chw);
    if (st == MODX_OK) st = safetensors_writer_new(&w);
    if (st == MODX_OK) st = safetensors_writer_add(w, "pixels", ST_F32, 3, shape, chw);
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "source", pos[0]);
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "image_size", size_text);
    if (st == MODX_OK) st = safetensors_writer_save(w, opts[1].value);
    if (w) safetensors_writer_free(w);
    free(chw);
    if (st != MODX_OK) return cli_report_error("preprocess");
    return 0;
}
