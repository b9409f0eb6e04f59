/* Image selection (data/selection.h): splits × domains in cache order, the
 * seeded sample (the exact random stream the run driver has always used), and
 * the errors: an unknown domain lists the domains, an empty selection names the
 * splits searched and the splits and domains present. Also the format registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/cache.h"
#include "data/formats.h"
#include "data/selection.h"
#include "harness.h"

enum { SN = 20, SS = 2, ST = 4 };

/* 20 images; domain i % 3 of {red, green, blue}; split train for i < 14, test after. */
static Cache *selection_cache(void) {
    static uint8_t pixels[SN * SS * SS * 3];
    static int32_t tokens[SN * ST];
    static uint32_t cap_img[SN], dom[SN];
    static uint8_t split[SN];
    static const char *texts[SN];
    const char *names[3] = {"red", "green", "blue"};
    for (uint32_t i = 0; i < SN; i++) {
        dom[i] = i % 3;
        split[i] = i < 14 ? 1 : 3;
        cap_img[i] = i;
        tokens[i * ST] = 1;
        texts[i] = "a caption";
    }
    CacheMeta meta = {.n_images = SN, .n_captions = SN, .image_size = SS, .context = ST, .vocab_size = 8,
                      .vocab_crc = 1, .tokens = tokens, .caption_image = cap_img, .image_domain = dom,
                      .image_split = split, .domain_names = names, .n_domains = 3, .caption_texts = texts};
    char path[512];
    snprintf(path, sizeof path, "%s/selection.cache", harness_tmpdir());
    Cache *c = NULL;
    if (cache_write(path, pixels, &meta) != MODX_OK || cache_open(&c, path, 1) != MODX_OK) return NULL;
    return c;
}

static int has(const char *s, const char *part) { return strstr(s, part) != NULL; }

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

TEST(selection_splits_domains_and_order) {
    Cache *c = selection_cache();
    EXPECT(c, "%s", modx_last_error());
    const char *doms[2] = {"blue", "red"};
    Selection s = {.splits = 1u << 1, .domains = doms, .n_domains = 2};
    uint32_t *img = NULL;
    size_t n = 0;
    EXPECT(selection_apply(c, &s, &img, &n) == MODX_OK, "%s", modx_last_error());
    /* train images (< 14) of red (0) or blue (2), in cache order whatever the name order */
    uint32_t want[] = {0, 2, 3, 5, 6, 8, 9, 11, 12};
    EXPECT(n == 9 && !memcmp(img, want, sizeof want), "got %zu images, first %u", n, n ? img[0] : 0);
    free(img);
    Selection all = {.splits = DATASET_SPLITS_ALL};
    EXPECT(selection_apply(c, &all, &img, &n) == MODX_OK && n == SN, "all: %zu", n);
    EXPECT(selection_any_in_domains(c, doms + 1, 1, img + 3, 1) == 1, "image 3 is red");
    EXPECT(selection_any_in_domains(c, doms, 1, img + 3, 1) == 0, "image 3 is not blue");
    free(img);
    cache_close(c);
}

TEST(selection_sample_is_the_seeded_stream) {
    Cache *c = selection_cache();
    EXPECT(c, "%s", modx_last_error());
    Selection s = {.splits = DATASET_SPLITS_ALL, .sample = 7, .seed = 3, .stream = 0x5a3d1e + 2};
    uint32_t *img = NULL;
    size_t n = 0;
    EXPECT(selection_apply(c, &s, &img, &n) == MODX_OK && n == 7, "%zu", n);
    /* the reference: shuffle all, keep the first 7, sort */
    uint32_t ref[SN];
    for (uint32_t i = 0; i < SN; i++) ref[i] = i;
    Rng g;
    rng_seed_stream(&g, 3, 0x5a3d1e + 2);
    rng_shuffle_u32(&g, ref, SN);
    qsort(ref, 7, sizeof *ref, u32_cmp);
    EXPECT(!memcmp(img, ref, 7 * sizeof *ref), "sample differs from the reference stream at %u", img[0]);
    free(img);
    s.sample = SN; /* not below the count: everything */
    EXPECT(selection_apply(c, &s, &img, &n) == MODX_OK && n == SN, "%zu", n);
    free(img);
    cache_close(c);
}

TEST(selection_errors_name_what_was_searched) {
    Cache *c = selection_cache();
    EXPECT(c, "%s", modx_last_error());
    const char *bad[1] = {"purple"};
    Selection s = {.splits = DATASET_SPLITS_ALL, .domains = bad, .n_domains = 1};
    uint32_t *img = NULL;
    size_t n = 0;
    EXPECT(selection_apply(c, &s, &img, &n) == MODX_ERR_INVALID && !img, "unknown domain accepted");
    EXPECT(has(modx_last_error(), "unknown domain 'purple' (the dataset has: red, green, blue)"), "%s", modx_last_error());
    const char *green[1] = {"green"};
    Selection e = {.splits = (1u << 2) | (1u << 4), .domains = green, .n_domains = 1};
    EXPECT(selection_apply(c, &e, &img, &n) == MODX_ERR_INVALID && !img, "empty selection accepted");
    EXPECT(has(modx_last_error(), "no image in split val+restval and domains green (the dataset has splits: train=14 "
                                  "test=6; domains: red, green, blue)"),
           "%s", modx_last_error());
    char buf[64] = "a,,b";
    const char *names[4];
    EXPECT(selection_parse_domain_list(buf, names, 4, &n) == MODX_ERR_INVALID, "empty name accepted");
    cache_close(c);
}

TEST(formats_registry_lists_and_refuses) {
    EXPECT(dataset_format_find("manifest") && dataset_format_find("coco") && dataset_format_find("karpathy"),
           "a format is missing");
    EXPECT(!dataset_format_find("parquet"), "unknown format found");
    EXPECT(has(modx_last_error(), "unknown dataset format 'parquet' (known: manifest, karpathy, coco"), "%s",
           modx_last_error());
    Dataset ds;
    dataset_init(&ds);
    const char *in[1] = {"x.json"};
    DatasetSource src = {.inputs = in, .n_inputs = 1};
    EXPECT(dataset_read_source(&ds, "coco", &src, NULL) == MODX_ERR_INVALID, "coco without --images accepted");
    EXPECT(has(modx_last_error(), "expected the image root"), "%s", modx_last_error());
    const char *two[2] = {"a.jsonl", "b.jsonl"};
    DatasetSource src2 = {.inputs = two, .n_inputs = 2};
    EXPECT(dataset_read_source(&ds, "manifest", &src2, NULL) == MODX_ERR_INVALID, "two manifests accepted");
    src.inputs = (const char *const[]){"tests/fixtures/data/manifest.jsonl"};
    EXPECT(dataset_read_source(&ds, "manifest", &src, NULL) == MODX_OK && ds.n_images > 0, "%s", modx_last_error());
    dataset_free(&ds);
}
