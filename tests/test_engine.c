/* Engine unit cases: strategy names, experiment parsing and its resolved
 * round trip, and the run log's truncation. (End-to-end runs, resume and bad
 * experiment files are in tests/cli/test_engine_*.sh.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "run/experiment.h"
#include "train/runlog.h"

TEST(engine_strategy_names) {
    int n;
    const StrategyDesc *const *all = strategy_all(&n);
    static const char *const paper[] = {"joint", "finetune", "modx", "modx-noselect", "lwf", "ewc", "replay",
                                        "modx+replay", "wiseft"};
    for (size_t k = 0; k < sizeof paper / sizeof *paper; k++) EXPECT(strategy_find(paper[k]), "%s missing", paper[k]);
    for (int k = 0; k < n; k++) {
        const StrategyDesc *got;
        EXPECT(strategy_lookup(all[k]->name, &got) == MODX_OK && got == all[k], "strategy %s", all[k]->name);
        for (int j = 0; j < k; j++) EXPECT(strcmp(all[j]->name, all[k]->name), "%s registered twice", all[k]->name);
    }
    const StrategyDesc *x;
    EXPECT(strategy_lookup("modx_replay", &x) == MODX_ERR_INVALID, "unknown name accepted");
    EXPECT(strstr(modx_last_error(), "modx+replay") != NULL, "message lists the names: %s", modx_last_error());
    EXPECT((strategy_find("modx+replay")->flags & STRATEGY_OLD_MODEL) && !(strategy_find("ewc")->flags & STRATEGY_OLD_MODEL),
           "old model flags");
    EXPECT(strategy_find("modx+replay")->before_phase == strategy_find("replay")->before_phase &&
               strategy_find("modx")->before_phase == NULL,
           "replay hooks");
    EXPECT(strategy_find("joint")->flags & STRATEGY_ONCE, "joint trains once");
}

/* Hyperparameters sharing a "train" key agree on its default and range, and
 * every default is inside its range (or STRATEGY_REQUIRED, outside any range). */
TEST(engine_strategy_hypers_consistent) {
    int n;
    const StrategyDesc *const *all = strategy_all(&n);
    for (int a = 0; a < n; a++)
        for (int i = 0; i < all[a]->n_hypers; i++) {
            const StrategyHyper *h = &all[a]->hypers[i];
            EXPECT((h->def >= h->lo && h->def <= h->hi) || (h->def == STRATEGY_REQUIRED && h->lo >= 0),
                   "%s.%s default %g outside [%g, %g]", all[a]->name, h->key, h->def, h->lo, h->hi);
            for (int b = 0; b < n; b++)
                for (int j = 0; j < all[b]->n_hypers; j++) {
                    const StrategyHyper *g = &all[b]->hypers[j];
                    if (strcmp(h->train_key, g->train_key)) continue;
                    EXPECT(h->def == g->def && h->lo == g->lo && h->hi == g->hi && h->integer == g->integer,
                           "train.%s: %s and %s disagree", h->train_key, all[a]->name, all[b]->name);
                }
        }
}

static const char GOOD[] =
    "{\"name\": \"t\", \"model\": \"configs/micro.json\",\n"
    " \"datasets\": {\"d\": {\"cache\": \"tests/fixtures/engine/micro.json\"}},\n"
    " \"phase0\": {\"dataset\": \"d\", \"domains\": [\"a\"], \"epochs\": 3},\n"
    " \"stream\": {\"dataset\": \"d\", \"mode\": \"random\", \"phases\": 4, \"split\": \"train+val\"},\n"
    " \"test_sets\": [{\"name\": \"x\", \"dataset\": \"d\"}, {\"name\": \"y\", \"dataset\": \"d\", \"split\": \"train\","
    " \"sample\": 5, \"role\": \"train_sample\"}],\n"
    " \"strategies\": [\"modx\", \"wiseft\", \"joint\"],\n"
    " \"probe\": {\"test_set\": \"y\", \"pairs\": 7},\n"
    " \"train\": {\"epochs\": 2, \"batch\": 8, \"alpha\": 43.75, \"seed\": 3, \"wiseft_mix\": 0.25}}";

