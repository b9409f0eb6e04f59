/* Probe pairs (src/eval/probe.h): selection rule and errors, encoding equals the
 * model's own forward on the selected image and caption, features files round
 * trip; the run-directory analysis (run_analyze) and report (report_run_write)
 * on a run whose probe features move by known rotations. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/run_analysis.h"
#include "clip/model.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/image.h"
#include "eval/encode.h"
#include "eval/probe.h"
#include "eval/zeroshot_run.h"
#include "harness.h"
#include "io/file.h"
#include "report/run_report.h"

/* N images, M captions; caption j belongs to image j % (N - 1): the last image has none. */
static ModxStatus probe_test_cache(Cache **c, const ClipConfig *cfg, const char *path, int N, int M) {
    int S = cfg->vision.image_size, T = cfg->text.context_length, V = cfg->text.vocab_size;
    uint8_t *pixels = malloc((size_t)N * S * S * 3);
    int32_t *tokens = calloc((size_t)M * T, sizeof *tokens);
    uint32_t *cap_img = calloc((size_t)M, sizeof *cap_img), *dom = calloc((size_t)N, sizeof *dom);
    uint8_t *split = calloc((size_t)N, 1);
    const char **texts = calloc((size_t)M, sizeof *texts);
    const char *names[1] = {"d"};
    Rng r;
    rng_seed(&r, 11);
    for (size_t i = 0; i < (size_t)N * S * S * 3; i++) pixels[i] = (uint8_t)rng_below(&r, 256);
    for (int j = 0; j < M; j++) {
        cap_img[j] = (uint32_t)(j % (N - 1));
        texts[j] = "caption";
        int len = 2 + (int)rng_below(&r, (uint64_t)(T - 1));
        tokens[(size_t)j * T] = V - 2;
        for (int t = 1; t < len - 1; t++) tokens[(size_t)j * T + t] = 1 + (int)rng_below(&r, (uint64_t)(V - 3));
        tokens[(size_t)j * T + len - 1] = V - 1;
    }
    CacheMeta meta = {(uint64_t)N, (uint64_t)M, S, T, V, 0, tokens, cap_img, dom, split, names, 1, texts};
    ModxStatus st = cache_write(path, pixels, &meta);
    if (!st) st = cache_open(c, path, 1);
    free(pixels), free(tokens), free(cap_img), free(dom), free(split), free(texts);
    return st;
}

