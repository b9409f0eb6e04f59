/* Dataset readers (manifest, Karpathy, COCO), their bad-input errors and skip
 * lists, the binary cache (round trip and corrupt files) and phase splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/phases.h"
#include "harness.h"

#define FIX "tests/fixtures/data/"

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

/* Parses a manifest text; returns the status and leaves the message readable. */
static ModxStatus manifest_text(Dataset *ds, const char *text, int skip_bad) {
    DatasetOptions o = {.skip_bad = skip_bad};
    dataset_init(ds);
    return dataset_parse_manifest(ds, text, strlen(text), "m.jsonl", "root", &o);
}

TEST(data_manifest_fixture) {
    Dataset ds;
    dataset_init(&ds);
    ModxStatus st = dataset_read_manifest(&ds, FIX "manifest.jsonl", NULL);
    EXPECT(st == MODX_OK, "read: %s", modx_last_error());
    EXPECT(ds.n_images == 6 && ds.n_captions == 12, "counts %zu images %zu captions", ds.n_images, ds.n_captions);
    EXPECT(!strcmp(ds.images[0].path, FIX "images/red.png"), "path %s", ds.images[0].path);
    EXPECT(ds.n_domains == 3 && !strcmp(ds.domains[0], "red") && !strcmp(ds.domains[2], "blue"), "domains");
    EXPECT(ds.images[3].domain == 0 && ds.images[4].domain == 1, "domain ids %u %u", ds.images[3].domain, ds.images[4].domain);
    EXPECT(ds.images[2].split == DATASET_SPLIT_VAL && ds.images[4].split == DATASET_SPLIT_RESTVAL, "splits");
    EXPECT(!strcmp(ds.captions[3].text, "green") && ds.captions[3].image == 1, "caption 3 '%s' -> %u", ds.captions[3].text,
           ds.captions[3].image);
    EXPECT(!strcmp(ds.captions[9].text, "caf\xc3\xa9 au lait grey \xe2\x98\x95"), "utf-8 caption '%s'", ds.captions[9].text);
    for (size_t i = 1; i < ds.n_captions; i++)
        EXPECT(ds.captions[i].image >= ds.captions[i - 1].image, "captions not grouped at %zu", i);
    EXPECT(ds.n_skipped == 0, "skipped %zu", ds.n_skipped);
    dataset_free(&ds);
    /* split selection */
    DatasetOptions o = {0};
    EXPECT(dataset_parse_splits("train+restval", &o.splits) == MODX_OK, "%s", modx_last_error());
    dataset_init(&ds);
    EXPECT(dataset_read_manifest(&ds, FIX "manifest.jsonl", &o) == MODX_OK, "%s", modx_last_error());
    EXPECT(ds.n_images == 4 && ds.n_filtered == 2, "train+restval kept %zu, filtered %zu", ds.n_images, ds.n_filtered);
    dataset_free(&ds);
}

TEST(data_manifest_bad_cases) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"image\": \"a.png\", \"captions\": [\"x\"]}\n{\"image\": \"b.png\", \"captions\": [\"y\"\n", "m.jsonl:2:"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\"]} trailing\n", "malformed JSON"},
        {"[1, 2]\n", "found an array"},
        {"{\"image\": 3, \"captions\": [\"x\"]}\n", "\"image\": expected a non-empty string"},
        {"{\"image\": \"\", \"captions\": [\"x\"]}\n", "\"image\": expected a non-empty string"},
        {"{\"image\": \"a.png\"}\n", "\"captions\": expected an array"},
        {"{\"image\": \"a.png\", \"captions\": \"x\"}\n", "\"captions\": expected an array"},
        {"{\"image\": \"a.png\", \"captions\": [7]}\n", "captions[0]: expected a string"},
        {"{\"image\": \"a.png\", \"captions\": [\"ok\", \"\"]}\n", "captions[1]: expected a non-empty caption"},
        {"{\"image\": \"a.png\", \"captions\": [\"   \"]}\n", "only whitespace"},
        {"{\"image\": \"a.png\", \"captions\": [\"bad \xff byte\"]}\n", "expected valid UTF-8 text, found a bad byte 0xff at byte 4"},
        {"{\"image\": \"a.png\", \"captions\": [\"\xed\xa0\x80 surrogate\"]}\n", "valid UTF-8"},
        {"{\"image\": \"a.png\", \"captions\": [\"\xc0\xaf overlong\"]}\n", "valid UTF-8"},
        {"{\"image\": \"a.png\", \"captions\": []}\n", "expected at least one caption, found an empty list"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\"], \"domain\": 4}\n", "\"domain\": expected"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\"], \"split\": \"dev\"}\n", "\"split\": expected"},
        {"{\"image\": \"a.png\", \"captions\": [\"a dog\\u0000 hidden\"]}\n",
         "found the escape \\u0000 (a NUL character, which a caption, path or name cannot hold) at column 39"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\"], \"domain\": \"d\\u0000x\"}\n", "found the escape \\u0000"},
        {"\n  \n", "found no items"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        Dataset ds;
        ModxStatus st = manifest_text(&ds, cases[k].text, 0);
        EXPECT(st == MODX_ERR_FORMAT, "case %zu: status %d", k, st);
        EXPECT(has(modx_last_error(), cases[k].want), "case %zu: message '%s' lacks '%s'", k, modx_last_error(), cases[k].want);
        if (k < 18) EXPECT(has(modx_last_error(), "m.jsonl:"), "case %zu: no file:line in '%s'", k, modx_last_error());
        dataset_free(&ds);
    }
}