TEST(engine_experiment_parse_and_round_trip) {
    Experiment e;
    ModxStatus st = experiment_parse(&e, GOOD, strlen(GOOD), "good.json", ".");
    EXPECT(st == MODX_OK, "parse: %s", modx_last_error());
    if (st != MODX_OK) return;
    EXPECT(e.n_phases == 4 && e.mode == PHASES_RANDOM, "stream %d phases, mode %d", e.n_phases, (int)e.mode);
    EXPECT(e.stream.split_mask == ((1u << 1) | (1u << 2)), "split mask %x", e.stream.split_mask);
    EXPECT(e.has_phase0 && e.hp.phase0_epochs == 3 && e.hp.epochs == 2 && e.hp.joint_epochs == 2, "epochs %d %d %d",
           e.hp.phase0_epochs, e.hp.epochs, e.hp.joint_epochs);
    EXPECT(e.hp.batch == 8 && e.hp.seed == 3, "hyper");
    EXPECT(e.n_strategies == 3 && strategy_hp(&e.strategies[0], "alpha") == 43.75 &&
               strategy_hp(&e.strategies[1], "mix") == 0.25,
           "strategy hyperparameters from train");
    EXPECT(e.hp.lr == 5e-4 && e.hp.warmup == 0.2 && e.hp.weight_decay == 0.1 && e.hp.joint_weight_decay == 0.01,
           "defaults (SPEC §4)");
    EXPECT(e.n_strategies == 3 && e.strategies[1].desc == strategy_find("wiseft") &&
               !strcmp(e.strategies[1].name, "wiseft"),
           "strategies");
    EXPECT(e.n_tests == 2 && e.tests[1].role == TESTSET_TRAIN_SAMPLE && e.tests[1].sample == 5, "test sets");
    EXPECT(!strcmp(e.probe_test, "y") && e.probe_pairs == 7, "probe");
    EXPECT(e.model[0] == '/' && e.datasets[0].cache[0] == '/', "paths made absolute: %s", e.model);
    /* The resolved copy parses to the same experiment. */
    char *json = experiment_to_json(&e);
    Experiment f;
    st = experiment_parse(&f, json, strlen(json), "copy.json", "/nonexistent");
    EXPECT(st == MODX_OK, "copy: %s", modx_last_error());
    if (st == MODX_OK) {
        char *json2 = experiment_to_json(&f);
        EXPECT(!strcmp(json, json2), "round trip differs:\n%s\n%s", json, json2);
        free(json2);
        experiment_free(&f);
    }
    free(json);
    experiment_free(&e);
}