TEST(probe_select_encode_and_save) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    EXPECT(!clip_config_load(&cfg, "configs/micro.json") && !clip_model_new(&m, &cfg), "%s", modx_last_error());
    clip_model_init(m, 3);
    enum { N = 9, M = 20 };
    char path[512];
    snprintf(path, sizeof path, "%s/probe.cache", harness_tmpdir());
    Cache *c = NULL;
    EXPECT(!probe_test_cache(&c, &cfg, path, N, M), "%s", modx_last_error());
    /* image i (< 8) has captions i, i + 8, i + 16: its first is i */
    uint32_t list[6] = {6, 2, 7, 0, 5, 8};
    ProbeSet ps;
    EXPECT(!probe_select(&ps, c, "probe.cache", list, 6, 4), "%s", modx_last_error());
    EXPECT(ps.n == 4, "n %d", ps.n);
    for (int i = 0; i < 4; i++)
        EXPECT(ps.images[i] == list[i] && ps.captions[i] == list[i], "pair %d: image %u caption %u", i, ps.images[i],
               ps.captions[i]);
    ProbeFeatures f;
    EXPECT(!probe_encode(&f, m, c, "probe.cache", &ps, 3), "%s", modx_last_error());
    EXPECT(f.n == 4 && f.e == cfg.embed_dim, "%d x %d", f.n, f.e);
    int S = cfg.vision.image_size, T = cfg.text.context_length, E = cfg.embed_dim;
    ClipActs *a = NULL;
    float *pix = malloc(sizeof(float) * 3 * S * S * 4), *fi = malloc(sizeof(float) * 4 * E),
          *ft = malloc(sizeof(float) * 4 * E);
    int32_t *tok = malloc(sizeof(int32_t) * 4 * T);
    EXPECT(!clip_acts_new(&a, &cfg, 4, 0), "%s", modx_last_error());
    for (int i = 0; i < 4; i++) {
        image_normalize(cache_image_pixels(c, list[i]), S, pix + (size_t)i * 3 * S * S);
        memcpy(tok + i * T, cache_caption_tokens(c, list[i]), sizeof(int32_t) * T);
    }
    EXPECT(!clip_encode_image(m, a, pix, 4, fi) && !clip_encode_text(m, a, tok, 4, ft), "%s", modx_last_error());
    EXPECT_CLOSE("probe image features", f.image, fi, (size_t)4 * E, 1e-6, 0);
    EXPECT_CLOSE("probe text features", f.text, ft, (size_t)4 * E, 1e-6, 0);
    /* save + load is exact */
    char fpath[600];
    snprintf(fpath, sizeof fpath, "%s/probe.safetensors", harness_tmpdir());
    const char *meta[1][2] = {{"modx.probe.pairs", "4"}};
    ProbeFeatures g;
    EXPECT(!probe_features_save(&f, fpath, meta, 1) && !probe_features_load(&g, fpath), "%s", modx_last_error());
    EXPECT(g.n == 4 && g.e == E && !memcmp(g.image, f.image, sizeof(float) * 4 * E) &&
               !memcmp(g.text, f.text, sizeof(float) * 4 * E), "round trip differs");
    probe_features_free(&g);
    /* P = 0: every listed image */
    ProbeSet all;
    EXPECT(!probe_select(&all, c, "probe.cache", list, 5, 0) && all.n == 5, "%s", modx_last_error());
    probe_set_free(&all);
    /* errors */
    ProbeSet bad;
    EXPECT(probe_select(&bad, c, "probe.cache", list, 6, 7) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "probe.cache: probe set of 7 pairs requested from 6 images"),
           "%s", modx_last_error());
    EXPECT(probe_select(&bad, c, "probe.cache", list, 6, 1) == MODX_ERR_INVALID, "P = 1 accepted");
    EXPECT(probe_select(&bad, c, "probe.cache", list, 6, 6) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "(cache image 8) has no caption"), "%s", modx_last_error());
    uint32_t dup[3] = {1, 4, 1}, out_of_range[2] = {1, 9};
    EXPECT(probe_select(&bad, c, "probe.cache", dup, 3, 3) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "cache image 1 is listed twice"), "%s", modx_last_error());
    EXPECT(probe_select(&bad, c, "probe.cache", out_of_range, 2, 2) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "index 9, but the cache holds 9 images"), "%s", modx_last_error());
    /* the probe from an evaluation of the whole list (one arena reused by two encodings, as the
     * continual driver does): the same features as encoding the probe pairs alone */
    EncodedSet es, es2;
    ProbeFeatures h;
    EXPECT(!eval_encode_acts(&es2, m, a, c, "probe.cache", list + 3, 3, 4), "%s", modx_last_error());
    EXPECT(!eval_encode_acts(&es, m, a, c, "probe.cache", list, 6, 4), "%s", modx_last_error());
    EXPECT(!probe_from_encoded(&h, &es, list, "probe.cache", &ps), "%s", modx_last_error());
    EXPECT(h.n == 4 && h.e == E, "%d x %d", h.n, h.e);
    EXPECT_CLOSE("probe image features from the evaluation", h.image, f.image, (size_t)4 * E, 1e-6, 0);
    EXPECT_CLOSE("probe text features from the evaluation", h.text, f.text, (size_t)4 * E, 1e-6, 0);
    EncodedSet fresh;
    EXPECT(!eval_encode(&fresh, m, c, "probe.cache", list, 6, 4), "%s", modx_last_error());
    EXPECT(fresh.n_captions == es.n_captions &&
               !memcmp(fresh.image_features, es.image_features, sizeof(float) * 6 * E) &&
               !memcmp(fresh.text_features, es.text_features, sizeof(float) * (size_t)es.n_captions * E),
           "a reused arena changed the features");
    probe_features_free(&h);
    /* an encoded list that does not start with the probe's images is refused */
    EXPECT(probe_from_encoded(&h, &es2, list + 3, "probe.cache", &ps) == MODX_ERR_INVALID, "fewer images accepted");
    uint32_t other[6] = {2, 6, 7, 0, 5, 8};
    EXPECT(probe_from_encoded(&h, &es, other, "probe.cache", &ps) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "probe image 0 is cache image 6 but the encoded list has 2"),
           "%s", modx_last_error());
    encoded_set_free(&es), encoded_set_free(&es2), encoded_set_free(&fresh);
    clip_acts_free(a);
    free(pix), free(fi), free(ft), free(tok);
    probe_features_free(&f);
    probe_set_free(&ps);
    cache_close(c);
    clip_model_free(m);
}

