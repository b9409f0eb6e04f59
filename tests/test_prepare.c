/* data_prepare: the cache holds exactly image_load + image_resize_crop pixels and
 * bpe_encode ids of the fixture dataset; skip_bad drops an unreadable image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/prepare.h"
#include "harness.h"
#include "tok/bpe.h"

#define PREP_VOCAB "data/bpe_simple_vocab_16e6.txt.gz"

TEST(data_prepare_matches_decode_and_tokenize) {
    Dataset ds;
    dataset_init(&ds);
    EXPECT(dataset_read_manifest(&ds, "tests/fixtures/data/manifest.jsonl", NULL) == MODX_OK, "%s", modx_last_error());
    char path[512];
    snprintf(path, sizeof path, "%s/prep.cache", harness_tmpdir());
    PrepareOptions po = {.vocab_path = PREP_VOCAB, .image_size = 5, .context = 12};
    PrepareReport rep;
    EXPECT(data_prepare(&ds, &po, path, &rep) == MODX_OK, "%s", modx_last_error());
    EXPECT(rep.n_images == 6 && rep.n_captions == 12 && rep.n_skipped == 0, "report %zu %zu", rep.n_images, rep.n_captions);
    Cache *c;
    EXPECT(cache_open(&c, path, 1) == MODX_OK, "%s", modx_last_error());
    uint32_t crc;
    EXPECT(cache_file_crc32(PREP_VOCAB, &crc) == MODX_OK && cache_check_compat(c, "prep", 5, 12, crc) == MODX_OK, "%s",
           modx_last_error());
    Bpe *bpe;
    EXPECT(bpe_load(&bpe, PREP_VOCAB) == MODX_OK, "%s", modx_last_error());
    for (size_t i = 0; i < ds.n_images; i++) {
        Image img;
        uint8_t want[5 * 5 * 3];
        EXPECT(image_load(&img, ds.images[i].path, NULL) == MODX_OK, "%s", modx_last_error());
        EXPECT(image_resize_crop(&img, 5, want) == MODX_OK, "%s", modx_last_error());
        image_free(&img);
        EXPECT(!memcmp(cache_image_pixels(c, i), want, sizeof want), "image %zu pixels differ", i);
        EXPECT(c->image_domain[i] == ds.images[i].domain && c->image_split[i] == ds.images[i].split, "image %zu meta", i);
    }
    for (size_t k = 0; k < ds.n_captions; k++) {
        int32_t want[12];
        int used;
        EXPECT(bpe_encode(bpe, ds.captions[k].text, want, 12, &used) == MODX_OK, "%s", modx_last_error());
        EXPECT(!memcmp(cache_caption_tokens(c, k), want, sizeof want), "caption %zu tokens differ", k);
        EXPECT(!strcmp(cache_caption_text(c, k, NULL), ds.captions[k].text), "caption %zu text", k);
        EXPECT(c->caption_image[k] == ds.captions[k].image, "caption %zu image", k);
    }
    bpe_free(bpe);
    cache_close(c);
    prepare_report_free(&rep);
    /* An unreadable image: an error naming it, or with skip_bad a compacted cache without it. */
    free(ds.images[2].path);
    ds.images[2].path = strdup("tests/fixtures/data/images/missing.png");
    EXPECT(data_prepare(&ds, &po, path, &rep) != MODX_OK && strstr(modx_last_error(), "missing.png"), "%s", modx_last_error());
    prepare_report_free(&rep);
    po.skip_bad = 1;
    EXPECT(data_prepare(&ds, &po, path, &rep) == MODX_OK, "%s", modx_last_error());
    EXPECT(rep.n_images == 5 && rep.n_captions == 11 && rep.n_skipped == 1 && strstr(rep.skipped[0], "missing.png"),
           "skip report %zu %zu %zu", rep.n_images, rep.n_captions, rep.n_skipped);
    EXPECT(cache_open(&c, path, 1) == MODX_OK, "%s", modx_last_error());
    EXPECT(c->caption_image[10] == 4 && !strcmp(cache_caption_text(c, 10, NULL), ds.captions[11].text), "compaction");
    cache_close(c);
    prepare_report_free(&rep);
    dataset_free(&ds);
}