/* A zero-shot test set: its keys parsed, its files checked and made absolute, the copy round-trips. */
TEST(engine_experiment_zeroshot_set) {
    static const char ZS[] =
        "{\"name\": \"t\", \"model\": \"configs/micro.json\", \"tokenizer\": \"configs/micro.json\",\n"
        " \"datasets\": {\"d\": {\"cache\": \"tests/fixtures/engine/micro.json\"}},\n"
        " \"stream\": {\"dataset\": \"d\", \"mode\": \"random\", \"phases\": 2},\n"
        " \"test_sets\": [{\"name\": \"x\", \"dataset\": \"d\"}, {\"name\": \"z\", \"dataset\": \"d\", \"role\": "
        "\"zeroshot\", \"labels\": \"caption\", \"templates\": \"data/imagenet_templates.txt\", \"classes\": "
        "\"TEMPLATES\"}],\n"
        " \"strategies\": [\"finetune\"]}";
    char text[2048];
    const char *at = strstr(ZS, "TEMPLATES");
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - ZS), ZS, "data/emoji_templates.txt", at + strlen("TEMPLATES"));
    Experiment e;
    ModxStatus st = experiment_parse(&e, text, strlen(text), "zs.json", ".");
    EXPECT(st == MODX_OK, "parse: %s", modx_last_error());
    if (st != MODX_OK) return;
    const ExpTestSet *z = &e.tests[1];
    EXPECT(z->role == TESTSET_ZEROSHOT && z->zs.labels == 1 && !z->zs.labels_file, "role %d labels %d", (int)z->role,
           z->zs.labels);
    EXPECT(z->zs.templates && z->zs.templates[0] == '/' && strstr(z->zs.templates, "imagenet_templates.txt"),
           "templates %s", z->zs.templates ? z->zs.templates : "(null)");
    EXPECT(e.tests[0].role == TESTSET_DOMAIN && !e.tests[0].zs.templates, "the other set");
    char *json = experiment_to_json(&e);
    Experiment f;
    st = experiment_parse(&f, json, strlen(json), "copy.json", "/nonexistent");
    EXPECT(st == MODX_OK, "copy: %s", modx_last_error());
    if (st == MODX_OK) {
        char *json2 = experiment_to_json(&f);
        EXPECT(!strcmp(json, json2), "round trip differs:\n%s\n%s", json, json2);
        EXPECT(strstr(json, "\"zeroshot\"") && strstr(json, "\"caption\""), "the copy keeps the role: %s", json);
        free(json2);
        experiment_free(&f);
    }
    free(json);
    experiment_free(&e);
    /* a templates file whose lines have no {} is an error naming the file and the key */
    const char *bad = "{\"name\": \"t\", \"model\": \"configs/micro.json\", \"tokenizer\": \"configs/micro.json\", "
                      "\"datasets\": {\"d\": {\"cache\": \"tests/fixtures/engine/micro.json\"}}, \"stream\": "
                      "{\"dataset\": \"d\", \"mode\": \"random\", \"phases\": 2}, \"test_sets\": [{\"name\": \"z\", "
                      "\"dataset\": \"d\", \"role\": \"zeroshot\", \"templates\": \"configs/micro.json\"}], "
                      "\"strategies\": [\"finetune\"]}";
    st = experiment_parse(&e, bad, strlen(bad), "bad.json", ".");
    EXPECT(st == MODX_ERR_INVALID && strstr(modx_last_error(), "bad.json: 'test_sets[0].templates': ") &&
               strstr(modx_last_error(), "has no {} for the class name"),
           "error: %s", modx_last_error());
    if (st == MODX_OK) experiment_free(&e);
}

TEST(engine_experiment_errors_name_the_key) {
    struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"batch\": 8", "\"batch\": 8.5", "'train.batch': expected an integer, found a number"},
        {"\"pairs\": 7", "\"pairs\": 7, \"size\": 1", "unknown key 'probe.size'"},
        {"\"test_set\": \"y\"", "\"test_set\": \"z\"", "'probe.test_set': 'z' is not one of the test sets"},
        {"\"wiseft_mix\": 0.25", "\"wiseft_mix\": 2", "'train.wiseft_mix': expected a number in [0, 1], found 2"},
        {"\"wiseft_mix\": 0.25", "\"wiseft_mix\": 1e999", "'train.wiseft_mix': expected a number, found a number out of range (not finite"},
        {"{\"name\": \"x\", \"dataset\": \"d\"}", "{\"name\": \"y\", \"dataset\": \"d\"}", "test set name 'y' is used twice"},
        {"\"joint\"]", "\"joint\", \"modx\"]", "'modx' is listed twice"},
        {"\"cache\": \"tests/fixtures/engine/micro.json\"", "\"cache\": \"x\", \"format\": \"coco\"", "found both"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *at = strstr(GOOD, cases[i].from);
        EXPECT(at != NULL, "case %zu: pattern", i);
        if (!at) continue;
        char text[4096];
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to, at + strlen(cases[i].from));
        Experiment e;
        ModxStatus st = experiment_parse(&e, text, strlen(text), "bad.json", ".");
        EXPECT(st != MODX_OK, "case %zu accepted", i);
        if (st == MODX_OK) {
            experiment_free(&e);
            continue;
        }
        EXPECT(strstr(modx_last_error(), cases[i].want) && strstr(modx_last_error(), "bad.json"),
               "case %zu: '%s' lacks '%s'", i, modx_last_error(), cases[i].want);
    }
}

