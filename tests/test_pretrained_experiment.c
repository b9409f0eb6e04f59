/* experiments/pretrained_vitb32.json (README "Start from a pretrained model")
 * parses as a complete experiment once its placeholder paths name files: a
 * ViT-B/32 with the OpenAI vocabulary continued from a pretrained checkpoint on
 * one's own manifest. With the placeholders as shipped it is refused, naming
 * the key. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "io/file.h"
#include "run/experiment.h"

#define EXP "experiments/pretrained_vitb32.json"

/* text with every `from` replaced by `to` (malloc'd). */
static char *replace(const char *text, const char *from, const char *to) {
    size_t nf = strlen(from), nt = strlen(to), n = 0;
    for (const char *p = strstr(text, from); p; p = strstr(p + nf, from)) n++;
    char *out = malloc(strlen(text) + n * nt + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = text, *q; ; p = q + nf) {
        q = strstr(p, from);
        size_t len = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, len), o += len;
        if (!q) break;
        memcpy(o, to, nt), o += nt;
    }
    *o = 0;
    return out;
}

static int touch(const char *path) {
    FILE *f = fopen(path, "w");
    return f && !fclose(f);
}

TEST(pretrained_experiment_parses_with_placeholder_files) {
    uint8_t *raw = NULL;
    size_t n = 0;
    EXPECT(!io_read_file(EXP, &raw, &n), "%s", modx_last_error());
    char *text = calloc(n + 1, 1), cwd[PATH_MAX], base[PATH_MAX + 16], man[600], ck[600];
    EXPECT(text && getcwd(cwd, sizeof cwd), "setup");
    memcpy(text, raw, n);
    free(raw);
    snprintf(base, sizeof base, "%s/experiments", cwd);
    Experiment e;
    memset(&e, 0, sizeof e);
    ModxStatus s = experiment_parse(&e, text, strlen(text), EXP, base);
    experiment_free(&e);
    EXPECT(s != MODX_OK && strstr(modx_last_error(), "/path/to/"), "placeholders accepted: %s", modx_last_error());
    snprintf(man, sizeof man, "%s/manifest.jsonl", harness_tmpdir());
    snprintf(ck, sizeof ck, "%s/open_clip_model.safetensors", harness_tmpdir());
    EXPECT(touch(man) && touch(ck), "placeholder files");
    char *a = replace(text, "/path/to/my/manifest.jsonl", man);
    char *b = a ? replace(a, "/path/to/open_clip_model.safetensors", ck) : NULL;
    free(text), free(a);
    EXPECT(b, "out of memory");
    memset(&e, 0, sizeof e);
    s = experiment_parse(&e, b, strlen(b), EXP, base);
    free(b);
    int ok = s == MODX_OK && e.phase0_checkpoint && !strcmp(e.phase0_checkpoint, ck) && !e.has_phase0 &&
             strstr(e.model, "/configs/ViT-B-32.json") && e.tokenizer &&
             strstr(e.tokenizer, "/data/bpe_simple_vocab_16e6.txt.gz") && e.n_strategies >= 2 && e.n_tests >= 1;
    const char *msg = s == MODX_OK ? "fields" : modx_last_error();
    experiment_free(&e);
    EXPECT(ok, "%s: %s", EXP, msg);
}
