/* The public API (include/modx.h) against the internal path it wraps: model
 * init/save/load, image preprocessing, tokenizing, encoding and training steps
 * give bit-identical results to the internal functions the CLI uses; the
 * similarity and retrieval wrappers agree with direct computation; bad
 * arguments are errors with a message naming the item. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "clip/model.h"
#include "core/rng.h"
#include "data/image.h"
#include "eval/retrieval.h"
#include "harness.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "modx.h"
#include "tok/bpe.h"
#include "train/optim.h"
#include "strategy/strategy.h"
#include "train/step.h"

#define MICRO "configs/micro.json"

static const char *const IMAGES[] = {"tests/fixtures/data/images/red.png", "tests/fixtures/data/images/stripes.png",
                                     "tests/fixtures/images/jpeg_rgb_wide.jpg", "tests/fixtures/images/png_grey1.png"};
enum { NI = 4 };

/* The internal twin of modx_model_init(MICRO, seed). */
static ClipModel *internal_model(uint64_t seed) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    if (clip_config_load(&cfg, MICRO) || clip_model_new(&m, &cfg)) return NULL;
    clip_model_init(m, seed);
    return m;
}

/* n token rows for the micro model: SOT-like start, random ids, the largest id last. */
static void random_tokens(int32_t *tok, int n, int T, int V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    memset(tok, 0, (size_t)n * T * sizeof *tok);
    for (int j = 0; j < n; j++) {
        int len = 2 + (int)rng_below(&r, (uint64_t)(T - 1));
        tok[j * T] = V - 2;
        for (int t = 1; t < len - 1; t++) tok[j * T + t] = 1 + (int)rng_below(&r, (uint64_t)(V - 3));
        tok[j * T + len - 1] = V - 1;
    }
}

static void random_pixels(float *p, size_t n, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) p[i] = (float)(rng_uniform(&r) * 4 - 2);
}

TEST(api_version_and_status) {
    EXPECT(!strcmp(modx_version(), MODX_VERSION_STRING), "modx_version %s, header %s", modx_version(),
           MODX_VERSION_STRING);
    EXPECT(!strcmp(modx_status_name(MODX_ERR_FORMAT), "format error"), "%s", modx_status_name(MODX_ERR_FORMAT));
    modx_model *m = (modx_model *)1;
    EXPECT(modx_model_load(&m, "/nonexistent/x.safetensors", NULL) == MODX_ERR_IO && !m, "load of a missing file");
    EXPECT(strstr(modx_last_error(), "/nonexistent/x.safetensors"), "message: %s", modx_last_error());
    modx_clear_error();
    EXPECT(!*modx_last_error(), "cleared: %s", modx_last_error());
}

TEST(api_model_init_save_load_match_internal) {
    modx_model *m = NULL, *back = NULL;
    ClipModel *ref = internal_model(5);
    EXPECT(ref && !modx_model_init(&m, MICRO, 5), "%s", modx_last_error());
    size_t n = ref->table.total;
    EXPECT(modx_model_num_params(m) == clip_model_num_params(ref) && n == m->clip->table.total, "sizes differ");
    EXPECT(!memcmp(m->clip->params, ref->params, n * sizeof(float)), "initialised parameters differ");
    EXPECT(modx_model_image_size(m) == 16 && modx_model_context_length(m) == 8 && modx_model_vocab_size(m) == 64 &&
               modx_model_embed_dim(m) == 16, "shape queries");
    /* the saved file is byte-identical to the one `modx init --seed 5` writes */
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/api_model.safetensors", harness_tmpdir());
    snprintf(b, sizeof b, "%s/api_ref.safetensors", harness_tmpdir());
    CheckpointMeta meta[] = {{"modx.seed", "5"}};
    EXPECT(!modx_model_save(m, a) && !checkpoint_save(b, ref, ref->params, meta, 1), "%s", modx_last_error());
    uint8_t *fa = NULL, *fb = NULL;
    size_t na = 0, nb = 0;
    EXPECT(!io_read_file(a, &fa, &na) && !io_read_file(b, &fb, &nb), "%s", modx_last_error());
    int same = na == nb && !memcmp(fa, fb, na);
    free(fa), free(fb);
    EXPECT(same, "modx_model_save wrote %zu bytes unlike checkpoint_save's %zu", na, nb);
    EXPECT(!modx_model_load(&back, a, NULL), "%s", modx_last_error());
    EXPECT(!memcmp(back->clip->params, ref->params, n * sizeof(float)), "reloaded parameters differ");
    modx_model_free(back);
    EXPECT(!modx_model_load(&back, a, MICRO), "%s", modx_last_error());
    modx_model_free(back);
    modx_model_free(m);
    clip_model_free(ref);
}