/* Escapes cJSON would mishandle are named in the message, not "malformed JSON". */
TEST(data_manifest_bad_escapes_named) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"image\": \"a.png\", \"captions\": [\"x\\ud800y\"]}\n",
         "m.jsonl:1: expected one JSON object per line, found the escape \\ud800, a lone UTF-16 high surrogate"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\\uDC00\"]}\n", "the escape \\uDC00, a lone UTF-16 low surrogate"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\\ud83d\\u0041\"]}\n", "the escape \\ud83d, a lone UTF-16 high"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\\ud83d\"]}\n", "at column 35"},
        {"{\"image\": \"a.png\", \"captions\": [\"x\\u0000\"]}\n", "found the escape \\u0000 (a NUL character"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        Dataset ds;
        ModxStatus st = manifest_text(&ds, cases[k].text, 0);
        EXPECT(st == MODX_ERR_FORMAT, "case %zu: status %d", k, st);
        EXPECT(has(modx_last_error(), cases[k].want), "case %zu: message '%s' lacks '%s'", k, modx_last_error(), cases[k].want);
        dataset_free(&ds);
    }
    /* a surrogate pair is a character: U+1F600 */
    Dataset ds;
    EXPECT(manifest_text(&ds, "{\"image\": \"a.png\", \"captions\": [\"smile \\ud83d\\ude00\"]}\n", 0) == MODX_OK, "%s",
           modx_last_error());
    EXPECT(ds.n_captions == 1 && has(ds.captions[0].text, "smile \xf0\x9f\x98\x80"), "caption '%s'", ds.captions[0].text);
    dataset_free(&ds);
}

TEST(data_manifest_skip_bad_report) {
    Dataset ds;
    dataset_init(&ds);
    DatasetOptions o = {.skip_bad = 1};
    EXPECT(dataset_read_manifest(&ds, FIX "manifest_bad.jsonl", &o) == MODX_OK, "%s", modx_last_error());
    /* line 1 ok, line 2 keeps one caption, lines 3-5 bad, line 6 ok */
    EXPECT(ds.n_images == 3 && ds.n_captions == 5, "kept %zu images %zu captions", ds.n_images, ds.n_captions);
    EXPECT(ds.n_skipped == 4, "skipped %zu", ds.n_skipped);
    EXPECT(has(ds.skipped[0], "manifest_bad.jsonl:2: captions[1]"), "skip 0: %s", ds.skipped[0]);
    EXPECT(has(ds.skipped[1], "manifest_bad.jsonl:3: expected one JSON object per line"), "skip 1: %s", ds.skipped[1]);
    EXPECT(has(ds.skipped[2], ":4: \"image\""), "skip 2: %s", ds.skipped[2]);
    EXPECT(has(ds.skipped[3], ":5: image 'images/grey.png': expected at least one caption"), "skip 3: %s", ds.skipped[3]);
    dataset_free(&ds);
    /* without skip_bad the first bad line fails, and the hint names the option */
    dataset_init(&ds);
    EXPECT(dataset_read_manifest(&ds, FIX "manifest_bad.jsonl", NULL) == MODX_ERR_FORMAT, "bad manifest accepted");
    EXPECT(has(modx_last_error(), "manifest_bad.jsonl:2: captions[1]") && has(modx_last_error(), "skip-bad"), "%s",
           modx_last_error());
    dataset_free(&ds);
    /* every line bad → error even with skip_bad */
    EXPECT(manifest_text(&ds, "{}\n[]\n", 1) == MODX_ERR_FORMAT && has(modx_last_error(), "no usable item"), "%s",
           modx_last_error());
    dataset_free(&ds);
}

