/* modx watch's pieces: RUN_DIR/watch.json (run/watch_state.h) round trip and
 * corrupt files, and the experiment file as watch reads it (datasets, stream
 * and test sets may be left out there, and only there). The whole command is
 * tests/cli/test_watch.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "io/file.h"
#include "run/experiment.h"
#include "run/watch_state.h"

static const char *state_dir(const char *name) {
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", harness_tmpdir(), name);
    io_mkdir_p(dir);
    return dir;
}

TEST(watch_state_round_trip) {
    const char *dir = state_dir("ws_round");
    WatchState s;
    EXPECT(watch_state_load(&s, dir) == MODX_OK && s.n_phases == 0 && !s.dir && !s.phase0_done,
           "a missing file is an empty state: %s", modx_last_error());
    s.dir = strdup("/data/in");
    s.phase0_done = 1;
    s.metrics_bytes = 12345678901ull;
    WatchShard a[2] = {{"a.tar", 10240}, {"b.tar", 20480}}, b[1] = {{"c.tar", 512}};
    EXPECT(watch_state_add_phase(&s, a, 2) == MODX_OK && watch_state_add_phase(&s, b, 1) == MODX_OK, "add");
    s.phases[0].done = 1;
    EXPECT(watch_state_save(&s, dir) == MODX_OK, "save: %s", modx_last_error());
    WatchState t;
    ModxStatus st = watch_state_load(&t, dir);
    EXPECT(st == MODX_OK, "load: %s", modx_last_error());
    EXPECT(!strcmp(t.dir, "/data/in") && t.phase0_done && t.metrics_bytes == 12345678901ull && t.n_phases == 2,
           "fields");
    EXPECT(t.phases[0].done && !t.phases[1].done && t.phases[0].n_shards == 2 && t.phases[1].n_shards == 1, "phases");
    EXPECT(!strcmp(t.phases[0].shards[1].name, "b.tar") && t.phases[0].shards[1].bytes == 20480 &&
               t.phases[1].shards[0].bytes == 512, "shards");
    EXPECT(watch_state_taken(&t, "c.tar") && watch_state_taken(&t, "a.tar") && !watch_state_taken(&t, "d.tar"),
           "taken");
    watch_state_free(&t);
    watch_state_free(&s);
}

TEST(watch_state_corrupt_files_name_the_item) {
    const char *dir = state_dir("ws_bad");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WATCH_STATE_FILE);
    const char *head = "{\"format\": \"modx-watch-1\", \"dir\": \"/in\", \"phase0_done\": true, \"metrics_bytes\": 5, ";
    struct {
        const char *text, *want;
    } cases[] = {
        {"[1]", "expected a JSON object"},
        {"{\"format\": \"modx-watch-9\"}", "expected \"format\": \"modx-watch-1\""},
        {"{\"format\": \"modx-watch-1\", \"dir\": \"in\", \"phase0_done\": true, \"metrics_bytes\": 5, \"phases\": []}",
         "expected \"dir\" (an absolute path)"},
        {"phases\": [{\"phase\": 2, \"status\": \"done\", \"shards\": [{\"name\": \"a.tar\", \"bytes\": 1}]}]}",
         "phases[0]: expected \"phase\": 1"},
        {"phases\": [{\"phase\": 1, \"status\": \"training\", \"shards\": [{\"name\": \"a.tar\", \"bytes\": 1}]}, "
         "{\"phase\": 2, \"status\": \"done\", \"shards\": [{\"name\": \"b.tar\", \"bytes\": 1}]}]}",
         "phase 1 is \"training\" but a later phase follows"},
        {"phases\": [{\"phase\": 1, \"status\": \"done\", \"shards\": [{\"name\": \"a.tar\", \"bytes\": 1}]}, "
         "{\"phase\": 2, \"status\": \"done\", \"shards\": [{\"name\": \"a.tar\", \"bytes\": 1}]}]}",
         "phase 2: shard 'a.tar' is listed twice"},
        {"phases\": [{\"phase\": 1, \"status\": \"done\", \"shards\": [{\"name\": \"x/a.tar\", \"bytes\": 1}]}]}",
         "phase 1: expected shards as {\"name\": a file name without '/'"},
        {"phases\": [{\"phase\": 1, \"status\": \"done\", \"shards\": [{\"name\": \"a.tar\", \"bytes\": -1}]}]}",
         "shard 'a.tar': expected \"bytes\" (a size)"},
        {"phases\": [{\"phase\": 1, \"status\": \"half\", \"shards\": []}]}", "expected \"status\": \"done\" or"},
        {"phases\": [{\"phase\": 1, \"status\": \"done\", \"shards\": []}]}", "expected \"shards\" (a non-empty array)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[2048];
        if (cases[i].text[0] == 'p') snprintf(text, sizeof text, "%s\"%s", head, cases[i].text);
        else snprintf(text, sizeof text, "%s", cases[i].text);
        EXPECT(io_write_atomic(path, text, strlen(text)) == MODX_OK, "write");
        WatchState s;
        ModxStatus st = watch_state_load(&s, dir);
        EXPECT(st != MODX_OK, "case %zu accepted", i);
        if (st == MODX_OK) {
            watch_state_free(&s);
            continue;
        }
        EXPECT(strstr(modx_last_error(), cases[i].want) && strstr(modx_last_error(), WATCH_STATE_FILE),
               "case %zu: '%s' lacks '%s'", i, modx_last_error(), cases[i].want);
    }
}

/* An experiment with no datasets, stream or test sets: watch reads it, run does not. */
TEST(watch_experiment_may_leave_out_datasets_stream_tests) {
    char path[4200], cwd[2048];
    EXPECT(getcwd(cwd, sizeof cwd) != NULL, "cwd");
    snprintf(path, sizeof path, "%s/watch_min.json", harness_tmpdir());
    char text[8192];
    snprintf(text, sizeof text,
             "{\"name\": \"w\", \"model\": \"%s/tests/fixtures/engine/micro.json\", \"tokenizer\": "
             "\"%s/tests/fixtures/engine/micro.json\", \"strategies\": [\"modx\"], \"test_sets\": []}", cwd, cwd);
    EXPECT(io_write_atomic(path, text, strlen(text)) == MODX_OK, "write");
    Experiment e;
    ModxStatus st = experiment_load_watch(&e, path);
    EXPECT(st == MODX_OK, "watch: %s", modx_last_error());
    if (st != MODX_OK) return;
    EXPECT(e.n_datasets == 0 && e.n_tests == 0 && !e.has_stream && e.n_strategies == 1, "contents");
    char *json = experiment_to_json(&e);
    EXPECT(json && !strstr(json, "\"stream\"") && !strstr(json, "\"probe\""), "resolved copy: %s", json);
    free(json);
    experiment_free(&e);
    st = experiment_load(&e, path);
    EXPECT(st != MODX_OK && strstr(modx_last_error(), "missing key 'datasets'"), "run accepted it: %s",
           modx_last_error());
    if (st == MODX_OK) experiment_free(&e);
}