TEST(api_images_and_encode_match_internal) {
    modx_model *m = NULL;
    ClipModel *ref = internal_model(7);
    EXPECT(ref && !modx_model_init(&m, MICRO, 7), "%s", modx_last_error());
    int S = 16, E = 16;
    size_t px = (size_t)3 * S * S;
    enum { N = 70 }; /* more than one API batch of 64 */
    float *pix = malloc(N * px * sizeof(float)), *want = malloc(N * px * sizeof(float));
    float *f = malloc((size_t)N * E * sizeof(float)), *g = malloc((size_t)N * E * sizeof(float));
    ClipActs *acts = NULL;
    EXPECT(pix && want && f && g && !clip_acts_new(&acts, &ref->cfg, 64, 0), "setup");
    random_pixels(pix, N * px, 3);
    for (int i = 0; i < NI; i++) {
        EXPECT(!modx_image_preprocess(IMAGES[i], S, pix + i * px), "%s", modx_last_error());
        EXPECT(!image_preprocess_file(IMAGES[i], S, IMAGE_DEFAULT_BACKGROUND, 0, want + i * px), "%s", modx_last_error());
        EXPECT(!memcmp(pix + i * px, want + i * px, px * sizeof(float)), "%s: pixels differ", IMAGES[i]);
    }
    EXPECT(!modx_encode_images(m, pix, N, f), "%s", modx_last_error());
    EXPECT(!clip_encode_image(ref, acts, pix, 64, g) && !clip_encode_image(ref, acts, pix + 64 * px, N - 64, g + 64 * E),
           "%s", modx_last_error());
    EXPECT(!memcmp(f, g, (size_t)N * E * sizeof(float)), "image features differ from clip_encode_image");
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < E; k++) s += (double)f[i * E + k] * f[i * E + k];
        EXPECT(fabs(s - 1) < 1e-5, "row %d norm² %g", i, s);
    }
    int32_t tok[N * 8];
    random_tokens(tok, N, 8, 64, 11);
    EXPECT(!modx_encode_texts(m, tok, N, f), "%s", modx_last_error());
    EXPECT(!clip_encode_text(ref, acts, tok, 64, g) && !clip_encode_text(ref, acts, tok + 64 * 8, N - 64, g + 64 * E),
           "%s", modx_last_error());
    EXPECT(!memcmp(f, g, (size_t)N * E * sizeof(float)), "text features differ from clip_encode_text");
    tok[3 * 8 + 1] = 64; /* an id past the vocabulary: the row is named */
    EXPECT(modx_encode_texts(m, tok, N, f) == MODX_ERR_INVALID && strstr(modx_last_error(), "modx_encode_texts"),
           "message: %s", modx_last_error());
    EXPECT(modx_encode_images(m, pix, 0, f) == MODX_ERR_INVALID, "0 rows accepted");
    EXPECT(modx_image_preprocess("tests/fixtures/data/images/none.png", S, pix) == MODX_ERR_IO &&
               strstr(modx_last_error(), "none.png"), "message: %s", modx_last_error());
    clip_acts_free(acts);
    free(pix), free(want), free(f), free(g);
    modx_model_free(m);
    clip_model_free(ref);
}

TEST(api_tokenize_matches_bpe) {
    const char *vocab = "data/bpe_simple_vocab_16e6.txt.gz";
    modx_tokenizer *t = NULL;
    Bpe *bpe = NULL;
    EXPECT(!modx_tokenizer_load(&t, vocab) && !bpe_load(&bpe, vocab), "%s", modx_last_error());
    EXPECT(modx_tokenizer_vocab_size(t) == 49408, "vocab %d", modx_tokenizer_vocab_size(t));
    const char *texts[] = {"a photo of a cat.", "Hello,  World!! naïve café", "", "a very long caption that will "
                           "certainly not fit into a context of only eight tokens"};
    for (int i = 0; i < 4; i++) {
        int32_t a[8], b[8];
        int na = -1, nb = -2;
        EXPECT(!modx_tokenize(t, texts[i], a, 8, &na) && !bpe_encode(bpe, texts[i], b, 8, &nb), "%s",
               modx_last_error());
        EXPECT(na == nb && !memcmp(a, b, sizeof a), "'%s': ids differ", texts[i]);
    }
    int32_t ids[8];
    EXPECT(modx_tokenize(t, "bad \xff utf-8", ids, 8, NULL) == MODX_ERR_FORMAT, "invalid UTF-8 accepted");
    EXPECT(modx_tokenize(t, "x", ids, 1, NULL) == MODX_ERR_INVALID, "context 1 accepted");
    modx_tokenizer *none = (modx_tokenizer *)1;
    EXPECT(modx_tokenizer_load(&none, "/nonexistent/vocab.txt") == MODX_ERR_IO && !none &&
               strstr(modx_last_error(), "/nonexistent/vocab.txt"), "message: %s", modx_last_error());
    modx_tokenizer_free(t);
    bpe_free(bpe);
}