TEST(data_file_level_errors) {
    Dataset ds;
    dataset_init(&ds);
    EXPECT(dataset_read_manifest(&ds, FIX "no_such.jsonl", NULL) == MODX_ERR_IO, "missing file");
    EXPECT(has(modx_last_error(), "no_such.jsonl: cannot open"), "%s", modx_last_error());
    EXPECT(dataset_read_coco(&ds, FIX "images", "", NULL) == MODX_ERR_IO, "directory accepted");
    EXPECT(has(modx_last_error(), "images"), "%s", modx_last_error());
    EXPECT(dataset_read_karpathy(&ds, FIX "malformed.json", "", NULL) == MODX_ERR_FORMAT, "malformed accepted");
    EXPECT(has(modx_last_error(), "malformed.json:1:37: expected a JSON document"), "%s", modx_last_error());
    const char *notk = "{\"images\": 4}";
    EXPECT(dataset_parse_karpathy(&ds, notk, strlen(notk), "k.json", "", NULL) == MODX_ERR_FORMAT, "wrong type");
    EXPECT(has(modx_last_error(), "no \"images\" array"), "%s", modx_last_error());
    const char *notc = "{\"images\": []}";
    EXPECT(dataset_parse_coco(&ds, notc, strlen(notc), "c.json", "", NULL) == MODX_ERR_FORMAT, "wrong type");
    EXPECT(has(modx_last_error(), "no \"annotations\" array"), "%s", modx_last_error());
    dataset_free(&ds);
}

TEST(data_karpathy_fixtures) {
    Dataset ds;
    DatasetOptions o = {0};
    EXPECT(dataset_parse_splits("train+restval", &o.splits) == MODX_OK, "%s", modx_last_error());
    dataset_init(&ds);
    EXPECT(dataset_read_karpathy(&ds, FIX "dataset_coco.json", "/data/coco", &o) == MODX_OK, "%s", modx_last_error());
    EXPECT(ds.n_images == 4 && ds.n_captions == 9 && ds.n_filtered == 2, "coco: %zu images %zu captions %zu filtered",
           ds.n_images, ds.n_captions, ds.n_filtered);
    EXPECT(!strcmp(ds.images[0].path, "/data/coco/train2014/red.png"), "path %s", ds.images[0].path);
    EXPECT(ds.images[2].split == DATASET_SPLIT_RESTVAL && !strcmp(ds.images[2].path, "/data/coco/train2014/grey.png"),
           "image 2 %s", ds.images[2].path);
    EXPECT(ds.n_domains == 1 && !strcmp(ds.domains[0], "coco"), "domain %s", ds.domains[0]);
    dataset_free(&ds);
    o.splits = 1u << DATASET_SPLIT_TEST;
    o.domain = "f30k";
    dataset_init(&ds);
    EXPECT(dataset_read_karpathy(&ds, FIX "dataset_flickr30k.json", "imgs/", &o) == MODX_OK, "%s", modx_last_error());
    EXPECT(ds.n_images == 1 && ds.n_captions == 2, "flickr test %zu %zu", ds.n_images, ds.n_captions);
    EXPECT(!strcmp(ds.images[0].path, "imgs/half.png") && !strcmp(ds.domains[0], "f30k"), "%s", ds.images[0].path);
    EXPECT(!strcmp(ds.captions[1].text, "yellow see-through tile"), "%s", ds.captions[1].text);
    dataset_free(&ds);
    unsigned m;
    EXPECT(dataset_parse_splits("train+dev", &m) == MODX_ERR_INVALID && has(modx_last_error(), "'dev'"), "%s",
           modx_last_error());
}

TEST(data_karpathy_bad_cases) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"images\": [7]}", "images[0]: expected an object"},
        {"{\"images\": [{\"split\": \"train\", \"sentences\": [{\"raw\": \"x\"}]}]}", "images[0]: \"filename\""},
        {"{\"images\": [{\"filename\": \"a\", \"filepath\": 1, \"split\": \"train\", \"sentences\": []}]}", "\"filepath\""},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"dev\", \"sentences\": [{\"raw\": \"x\"}]}]}", "\"split\": expected"},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"test\", \"sentences\": {}}]}", "\"sentences\": expected an array"},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"test\", \"sentences\": [{\"tokens\": []}]}]}", "sentences[0]: expected an object with a string \"raw\""},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"test\", \"sentences\": [{\"raw\": \"\"}]}]}", "sentences[0]: expected a non-empty caption"},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"test\", \"sentences\": [{\"raw\": \"\\u00e9\xe9\"}]}]}", "valid UTF-8"},
        {"{\"images\": [{\"filename\": \"a\", \"split\": \"test\", \"sentences\": []}]}", "('a'): expected at least one caption"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        Dataset ds;
        dataset_init(&ds);
        ModxStatus st = dataset_parse_karpathy(&ds, cases[k].text, strlen(cases[k].text), "k.json", "", NULL);
        EXPECT(st == MODX_ERR_FORMAT, "case %zu: status %d", k, st);
        EXPECT(has(modx_last_error(), cases[k].want) && has(modx_last_error(), "k.json: images[0]"),
               "case %zu: message '%s' lacks '%s'", k, modx_last_error(), cases[k].want);
        dataset_free(&ds);
        /* with skip_bad, the single bad image leaves nothing: still an error, with the count */
        DatasetOptions o = {.skip_bad = 1};
        dataset_init(&ds);
        st = dataset_parse_karpathy(&ds, cases[k].text, strlen(cases[k].text), "k.json", "", &o);
        EXPECT(st == MODX_ERR_FORMAT && ds.n_skipped >= 1 && has(modx_last_error(), "no usable image"), "case %zu skip: %s",
               k, modx_last_error());
        dataset_free(&ds);
    }
}