/* A variant's name may be 63 characters: its evaluations are found under it,
 * written and read back (they were cut at 31 and then missed by every lookup). */
TEST(engine_runlog_long_names) {
    char dir[512], cmd[600], name[64];
    snprintf(dir, sizeof dir, "%s/runlog_long", harness_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    EXPECT(system(cmd) == 0, "mkdir");
    memset(name, 'v', 63), name[63] = 0;
    RunLog log;
    EXPECT(runlog_open(&log, dir) == MODX_OK, "open: %s", modx_last_error());
    RetrievalMetrics m = {.n_images = 2, .n_captions = 4, .i2t_r1 = 50, .t2i_r1 = 25, .rsum = 400};
    ZeroShotRecord z = {.phase = 1, .images = 3, .classes = 2, .templates = 1, .top1 = 33.3333, .top5 = 100};
    snprintf(z.strategy, sizeof z.strategy, "%s", name);
    snprintf(z.test_set, sizeof z.test_set, "%s", name);
    EXPECT(runlog_eval(&log, name, 1, name, &m) == MODX_OK, "eval");
    EXPECT(runlog_zeroshot(&log, &z) == MODX_OK, "zeroshot");
    EXPECT(runlog_find_eval(&log, name, 1, name), "eval under a 63-character name");
    EXPECT(runlog_find_zeroshot(&log, name, 1, name), "zero-shot record under a 63-character name");
    runlog_close(&log);
    EXPECT(runlog_open(&log, dir) == MODX_OK, "reopen");
    const EvalRecord *e = runlog_find_eval(&log, name, 1, name);
    EXPECT(e && e->m.i2t_r1 == 50, "eval read back under the long name");
    EXPECT(runlog_find_zeroshot(&log, name, 1, name), "zero-shot read back under the long name");
    runlog_close(&log);
}

TEST(engine_runlog_truncate) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/runlog", harness_tmpdir());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    EXPECT(system(cmd) == 0, "mkdir");
    RunLog log;
    EXPECT(runlog_open(&log, dir) == MODX_OK, "open: %s", modx_last_error());
    RetrievalMetrics m = {.n_images = 2, .n_captions = 4, .i2t_r1 = 50, .t2i_r1 = 25, .rsum = 400};
    StepRecord r = {"modx", 1, 5, 10, 1.5, 1.25, 0.25, 1e-4, 100, 0.5, 2.6593};
    EXPECT(runlog_eval(&log, "phase0", 0, "a", &m) == MODX_OK, "eval");
    uint64_t off = runlog_offset(&log);
    EXPECT(runlog_step(&log, &r) == MODX_OK, "step");
    m.i2t_r1 = 75;
    EXPECT(runlog_eval(&log, "modx", 1, "a", &m) == MODX_OK, "eval 2");
    EXPECT(log.n_evals == 2 && runlog_find_eval(&log, "modx", 1, "a")->m.i2t_r1 == 75, "two evals");
    EXPECT(runlog_truncate(&log, off) == MODX_OK, "truncate: %s", modx_last_error());
    EXPECT(log.n_evals == 1 && !runlog_find_eval(&log, "modx", 1, "a"), "eval past the offset forgotten");
    EXPECT(runlog_offset(&log) == off, "size %llu, want %llu", (unsigned long long)runlog_offset(&log),
           (unsigned long long)off);
    runlog_close(&log);
    /* Reopening reads the evaluation back with its values. */
    EXPECT(runlog_open(&log, dir) == MODX_OK, "reopen");
    const EvalRecord *e = runlog_find_eval(&log, "phase0", 0, "a");
    EXPECT(e && e->m.i2t_r1 == 50 && e->m.rsum == 400 && e->m.n_captions == 4, "read back");
    runlog_close(&log);
}