/* n steps of `strategy` through the API and through clip_step_run +
 * AdamW directly; the parameters and losses must be bit-identical. */
static int steps_match(const char *strategy, const char *key, double value, const char *ref_strategy,
                       const char *ref_key, int use_old) {
    enum { B = 4, STEPS = 3 };
    modx_model *m = NULL, *old = NULL;
    ClipModel *ref = internal_model(21), *ref_old = internal_model(22);
    modx_trainer *tr = NULL;
    ClipStep *step = NULL;
    AdamW opt = {0};
    OptimSegment *segs = NULL;
    int nseg = 0, ok = 0;
    float *grads = ref ? calloc(ref->table.total, sizeof(float)) : NULL, *pix = malloc(B * 768 * sizeof(float));
    int32_t tok[B * 8];
    AdamWConfig ac = adamw_default_config();
    ac.weight_decay = 0.2;
    StrategyInst si;
    if (strategy_inst_named(&si, ref_strategy) || (ref_key && strategy_inst_set(&si, ref_key, value, "test"))) goto done;
    StepLossTerm spec = strategy_loss(&si);
    if (!ref || !ref_old || !grads || !pix || modx_model_init(&m, MICRO, 21) || modx_model_init(&old, MICRO, 22) ||
        modx_trainer_new(&tr, m, use_old ? old : NULL, strategy, 1e-3, 0.2, B) ||
        (key && modx_trainer_set(tr, key, value)) || clip_optim_segments(ref, &segs, &nseg) ||
        adamw_init(&opt, &ac, ref->table.total, segs, nseg) ||
        adamw_set_clamp(&opt, clip_logit_scale_index(ref), 0.0f, OPTIM_LOGIT_SCALE_MAX) ||
        clip_step_new(&step, ref, use_old ? ref_old : NULL, B))
        goto done;
    ok = 1;
    for (int s = 0; s < STEPS && ok; s++) {
        random_pixels(pix, B * 768, 100 + s);
        random_tokens(tok, B, 8, 64, 200 + s);
        float loss = 0;
        StepLoss sl;
        ok = !modx_trainer_step(tr, pix, tok, B, &loss) && !clip_step_run(step, pix, tok, B, &spec, grads, &sl) &&
             !adamw_step(&opt, ref->params, grads, 1e-3, NULL) && loss == sl.loss && isfinite(loss);
    }
    ok = ok && modx_trainer_steps(tr) == STEPS && !memcmp(m->clip->params, ref->params, ref->table.total * sizeof(float));
done:
    modx_trainer_free(tr), clip_step_free(step), adamw_free(&opt), free(segs), free(grads), free(pix);
    modx_model_free(m), modx_model_free(old), clip_model_free(ref), clip_model_free(ref_old);
    return ok;
}

TEST(api_trainer_steps_match_internal) {
    EXPECT(steps_match("finetune", NULL, 0, "finetune", NULL, 0), "finetune: %s", modx_last_error());
    EXPECT(steps_match("modx", "alpha", 5, "modx", "alpha", 1), "modx: %s", modx_last_error());
    EXPECT(steps_match("modx-noselect", NULL, 0, "modx-noselect", NULL, 1), "noselect: %s", modx_last_error());
    EXPECT(steps_match("lwf", "lwf_tau", 2, "lwf", "tau", 1), "lwf (train key): %s", modx_last_error());
    EXPECT(steps_match("lwf", "tau", 2, "lwf", "tau", 1), "lwf (variant key): %s", modx_last_error());
    /* a strategy that does not distil ignores the old model */
    EXPECT(steps_match("replay", NULL, 0, "finetune", NULL, 1), "replay: %s", modx_last_error());
    /* and the modx step is not the finetune step */
    EXPECT(!steps_match("modx", "alpha", 5, "finetune", NULL, 1), "modx = finetune?");
}