TEST(data_coco_fixture) {
    Dataset ds;
    dataset_init(&ds);
    EXPECT(dataset_read_coco(&ds, FIX "captions_val.json", "root/val2014", NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(ds.n_images == 6 && ds.n_captions == 12, "%zu images %zu captions", ds.n_images, ds.n_captions);
    EXPECT(!strcmp(ds.images[1].path, "root/val2014/green.png"), "%s", ds.images[1].path);
    /* captions grouped by image in images[] order, each image's in annotation order */
    EXPECT(ds.captions[2].image == 1 && !strcmp(ds.captions[2].text, "a green rectangle"), "caption 2 %s",
           ds.captions[2].text);
    EXPECT(!strcmp(ds.captions[4].text, "something green and tall"), "caption 4 %s", ds.captions[4].text);
    EXPECT(ds.captions[11].image == 5 && !strcmp(ds.domains[0], "coco"), "last caption");
    dataset_free(&ds);
}

TEST(data_coco_bad_cases) {
    Dataset ds;
    dataset_init(&ds);
    EXPECT(dataset_read_coco(&ds, FIX "captions_bad.json", "", NULL) == MODX_ERR_FORMAT, "bad coco accepted");
    EXPECT(has(modx_last_error(), "captions_bad.json: images[2]: expected {\"id\""), "%s", modx_last_error());
    dataset_free(&ds);
    DatasetOptions o = {.skip_bad = 1};
    dataset_init(&ds);
    EXPECT(dataset_read_coco(&ds, FIX "captions_bad.json", "", &o) == MODX_OK, "%s", modx_last_error());
    /* kept: red with its one caption; skipped: images[2] (bad id), two annotations of images not listed, the
     * orphan, and green (no caption left) */
    EXPECT(ds.n_images == 1 && ds.n_captions == 1 && ds.n_skipped == 5, "%zu images %zu captions %zu skipped",
           ds.n_images, ds.n_captions, ds.n_skipped);
    EXPECT(has(ds.skipped[4], "images[1] ('green.png'): expected at least one caption"), "%s", ds.skipped[4]);
    dataset_free(&ds);
    struct {
        const char *text, *want;
    } cases[] = {
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 2, \"caption\": \"x\"}]}",
         "annotations[0]: image_id 2: expected the id of an entry of \"images\", found no such image"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 1, \"caption\": 5}]}",
         "annotations[0]: expected \"caption\": a string"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 1.5, \"caption\": \"x\"}]}",
         "annotations[0]: expected \"image_id\""},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 1, \"caption\": \"\"}]}",
         "annotations[0]: expected a non-empty caption"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 1, \"caption\": \"\xe2\x82\"}]}",
         "annotations[0]: expected valid UTF-8"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}, {\"id\": 2, \"file_name\": \"b\"}], \"annotations\": "
         "[{\"image_id\": 1, \"caption\": \"x\"}]}",
         "images[1] ('b'): expected at least one caption"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a\"}, {\"id\": 1, \"file_name\": \"b\"}], \"annotations\": []}",
         "images[1]: id 1: expected unique image ids"},
        {"{\"images\": [{\"id\": -1, \"file_name\": \"a\"}], \"annotations\": []}", "images[0]: expected {\"id\""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        dataset_init(&ds);
        ModxStatus st = dataset_parse_coco(&ds, cases[k].text, strlen(cases[k].text), "c.json", "", NULL);
        EXPECT(st == MODX_ERR_FORMAT, "case %zu: status %d", k, st);
        EXPECT(has(modx_last_error(), cases[k].want), "case %zu: '%s' lacks '%s'", k, modx_last_error(), cases[k].want);
        dataset_free(&ds);
    }
    /* skip_bad keeps the good image and lists the unknown-id annotation */
    const char *mixed = "{\"images\": [{\"id\": 1, \"file_name\": \"a\"}], \"annotations\": [{\"image_id\": 1, \"caption\": "
                        "\"good\"}, {\"image_id\": 9, \"caption\": \"orphan\"}]}";
    dataset_init(&ds);
    EXPECT(dataset_parse_coco(&ds, mixed, strlen(mixed), "c.json", "", &o) == MODX_OK, "%s", modx_last_error());
    EXPECT(ds.n_images == 1 && ds.n_captions == 1 && ds.n_skipped == 1 && has(ds.skipped[0], "annotations[1]: image_id 9"),
           "%zu %zu %zu", ds.n_images, ds.n_captions, ds.n_skipped);
    dataset_free(&ds);
}

TEST(data_utf8_validator) {
    size_t at = 99;
    EXPECT(utf8_valid("abc \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 15, &at), "valid rejected");
    EXPECT(!utf8_valid("ab\x80", 3, &at) && at == 2, "lone continuation at %zu", at);
    EXPECT(!utf8_valid("\xe2\x82", 2, &at) && at == 0, "truncated sequence");
    EXPECT(!utf8_valid("\xf4\x90\x80\x80", 4, &at), "above U+10FFFF");
    EXPECT(!utf8_valid("\xe0\x80\xaf", 3, &at), "overlong 3-byte");
    EXPECT(!utf8_valid("\xf8\x88\x80\x80\x80", 5, &at), "5-byte form");
}

/* ------------------------------------------------------------------ cache */

typedef struct {
    uint8_t *pixels;
    int32_t tokens[5 * 4];
    uint32_t cap_img[5];
    uint32_t img_dom[3];
    uint8_t img_split[3];
    const char *names[2];
    const char *texts[5];
    CacheMeta meta;
} SynthCache;

static void synth(SynthCache *s) {
    memset(s, 0, sizeof *s);
    int S = 4;
    s->pixels = malloc(3 * S * S * 3);
    for (int i = 0; i < 3 * S * S * 3; i++) s->pixels[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < 20; i++) s->tokens[i] = (i % 4 == 3) ? 0 : (i * 13) % 50;
    uint32_t ci[5] = {0, 0, 1, 2, 2}, dm[3] = {0, 1, 1};
    uint8_t sp[3] = {1, 1, 3};
    memcpy(s->cap_img, ci, sizeof ci);
    memcpy(s->img_dom, dm, sizeof dm);
    memcpy(s->img_split, sp, sizeof sp);
    s->names[0] = "apple";
    s->names[1] = "google";
    const char *t[5] = {"one", "two", "three \xe2\x98\x95", "four", "five"};
    memcpy(s->texts, t, sizeof t);
    s->meta = (CacheMeta){.n_images = 3, .n_captions = 5, .image_size = S, .context = 4, .vocab_size = 50,
                          .vocab_crc = 0xdeadbeef, .tokens = s->tokens, .caption_image = s->cap_img,
                          .image_domain = s->img_dom, .image_split = s->img_split, .domain_names = s->names,
                          .n_domains = 2, .caption_texts = s->texts};
}

static char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", harness_tmpdir(), name);
    return buf[k];
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 8);
    if (fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

TEST(data_cache_round_trip) {
    SynthCache s;
    synth(&s);
    char *path = tmp_path("rt.cache");
    EXPECT(cache_write(path, s.pixels, &s.meta) == MODX_OK, "%s", modx_last_error());
    Cache *c;
    EXPECT(cache_open(&c, path, 1) == MODX_OK, "%s", modx_last_error());
    EXPECT(c->n_images == 3 && c->n_captions == 5 && c->n_domains == 2 && c->image_size == 4 && c->context == 4 &&
               c->vocab_size == 50 && c->vocab_crc == 0xdeadbeef,
           "header values");
    EXPECT(!memcmp(c->pixels, s.pixels, 3 * 4 * 4 * 3), "pixels differ");
    EXPECT(!memcmp(c->tokens, s.tokens, sizeof s.tokens), "tokens differ");
    EXPECT(!memcmp(c->caption_image, s.cap_img, sizeof s.cap_img) && !memcmp(c->image_domain, s.img_dom, sizeof s.img_dom) &&
               !memcmp(c->image_split, s.img_split, 3),
           "maps differ");
    EXPECT(!strcmp(c->domain_names[1], "google"), "domain %s", c->domain_names[1]);
    size_t len;
    const char *t = cache_caption_text(c, 2, &len);
    EXPECT(!strcmp(t, "three \xe2\x98\x95") && len == 9, "text '%s' len %zu", t, len);
    EXPECT(cache_image_pixels(c, 2)[0] == s.pixels[2 * 48], "image 2 pixel");
    EXPECT(cache_caption_tokens(c, 4)[1] == s.tokens[17], "caption 4 token");
    EXPECT(cache_check_compat(c, "rt", 4, 4, 0xdeadbeef) == MODX_OK, "%s", modx_last_error());
    EXPECT(cache_check_compat(c, "rt", 8, 4, 0xdeadbeef) == MODX_ERR_INVALID && has(modx_last_error(), "--size 8"), "%s",
           modx_last_error());
    EXPECT(cache_check_compat(c, "rt", 4, 4, 1) == MODX_ERR_INVALID && has(modx_last_error(), "vocab CRC"), "%s",
           modx_last_error());
    cache_close(c);
    /* The writer leaves no temporary file and writes identical bytes twice. */
    size_t n1, n2;
    uint8_t *a = slurp(path, &n1);
    EXPECT(cache_write(path, s.pixels, &s.meta) == MODX_OK, "%s", modx_last_error());
    uint8_t *b = slurp(path, &n2);
    EXPECT(a && b && n1 == n2 && !memcmp(a, b, n1), "rewrite differs (%zu vs %zu bytes)", n1, n2);
    free(a);
    free(b);
    free(s.pixels);
}

TEST(data_cache_writer_keeps_prefix) {
    /* Room for 5 images, only 3 kept (skipped decodes): the file equals one written for 3. */
    SynthCache s;
    synth(&s);
    CacheWriter *w;
    char *p1 = tmp_path("w5.cache"), *p2 = tmp_path("w3.cache");
    EXPECT(cache_writer_open(&w, p1, 5, 4) == MODX_OK, "%s", modx_last_error());
    uint8_t *px = cache_writer_pixels(w);
    memset(px, 0xAB, 5 * 48);
    memcpy(px, s.pixels, 3 * 48);
    EXPECT(cache_writer_finish(w, &s.meta) == MODX_OK, "%s", modx_last_error());
    EXPECT(cache_write(p2, s.pixels, &s.meta) == MODX_OK, "%s", modx_last_error());
    size_t n1, n2;
    uint8_t *a = slurp(p1, &n1), *b = slurp(p2, &n2);
    EXPECT(a && b && n1 == n2 && !memcmp(a, b, n1), "prefix writer differs");
    free(a);
    free(b);
    free(s.pixels);
}

/* Rewrites the header CRC after a deliberate edit so the check under test is reached. */
static void fix_header_crc(uint8_t *f);

TEST(data_cache_corrupt) {
    SynthCache s;
    synth(&s);
    char *path = tmp_path("c.cache");
    EXPECT(cache_write(path, s.pixels, &s.meta) == MODX_OK, "%s", modx_last_error());
    size_t n;
    uint8_t *orig = slurp(path, &n);
    EXPECT(orig != NULL, "read back");
    uint64_t *buf64 = malloc(n + 64);
    uint8_t *buf = (uint8_t *)buf64;
    Cache *c = NULL;
    /* truncated at every length up to the full size: always an error, never a crash */
    for (size_t len = 0; len < n; len += (len < 300 ? 1 : 7)) {
        memcpy(buf, orig, len);
        EXPECT(cache_open_mem(&c, buf, len, "t", 1) == MODX_ERR_FORMAT && !c, "truncated to %zu accepted", len);
    }
    memcpy(buf, orig, n);
    EXPECT(cache_open_mem(&c, buf, n, "t", 1) == MODX_OK, "%s", modx_last_error());
    cache_close(c);
    /* truncated file on disk */
    FILE *f = fopen(path, "wb");
    fwrite(orig, 1, n - 10, f);
    fclose(f);
    EXPECT(cache_open(&c, path, 1) == MODX_ERR_FORMAT && has(modx_last_error(), "truncated"), "%s", modx_last_error());
    struct {
        size_t off;
        uint8_t val;
        int fix_crc;
        const char *want;
    } cases[] = {
        {0, 'X', 0, "bad magic"},
        {8, 2, 1, "version: expected 1, found 3"},
        {20, 1, 0, "header checksum"},
        {23, 0x40, 1, "n_images"},                     /* 2^62 + 3 images */
        {31, 0x20, 1, "n_captions"},                   /* huge caption count */
        {16, 200, 1, "expected"},                      /* image count vs section sizes */
        {40, 0xff, 1, "section pixels: expected"},     /* image size 255 */
        {64 + 24 + 15, 0x10, 1, "section tokens"},     /* token section size overflowing the file */
        {64 + 24 * 2, 0x01, 1, "64-byte aligned"},     /* misaligned offset */
        {256 + 5, 0, 0, "section pixels: checksum"},   /* flipped pixel byte */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(buf, orig, n);
        buf[cases[k].off] = (uint8_t)(buf[cases[k].off] ^ (cases[k].val ? cases[k].val : 0x5A));
        if (cases[k].fix_crc) fix_header_crc(buf);
        ModxStatus st = cache_open_mem(&c, buf, n, "t.cache", 1);
        EXPECT(st == MODX_ERR_FORMAT && !c, "case %zu accepted", k);
        EXPECT(has(modx_last_error(), cases[k].want), "case %zu: '%s' lacks '%s'", k, modx_last_error(), cases[k].want);
    }
    /* Bad values inside sections (with correct CRCs, so the structural checks must catch them). */
    Cache *ok;
    memcpy(buf, orig, n);
    EXPECT(cache_open_mem(&ok, buf, n, "t", 0) == MODX_OK, "%s", modx_last_error());
    size_t tok_off = (size_t)((const uint8_t *)ok->tokens - buf), ci_off = (size_t)((const uint8_t *)ok->caption_image - buf);
    size_t dom_off = (size_t)((const uint8_t *)ok->image_domain - buf);
    cache_close(ok);
    struct {
        size_t off;
        uint32_t val;
        const char *want;
    } vals[] = {{tok_off + 4, 50, "expected ids in [0, 50)"},
                {tok_off, 0xffffffffu, "found -1"},
                {ci_off + 8, 3, "caption 2: image index 3"},
                {dom_off + 4, 2, "image 1: domain 2"}};
    for (size_t k = 0; k < sizeof vals / sizeof *vals; k++) {
        memcpy(buf, orig, n);
        memcpy(buf + vals[k].off, &vals[k].val, 4);
        EXPECT(cache_open_mem(&c, buf, n, "t", 0) == MODX_ERR_FORMAT, "value case %zu accepted", k);
        EXPECT(has(modx_last_error(), vals[k].want), "value case %zu: '%s'", k, modx_last_error());
    }
    free(buf64);
    free(orig);
    free(s.pixels);
}

#include <zlib.h>
static void fix_header_crc(uint8_t *f) {
    memset(f + 60, 0, 4);
    uint32_t crc = (uint32_t)crc32(0L, f, 256);
    for (int i = 0; i < 4; i++) f[60 + i] = (uint8_t)(crc >> (8 * i));
}

/* ----------------------------------------------------------------- phases */

TEST(data_phases_contiguous_and_random) {
    uint32_t img[11];
    for (int i = 0; i < 11; i++) img[i] = (uint32_t)(100 + i);
    PhaseStream ps;
    EXPECT(phases_split(&ps, img, 11, PHASES_CONTIGUOUS, 3, 0, NULL, NULL, 0, NULL, 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(ps.n_phases == 3 && ps.phases[0].n_images == 4 && ps.phases[1].n_images == 4 && ps.phases[2].n_images == 3,
           "sizes %zu %zu %zu", ps.phases[0].n_images, ps.phases[1].n_images, ps.phases[2].n_images);
    EXPECT(ps.phases[1].images[0] == 104 && ps.phases[2].images[2] == 110 && !strcmp(ps.phases[2].name, "phase3"),
           "contents");
    phases_free(&ps);
    PhaseStream r1, r2, r3;
    EXPECT(phases_split(&r1, img, 11, PHASES_RANDOM, 5, 42, NULL, NULL, 0, NULL, 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(phases_split(&r2, img, 11, PHASES_RANDOM, 5, 42, NULL, NULL, 0, NULL, 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(phases_split(&r3, img, 11, PHASES_RANDOM, 5, 43, NULL, NULL, 0, NULL, 0) == MODX_OK, "%s", modx_last_error());
    int seen[11] = {0}, same = 1, differs = 0;
    for (size_t k = 0; k < 5; k++) {
        EXPECT(r1.phases[k].n_images == (k == 0 ? 3u : 2u), "random phase %zu size %zu", k, r1.phases[k].n_images);
        for (size_t i = 0; i < r1.phases[k].n_images; i++) {
            seen[r1.phases[k].images[i] - 100]++;
            same &= r1.phases[k].images[i] == r2.phases[k].images[i];
            differs |= r1.phases[k].images[i] != r3.phases[k].images[i];
            if (i) EXPECT(r1.phases[k].images[i] > r1.phases[k].images[i - 1], "phase not sorted");
        }
    }
    for (int i = 0; i < 11; i++) EXPECT(seen[i] == 1, "image %d seen %d times", i, seen[i]);
    EXPECT(same && differs, "same seed must repeat, another seed must differ (same=%d differs=%d)", same, differs);
    phases_free(&r1);
    phases_free(&r2);
    phases_free(&r3);
    EXPECT(phases_split(&ps, img, 11, PHASES_CONTIGUOUS, 12, 0, NULL, NULL, 0, NULL, 0) == MODX_ERR_INVALID &&
               has(modx_last_error(), "12 phases asked for 11 images"),
           "%s", modx_last_error());
    EXPECT(phases_split(&ps, img, 11, PHASES_RANDOM, 0, 0, NULL, NULL, 0, NULL, 0) == MODX_ERR_INVALID, "0 phases");
    PhaseMode m;
    EXPECT(phases_parse_mode("domain", &m) == MODX_OK && m == PHASES_DOMAIN, "parse");
    EXPECT(phases_parse_mode("byvendor", &m) == MODX_ERR_INVALID && has(modx_last_error(), "'byvendor'"), "parse bad");
}

TEST(data_phases_domain) {
    uint32_t dom[8] = {2, 0, 2, 1, 0, 2, 2, 0};
    const char *names[4] = {"apple", "google", "twitter", "facebook"};
    uint32_t img[6] = {0, 1, 2, 4, 5, 7}; /* image 3 (google) and 6 left out */
    PhaseStream ps;
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 0, 0, dom, names, 4, NULL, 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(ps.n_phases == 2 && !strcmp(ps.phases[0].name, "apple") && !strcmp(ps.phases[1].name, "twitter"), "phases %zu",
           ps.n_phases);
    EXPECT(ps.phases[0].n_images == 3 && ps.phases[0].images[2] == 7 && ps.phases[1].images[1] == 2, "apple contents");
    phases_free(&ps);
    const char *order[2] = {"twitter", "apple"};
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 2, 0, dom, names, 4, order, 2) == MODX_OK, "%s", modx_last_error());
    EXPECT(!strcmp(ps.phases[0].name, "twitter") && ps.phases[0].n_images == 3, "ordered");
    phases_free(&ps);
    const char *bad[1] = {"google"};
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 0, 0, dom, names, 4, bad, 1) == MODX_ERR_INVALID &&
               has(modx_last_error(), "'google' has no image"),
           "%s", modx_last_error());
    const char *partial[1] = {"twitter"}; /* apple's 3 images would be in no phase */
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 0, 0, dom, names, 4, partial, 1) == MODX_ERR_INVALID &&
               has(modx_last_error(), "'apple' (3 images) is not named"),
           "%s", modx_last_error());
    const char *unknown[1] = {"nokia"};
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 0, 0, dom, names, 4, unknown, 1) == MODX_ERR_INVALID &&
               has(modx_last_error(), "'nokia' is not in the data"),
           "%s", modx_last_error());
    EXPECT(phases_split(&ps, img, 6, PHASES_DOMAIN, 3, 0, dom, names, 4, NULL, 0) == MODX_ERR_INVALID &&
               has(modx_last_error(), "3 phases asked"),
           "%s", modx_last_error());
}

/* A mistyped key is refused, naming the line, the key and the closest known one;
 * with --skip-bad the line is left out and counted. */
TEST(data_manifest_unknown_keys_named) {
    Dataset ds;
    ModxStatus st = manifest_text(&ds, "{\"image\": \"a.png\", \"captions\": [\"a cat\"], \"domian\": \"x\"}\n", 0);
    EXPECT(st != MODX_OK && strstr(modx_last_error(), "m.jsonl:1") && strstr(modx_last_error(), "unknown key \"domian\"") &&
               strstr(modx_last_error(), "did you mean \"domain\""),
           "status %d: %s", st, modx_last_error());
    dataset_free(&ds);
    st = manifest_text(&ds, "{\"image\": \"a.png\", \"caption\": [\"a cat\"]}\n", 0);
    EXPECT(st != MODX_OK && strstr(modx_last_error(), "did you mean \"captions\""), "%s", modx_last_error());
    dataset_free(&ds);
    st = manifest_text(&ds, "{\"image\": \"a.png\", \"captions\": [\"a cat\"], \"zzzzzzzz\": 1}\n"
                            "{\"image\": \"b.png\", \"captions\": [\"a dog\"]}\n", 1);
    EXPECT(st == MODX_OK && ds.n_images == 1 && ds.n_skipped == 1, "skip-bad: status %d, %zu images, %zu skipped", st,
           ds.n_images, ds.n_skipped);
    dataset_free(&ds);
}
