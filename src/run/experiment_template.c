/* The experiment template of `modx run --print-defaults` (experiment_template.h). */
#include "run/experiment_template.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "run/experiment.h"
#include "strategy/strategy.h"

static cJSON *selection(cJSON *o, const char *split) {
    cJSON_AddStringToObject(o, "dataset", "mine");
    cJSON_AddStringToObject(o, "split", split);
    return o;
}

/* "train": every key at the parser's default (a named value by its name); a
 * strategy key shared by several strategies (alpha) once. */
static void train_defaults(cJSON *t) {
    ExpHyper h = experiment_default_hyper();
    cJSON_AddNumberToObject(t, "epochs", h.epochs);
    cJSON_AddNumberToObject(t, "phase0_epochs", h.epochs);
    cJSON_AddNumberToObject(t, "joint_epochs", h.epochs);
    cJSON_AddNumberToObject(t, "batch", h.batch);
    cJSON_AddNumberToObject(t, "lr", h.lr);
    cJSON_AddNumberToObject(t, "warmup", h.warmup);
    cJSON_AddNumberToObject(t, "weight_decay", h.weight_decay);
    cJSON_AddNumberToObject(t, "joint_weight_decay", h.joint_weight_decay);
    cJSON_AddNumberToObject(t, "grad_clip", h.grad_clip);
    cJSON_AddNumberToObject(t, "seed", (double)h.seed);
    cJSON_AddNumberToObject(t, "log_every", h.log_every);
    cJSON_AddNumberToObject(t, "checkpoint_every", h.checkpoint_every);
    cJSON_AddNumberToObject(t, "eval_batch", h.eval_batch);
    cJSON_AddStringToObject(t, "precision", experiment_precision_names[h.precision]);
    cJSON_AddStringToObject(t, "old_features", experiment_old_feature_names[h.old_per_step]);
    int n;
    const StrategyDesc *const *all = strategy_all(&n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < all[i]->n_hypers; k++) {
            const StrategyHyper *sh = &all[i]->hypers[k];
            const char *const *names = strategy_hyper_choices(all[i], k);
            /* a test set's name is given in a variant only (zscl's reference): no default to write */
            if (cJSON_GetObjectItemCaseSensitive(t, sh->train_key) || names == STRATEGY_TEST_SET) continue;
            if (names) cJSON_AddStringToObject(t, sh->train_key, names[(int)sh->def]);
            else cJSON_AddNumberToObject(t, sh->train_key, sh->def);
        }
}

char *experiment_template_json(void) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON_AddStringToObject(r, "name", "mine");
    cJSON_AddStringToObject(r, "model", "configs/starter.json");
    cJSON_AddStringToObject(r, "tokenizer", "data/bpe_simple_vocab_16e6.txt.gz");
    cJSON *d = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "datasets"), "mine");
    cJSON_AddStringToObject(d, "format", "manifest");
    cJSON_AddStringToObject(d, "input", "my.jsonl");
    cJSON_AddNumberToObject(selection(cJSON_AddObjectToObject(r, "phase0"), "train"), "epochs", experiment_default_hyper().epochs);
    cJSON *s = selection(cJSON_AddObjectToObject(r, "stream"), "train");
    cJSON_AddStringToObject(s, "mode", "random");
    cJSON_AddNumberToObject(s, "phases", 2);
    cJSON *ts = cJSON_CreateObject();
    cJSON_AddStringToObject(ts, "name", "mine");
    selection(ts, "test");
    cJSON_AddStringToObject(ts, "role", "heldout");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "test_sets"), ts);
    cJSON *st = cJSON_AddArrayToObject(r, "strategies");
    cJSON_AddItemToArray(st, cJSON_CreateString("finetune"));
    cJSON_AddItemToArray(st, cJSON_CreateString("modx"));
    cJSON *p = cJSON_AddObjectToObject(r, "probe");
    cJSON_AddStringToObject(p, "test_set", "mine");
    cJSON_AddNumberToObject(p, "pairs", EXP_DEFAULT_PROBE_PAIRS);
    train_defaults(cJSON_AddObjectToObject(r, "train"));
    char *text = cJSON_Print(r);
    cJSON_Delete(r);
    return text;
}