/* ---- a run whose features move by known rotations ---- */

/* Rotates columns (p, q) of x (n, e) by deg degrees. */
static void rotate_plane(float *x, int n, int e, int p, int q, double deg) {
    double c = cos(deg * M_PI / 180), s = sin(deg * M_PI / 180);
    for (int i = 0; i < n; i++) {
        double a = x[i * e + p], b = x[i * e + q];
        x[i * e + p] = (float)(c * a - s * b);
        x[i * e + q] = (float)(s * a + c * b);
    }
}

static int write_text(const char *path, const char *text) { return io_write_atomic(path, text, strlen(text)) == MODX_OK; }

static const cJSON *find_comparison(const cJSON *root, const char *strategy, const char *kind, int from, int to) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "comparisons")) {
        if (!strcmp(cJSON_GetObjectItem(c, "strategy")->valuestring, strategy) &&
            !strcmp(cJSON_GetObjectItem(c, "kind")->valuestring, kind) &&
            cJSON_GetObjectItem(c, "from_phase")->valuedouble == from &&
            cJSON_GetObjectItem(c, "to_phase")->valuedouble == to)
            return cJSON_GetObjectItem(c, "result");
    }
    return NULL;
}

static double jnum(const cJSON *o, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

TEST(probe_run_analysis_known_rotations) {
    enum { N = 40, E = 6 };
    char dir[512], p[700];
    snprintf(dir, sizeof dir, "%s/run", harness_tmpdir());
    float img[N * E], txt[N * E];
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N * E; i++) img[i] = (float)rng_normal(&r), txt[i] = (float)rng_normal(&r);
    for (int i = 0; i < N; i++) { /* unit rows */
        double a = 0, b = 0;
        for (int k = 0; k < E; k++) a += img[i * E + k] * img[i * E + k], b += txt[i * E + k] * txt[i * E + k];
        for (int k = 0; k < E; k++) img[i * E + k] /= (float)sqrt(a), txt[i * E + k] /= (float)sqrt(b);
    }
    ProbeFeatures f = {N, E, img, txt};
    /* phase 0; "same": both modalities turned 40 deg in plane (0,1) per phase (no relative rotation);
     * "apart": text turned 25 deg more in plane (2,3) in phase 1 only */
    const char *files[] = {"phase0", "same/phase1", "same/phase2", "apart/phase1", "apart/phase2"};
    for (int k = 0; k < 5; k++) {
        if (k == 1 || k == 3) rotate_plane(img, N, E, 0, 1, 40), rotate_plane(txt, N, E, 0, 1, 40);
        if (k == 3) { /* restart from phase 0 for strategy "apart" */
            rotate_plane(img, N, E, 0, 1, -120), rotate_plane(txt, N, E, 0, 1, -120);
            rotate_plane(txt, N, E, 2, 3, 25);
        }
        if (k == 2 || k == 4) rotate_plane(img, N, E, 0, 1, 40), rotate_plane(txt, N, E, 0, 1, 40);
        snprintf(p, sizeof p, "%s/%s", dir, files[k]);
        EXPECT(!io_mkdir_p(p), "%s", modx_last_error());
        snprintf(p, sizeof p, "%s/%s/probe.safetensors", dir, files[k]);
        EXPECT(!probe_features_save(&f, p, NULL, 0), "%s", modx_last_error());
    }
    snprintf(p, sizeof p, "%s/run.json", dir);
    EXPECT(write_text(p, "{\"format\": \"modx-run-1\", \"name\": \"rot\", \"seed\": 1, \"strategies\": [\"same\", "
                         "\"apart\"], \"phases\": 2, \"test_sets\": [{\"name\": \"t\", \"role\": \"domain\", "
                         "\"first_phase\": 0}], \"probe\": {\"test_set\": \"t\", \"pairs\": 40}, \"status\": \"done\"}"),
           "%s", modx_last_error());
    FILE *null = fopen("/dev/null", "w");
    ModxStatus st = run_analyze(dir, NULL, null);
    fclose(null);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    snprintf(p, sizeof p, "%s/analysis.json", dir);
    uint8_t *buf = NULL;
    size_t n = 0;
    EXPECT(!io_read_file(p, &buf, &n), "%s", modx_last_error());
    cJSON *root = cJSON_Parse((const char *)buf);
    free(buf);
    EXPECT(root && cJSON_GetArraySize(cJSON_GetObjectItem(root, "comparisons")) == 6, "analysis.json: 6 comparisons");
    const cJSON *s01 = find_comparison(root, "same", "step", 0, 1), *s02 = find_comparison(root, "same", "overall", 0, 2),
                *a01 = find_comparison(root, "apart", "step", 0, 1), *a12 = find_comparison(root, "apart", "step", 1, 2);
    EXPECT(s01 && s02 && a01 && a12, "a comparison is missing");
    /* a rigid turn: no topology change, no relative rotation, pair angles unchanged */
    double got[] = {jnum(s01, "topology_v", "mean_abs_change_deg"), jnum(s01, "topology_t", "mean_abs_change_deg"),
                    jnum(s01, "relative_rotation", "max_deg"), jnum(s01, "pair_angle", "mean_abs_change_deg"),
                    jnum(a12, "relative_rotation", "max_deg")};
    for (int k = 0; k < 5; k++) EXPECT(fabs(got[k]) < 1e-3, "figure %d: %g, expected 0", k, got[k]);
    /* the per-sample rotation of a 40-degree plane turn is at most 40; 80 over two phases */
    EXPECT(jnum(s01, "rotation_v", "max_deg") <= 40.001 && jnum(s01, "rotation_v", "max_deg") > 30, "max %g",
           jnum(s01, "rotation_v", "max_deg"));
    EXPECT(jnum(s02, "rotation_t", "max_deg") <= 80.001 && jnum(s02, "rotation_t", "max_deg") > 60, "max %g",
           jnum(s02, "rotation_t", "max_deg"));
    /* the extra text turn is exactly the relative rotation */
    EXPECT(fabs(jnum(a01, "relative_rotation", "max_deg") - 25) < 1e-3, "relative %g, expected 25",
           jnum(a01, "relative_rotation", "max_deg"));
    cJSON_Delete(root);
    /* the report of this run */
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    EXPECT(write_text(p, "{\"type\": \"eval\", \"strategy\": \"phase0\", \"phase\": 0, \"test_set\": \"t\", "
                         "\"i2t_R@1\": 10, \"t2i_R@1\": 9}\n{\"type\": \"step\", \"strategy\": \"same\"}\n"
                         "{\"type\": \"eval\", \"strategy\": \"same\", \"phase\": 2, \"test_set\": \"t\", "
                         "\"i2t_R@1\": 12, \"t2i_R@1\": 11}\n"),
           "%s", modx_last_error());
    char html[700], regions[700];
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(regions, sizeof regions, "%s/report.regions", dir);
    EXPECT(!report_run_write(dir, html, regions), "%s", modx_last_error());
    EXPECT(!io_read_file(regions, &buf, &n), "%s", modx_last_error());
    const char *want[] = {"plot r1-0 ", "plot hist-0 ", "plot hist-1 ", "plot topo-0 ", "plot topo-1 ", "plot intermodal "};
    for (int k = 0; k < 6; k++) EXPECT(strstr((const char *)buf, want[k]), "regions lack %s", want[k]);
    free(buf);
    /* a strategy the run does not list */
    EXPECT(write_text(p, "{\"type\": \"eval\", \"strategy\": \"lwf\", \"phase\": 1, \"test_set\": \"t\"}\n"), "write");
    EXPECT(report_run_write(dir, html, NULL) == MODX_ERR_FORMAT && strstr(modx_last_error(), "metrics.jsonl:1: strategy"),
           "%s", modx_last_error());
}