TEST(api_trainer_errors) {
    modx_model *m = NULL, *old = NULL;
    modx_trainer *tr = NULL;
    EXPECT(!modx_model_init(&m, MICRO, 1) && !modx_model_init(&old, MICRO, 2), "%s", modx_last_error());
    EXPECT(modx_trainer_new(&tr, m, NULL, "sgd", 1e-3, 0.1, 4) == MODX_ERR_INVALID && !tr &&
               strstr(modx_last_error(), "sgd") && strstr(modx_last_error(), "finetune"), "message: %s", modx_last_error());
    EXPECT(modx_trainer_new(&tr, m, NULL, "modx", 1e-3, 0.1, 4) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "old model"), "message: %s", modx_last_error());
    EXPECT(modx_trainer_new(&tr, m, old, "ewc", 1e-3, 0.1, 4) == MODX_ERR_UNSUPPORTED &&
               strstr(modx_last_error(), "ewc"), "message: %s", modx_last_error());
    EXPECT(modx_trainer_new(&tr, m, NULL, "finetune", -1, 0.1, 4) == MODX_ERR_INVALID, "negative lr accepted");
    EXPECT(!modx_trainer_new(&tr, m, NULL, "finetune", 1e-3, 0.1, 4), "%s", modx_last_error());
    EXPECT(modx_trainer_set(tr, "alpha", 5) == MODX_ERR_INVALID && strstr(modx_last_error(), "'finetune'") &&
               strstr(modx_last_error(), "'alpha'"), "message: %s", modx_last_error());
    EXPECT(!modx_trainer_set(tr, "lr", 1e-4), "%s", modx_last_error());
    float pix[5 * 768] = {0};
    int32_t tok[5 * 8];
    random_tokens(tok, 5, 8, 64, 1);
    EXPECT(modx_trainer_step(tr, pix, tok, 5, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "max_batch"),
           "message: %s", modx_last_error());
    pix[10] = NAN; /* a non-finite loss: an error naming the step, the model unchanged */
    float *before = malloc(m->clip->table.total * sizeof(float));
    EXPECT(before, "oom");
    memcpy(before, m->clip->params, m->clip->table.total * sizeof(float));
    modx_status st = modx_trainer_step(tr, pix, tok, 4, NULL);
    int same = !memcmp(before, m->clip->params, m->clip->table.total * sizeof(float));
    free(before);
    EXPECT(st == MODX_ERR_NUMERIC && strstr(modx_last_error(), "step 0") && same && modx_trainer_steps(tr) == 0,
           "status %d, message: %s", (int)st, modx_last_error());
    modx_trainer_free(tr);
    EXPECT(!modx_trainer_new(&tr, m, old, "modx", 1e-3, 0.1, 4), "%s", modx_last_error());
    EXPECT(modx_trainer_set(tr, "alpha", -1) == MODX_ERR_INVALID && strstr(modx_last_error(), "alpha"), "message: %s",
           modx_last_error());
    modx_trainer_free(tr);
    modx_model_free(m), modx_model_free(old);
}

TEST(api_similarity_and_retrieval) {
    enum { N = 5, M = 5, E = 3 };
    float a[N * E], b[M * E], s[N * M];
    random_pixels(a, N * E, 1), random_pixels(b, M * E, 2);
    EXPECT(!modx_similarity(a, N, b, M, E, s), "%s", modx_last_error());
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++) {
            double d = 0;
            for (int k = 0; k < E; k++) d += (double)a[i * E + k] * b[j * E + k];
            EXPECT(s[i * M + j] == (float)d, "entry %d,%d: %g vs %g", i, j, s[i * M + j], d);
        }
    EXPECT(modx_similarity(a, 0, b, M, E, s) == MODX_ERR_INVALID, "empty similarity accepted");
    int32_t id[N] = {0, 1, 2, 3, 4};
    modx_retrieval r;
    RetrievalMetrics want;
    EXPECT(!modx_retrieval_evaluate(&r, a, N, b, M, E, NULL) &&
               !retrieval_evaluate(&want, a, N, b, M, E, id, NULL, NULL), "%s", modx_last_error());
    EXPECT(r.n_images == N && r.n_texts == M && r.i2t_r1 == want.i2t_r1 && r.i2t_r5 == want.i2t_r5 &&
               r.t2i_r1 == want.t2i_r1 && r.t2i_r10 == want.t2i_r10 && r.rsum == want.rsum &&
               r.i2t_mean_rank == want.i2t_mean_rank && r.t2i_median_rank == want.t2i_median_rank, "metrics differ");
    /* several texts per image with a map; a text without its image is refused */
    int32_t map[M] = {0, 0, 1, 1, 2};
    EXPECT(!modx_retrieval_evaluate(&r, a, 3, b, M, E, map) && r.n_images == 3 && r.n_texts == 5, "%s",
           modx_last_error());
    EXPECT(modx_retrieval_evaluate(&r, a, 4, b, 3, E, NULL) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "3 texts for 4 images"), "message: %s", modx_last_error());
    map[4] = 7;
    EXPECT(modx_retrieval_evaluate(&r, a, 3, b, M, E, map) == MODX_ERR_INVALID, "a text of image 7 accepted");
}