/* zeroshot_run (batched prompts, class-major) equals the same steps called one
 * by one: prompts tokenized and encoded in one batch, zeroshot_classifier,
 * eval_encode, zeroshot_evaluate. */
TEST(eval_zeroshot_run_matches_direct) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    Bpe *bpe = NULL;
    EXPECT(!clip_config_load(&cfg, "configs/micro.json"), "%s", modx_last_error());
    cfg.text.vocab_size = 49408;
    cfg.embed_dim = 4;
    EXPECT(!clip_model_new(&m, &cfg) && !bpe_load(&bpe, "data/bpe_simple_vocab_16e6.txt.gz"), "%s", modx_last_error());
    clip_model_init(m, 8);
    char path[512];
    snprintf(path, sizeof path, "%s/zs.cache", harness_tmpdir());
    Cache *c = NULL;
    EXPECT(!probe_test_cache(&c, &cfg, path, 7, 12), "%s", modx_last_error());
    const char *classes[3] = {"cat", "dog", "red car"}, *templates[2] = {"a photo of a {}.", "{}, drawn"};
    uint32_t images[5] = {4, 0, 2, 5, 1};
    int32_t labels[5] = {0, 2, 1, 1, 0}, pred[5], want_pred[5];
    ZeroShotResult z, w;
    EXPECT(!zeroshot_run(&z, m, bpe, c, "zs.cache", images, labels, 5, classes, 3, templates, 2, 2, pred), "%s",
           modx_last_error());
    int T = cfg.text.context_length, E = cfg.embed_dim;
    int32_t tok[6 * 64];
    float pf[6 * 4], cls[3 * 4];
    char prompt[128];
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < 2; p++) {
            int used;
            EXPECT(!zeroshot_format_prompt(prompt, sizeof prompt, templates[p], classes[k]) &&
                       !bpe_encode(bpe, prompt, tok + (k * 2 + p) * T, T, &used), "%s", modx_last_error());
        }
    ClipActs *a = NULL;
    EXPECT(!clip_acts_new(&a, &cfg, 6, 0) && !clip_encode_text(m, a, tok, 6, pf) && !zeroshot_classifier(cls, pf, 3, 2, E),
           "%s", modx_last_error());
    EncodedSet s;
    EXPECT(!eval_encode(&s, m, c, "zs.cache", images, 5, 5), "%s", modx_last_error());
    EXPECT(!zeroshot_evaluate(&w, s.image_features, 5, cls, 3, E, labels, want_pred), "%s", modx_last_error());
    EXPECT(z.n == 5 && z.top1 == w.top1 && z.top5 == w.top5 && z.top5 == 100.0, "top-1 %g vs %g, top-5 %g vs %g", z.top1,
           w.top1, z.top5, w.top5);
    for (int i = 0; i < 5; i++) EXPECT(pred[i] == want_pred[i], "image %d: class %d vs %d", i, pred[i], want_pred[i]);
    /* a label out of range is refused */
    labels[2] = 3;
    EXPECT(zeroshot_run(&z, m, bpe, c, "zs.cache", images, labels, 5, classes, 3, templates, 2, 2, NULL) ==
               MODX_ERR_INVALID, "label 3 of 3 classes accepted");
    encoded_set_free(&s);
    clip_acts_free(a);
    cache_close(c);
    bpe_free(bpe);
    clip_model_free(m);
}

/* report_run_finish = analyze + report of the run built above. */
TEST(probe_run_finish_writes_both) {
    char dir[512], p[700];
    snprintf(dir, sizeof dir, "%s/run", harness_tmpdir());
    snprintf(p, sizeof p, "%s/run.json", dir);
    if (!io_file_exists(p)) probe_run_analysis_known_rotations();
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    EXPECT(write_text(p, "{\"type\": \"eval\", \"strategy\": \"same\", \"phase\": 1, \"test_set\": \"t\", \"i2t_R@1\": 5}\n"),
           "write");
    snprintf(p, sizeof p, "%s/finish.log", harness_tmpdir());
    FILE *log = fopen(p, "w");
    EXPECT(log, "cannot open %s", p);
    ModxStatus st = report_run_finish(dir, log);
    fclose(log);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    uint8_t *buf = NULL;
    size_t n = 0;
    EXPECT(!io_read_file(p, &buf, &n), "%s", modx_last_error());
    char want[700];
    snprintf(want, sizeof want, "report: %s/report.html\n", dir);
    int ok = strstr((const char *)buf, want) && strstr((const char *)buf, "analysis.json");
    free(buf);
    EXPECT(ok, "log lacks '%s'", want);
}
