#include "run/experiment.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/formats.h"
#include "eval/zeroshot_labels.h"
#include "io/file.h"

const char *testset_role_name(TestSetRole r) {
    return r == TESTSET_DOMAIN ? "domain" : r == TESTSET_HELDOUT ? "heldout" : r == TESTSET_ZEROSHOT ? "zeroshot"
                                                                                           : "train_sample";
}

ExpHyper experiment_default_hyper(void) {
    return (ExpHyper){.epochs = 1, .phase0_epochs = 1, .joint_epochs = 0, .batch = 32, .lr = 5e-4, .warmup = 0.2,
                      .weight_decay = 0.1, .joint_weight_decay = 0.01, .grad_clip = 0, .seed = 0, .log_every = 10,
                      .checkpoint_every = 0, .eval_batch = 128};
}

/* Parsing context: the file name for messages and the folder for paths. */
typedef struct {
    const char *file, *base;
    const Experiment *e; /* being parsed: its test sets name a STRATEGY_TEST_SET hyperparameter's values */
    int watch; /* experiment_load_watch: "datasets", "stream" and "test_sets" may be left out */
} Ctx;

static const char *json_type_name(const cJSON *v) {
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return isfinite(v->valuedouble) ? "a number" : "a number out of range (not finite as a double)";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

static ModxStatus bad(const Ctx *c, const char *key, const char *expected, const cJSON *found) {
    return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected %s, found %s", c->file, key, expected, json_type_name(found));
}

/* Every key of object `o` must be in allowed[]. */
static ModxStatus check_keys(const Ctx *c, const cJSON *o, const char *where, const char *const *allowed) {
    for (const cJSON *it = o->child; it; it = it->next) {
        int ok = 0;
        for (int k = 0; allowed[k]; k++) ok |= !strcmp(it->string, allowed[k]);
        if (!ok) {
            char list[512] = "";
            for (int k = 0; allowed[k]; k++) {
                strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, allowed[k], sizeof list - strlen(list) - 1);
            }
            return modx_fail(MODX_ERR_INVALID, "%s: unknown key '%s%s%s' (expected one of: %s)", c->file,
                             where[0] ? where : "", where[0] ? "." : "", it->string, list);
        }
    }
    return MODX_OK;
}

static ModxStatus get_obj(const Ctx *c, const cJSON *o, const char *key, const char *full, int required,
                          const cJSON **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v) return required ? modx_fail(MODX_ERR_INVALID, "%s: missing key '%s' (an object)", c->file, full) : MODX_OK;
    if (!cJSON_IsObject(v)) return bad(c, full, "an object", v);
    *out = v;
    return MODX_OK;
}

static ModxStatus get_str(const Ctx *c, const cJSON *o, const char *key, const char *full, int required,
                          const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v) return required ? modx_fail(MODX_ERR_INVALID, "%s: missing key '%s' (a string)", c->file, full) : MODX_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0]) return bad(c, full, "a non-empty string", v);
    *out = v->valuestring;
    return MODX_OK;
}

static ModxStatus get_num(const Ctx *c, const cJSON *o, const char *key, const char *full, double lo, double hi,
                          double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return MODX_OK; /* keeps the default */
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(c, full, "a number", v);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected a number in [%g, %g], found %g", c->file, full, lo, hi,
                         v->valuedouble);
    *out = v->valuedouble;
    return MODX_OK;
}

static ModxStatus get_int(const Ctx *c, const cJSON *o, const char *key, const char *full, long lo, long hi,
                          int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return MODX_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) return bad(c, full, "an integer", v);
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected an integer in [%ld, %ld], found %g", c->file, full, lo,
                         hi, v->valuedouble);
    *out = (int)v->valuedouble;
    return MODX_OK;
}

static ModxStatus resolve_path(const Ctx *c, const char *key, const char *rel, int dir, char **out);

/* A cache path: the file, or the folder `modx data prepare` wrote (its dataset.cache). */
static ModxStatus resolve_cache(const Ctx *c, const char *key, const char *rel, char **out) {
    char *joined = rel[0] == '/' ? strdup(rel) : dataset_join_path(c->base, rel);
    if (!joined) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    int folder = io_dir_exists(joined);
    free(joined);
    if (!folder) return resolve_path(c, key, rel, 0, out);
    size_t n = strlen(rel) + sizeof "/dataset.cache";
    char *inside = malloc(n);
    if (!inside) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    snprintf(inside, n, "%s/dataset.cache", rel);
    ModxStatus st = resolve_path(c, key, inside, 0, out);
    free(inside);
    return st;
}

/* Joins base and rel; the result must exist (a file, or a folder when dir = 1). */
static ModxStatus resolve_path(const Ctx *c, const char *key, const char *rel, int dir, char **out) {
    char *joined = rel[0] == '/' ? strdup(rel) : dataset_join_path(c->base, rel);
    if (!joined) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    if (dir ? !io_dir_exists(joined) : !io_file_exists(joined)) {
        ModxStatus st = modx_fail(MODX_ERR_INVALID, "%s: '%s': %s %s does not exist (relative paths are relative to %s)",
                                  c->file, key, dir ? "folder" : "file", joined, c->base);
        free(joined);
        return st;
    }
    char *abs = realpath(joined, NULL);
    free(joined);
    if (!abs) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    *out = abs;
    return MODX_OK;
}

static int find_dataset(const Experiment *e, const char *name) {
    for (int i = 0; i < e->n_datasets; i++)
        if (!strcmp(e->datasets[i].name, name)) return i;
    return -1;
}

int experiment_find_test(const Experiment *e, const char *name) {
    for (int i = 0; i < e->n_tests; i++)
        if (!strcmp(e->tests[i].name, name)) return i;
    return -1;
}

static ModxStatus copy_name(const Ctx *c, const char *key, const char *v, char *dst) {
    if (strlen(v) >= EXP_NAME_MAX)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': name '%s' is longer than %d characters", c->file, key, v,
                         EXP_NAME_MAX - 1);
    for (const char *p = v; *p; p++)
        if (*p == '/' || *p == '"' || *p == '\\' || *p == ',' || (unsigned char)*p < 32)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': name '%s' may not contain '/', '\"', '\\\\', ',' or control characters",
                             c->file, key, v);
    strcpy(dst, v);
    return MODX_OK;
}

/* {"dataset", "split", "domains"} (plus the caller's own keys). */
static ModxStatus parse_selection(const Ctx *c, Experiment *e, const cJSON *o, const char *where,
                                  const char *default_split, ExpSelection *sel) {
    char key[128];
    const char *ds, *split;
    snprintf(key, sizeof key, "%s.dataset", where);
    MODX_TRY(get_str(c, o, "dataset", key, 1, &ds));
    sel->dataset = find_dataset(e, ds);
    if (sel->dataset < 0)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': dataset '%s' is not defined under \"datasets\"", c->file, key, ds);
    snprintf(key, sizeof key, "%s.split", where);
    MODX_TRY(get_str(c, o, "split", key, 0, &split));
    if (dataset_parse_splits(split ? split : default_split, &sel->split_mask) != MODX_OK) {
        modx_error_prefix("%s: '%s': ", c->file, key);
        return MODX_ERR_INVALID;
    }
    snprintf(key, sizeof key, "%s.domains", where);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domains");
    if (d) {
        if (!cJSON_IsArray(d) || cJSON_GetArraySize(d) < 1) return bad(c, key, "a non-empty array of domain names", d);
        if (cJSON_GetArraySize(d) > EXP_MAX_DOMAINS)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': at most %d domains", c->file, key, EXP_MAX_DOMAINS);
        const cJSON *it;
        cJSON_ArrayForEach(it, d) {
            if (!cJSON_IsString(it) || !it->valuestring[0]) return bad(c, key, "domain names (strings)", it);
            for (int k = 0; k < sel->n_domains; k++)
                if (!strcmp(sel->domains[k], it->valuestring))
                    return modx_fail(MODX_ERR_INVALID, "%s: '%s': domain '%s' is listed twice", c->file, key,
                                     it->valuestring);
            if (!(sel->domains[sel->n_domains++] = strdup(it->valuestring)))
                return modx_fail(MODX_ERR_NOMEM, "out of memory");
        }
    }
    return MODX_OK;
}

static ModxStatus parse_datasets(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *o;
    MODX_TRY(get_obj(c, root, "datasets", "datasets", !c->watch, &o));
    int n = o ? cJSON_GetArraySize(o) : 0;
    if (!n && c->watch) return MODX_OK;
    if (n < 1) return modx_fail(MODX_ERR_INVALID, "%s: 'datasets': expected at least one dataset, found none", c->file);
    e->datasets = calloc((size_t)n, sizeof *e->datasets);
    if (!e->datasets) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    static const char *const keys[] = {"cache", "format", "input", "images", "split", NULL};
    for (const cJSON *it = o->child; it; it = it->next) {
        char where[160], key[200];
        snprintf(where, sizeof where, "datasets.%s", it->string);
        if (!cJSON_IsObject(it)) return bad(c, where, "an object with \"cache\" or \"format\" + \"input\"", it);
        ExpDataset *d = &e->datasets[e->n_datasets++];
        MODX_TRY(copy_name(c, where, it->string, d->name));
        MODX_TRY(check_keys(c, it, where, keys));
        const char *cache, *format, *input, *images, *split;
        snprintf(key, sizeof key, "%s.cache", where);
        MODX_TRY(get_str(c, it, "cache", key, 0, &cache));
        snprintf(key, sizeof key, "%s.format", where);
        MODX_TRY(get_str(c, it, "format", key, 0, &format));
        if (!cache == !format)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected either \"cache\" (a prepared cache) or \"format\" + "
                             "\"input\" (a dataset to prepare), found %s", c->file, where, cache ? "both" : "neither");
        if (cache) {
            for (int k = 2; keys[k]; k++)
                if (cJSON_GetObjectItemCaseSensitive(it, keys[k]))
                    return modx_fail(MODX_ERR_INVALID, "%s: '%s.%s': not used with \"cache\" (a cache is already prepared)",
                                     c->file, where, keys[k]);
            snprintf(key, sizeof key, "%s.cache", where);
            MODX_TRY(resolve_cache(c, key, cache, &d->cache));
            continue;
        }
        const DatasetFormat *fmt = dataset_format_find(format);
        if (!fmt) {
            modx_error_prefix("%s: '%s.format': ", c->file, where);
            return MODX_ERR_INVALID;
        }
        if (!(d->format = strdup(format))) return MODX_ERR_NOMEM;
        snprintf(key, sizeof key, "%s.input", where);
        MODX_TRY(get_str(c, it, "input", key, 1, &input));
        MODX_TRY(resolve_path(c, key, input, 0, &d->input));
        snprintf(key, sizeof key, "%s.images", where);
        MODX_TRY(get_str(c, it, "images", key, fmt->needs_images, &images));
        if (images) MODX_TRY(resolve_path(c, key, images, 1, &d->images));
        snprintf(key, sizeof key, "%s.split", where);
        MODX_TRY(get_str(c, it, "split", key, 0, &split));
        if (split) {
            unsigned mask;
            if (dataset_parse_splits(split, &mask) != MODX_OK) {
                modx_error_prefix("%s: '%s': ", c->file, key);
                return MODX_ERR_INVALID;
            }
            if (!(d->splits = strdup(split))) return MODX_ERR_NOMEM;
        }
    }
    return MODX_OK;
}

/* The registry's hyperparameter whose "train" key is `key`, NULL when none. */
static const StrategyHyper *train_hyper(const char *key) {
    int n;
    const StrategyDesc *const *all = strategy_all(&n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < all[i]->n_hypers; j++)
            if (!strcmp(all[i]->hypers[j].train_key, key)) return &all[i]->hypers[j];
    return NULL;
}

/* A test set a strategy trains on (zscl's reference) must not be one whose
 * R@1 the retention figures read: the scores would measure the data it
 * distils on. `heldout` and `train_sample` sets are accepted. */
static ModxStatus reference_role(const Ctx *c, const char *full, int i) {
    const ExpTestSet *t = &c->e->tests[i];
    if (t->role != TESTSET_DOMAIN && t->role != TESTSET_ZEROSHOT) return MODX_OK;
    return modx_fail(MODX_ERR_INVALID, "%s: '%s': test set '%s' has role '%s', whose scores are retention figures: a "
                     "strategy may not train on it; name a set of role 'train_sample' or 'heldout' (e.g. {\"name\": "
                     "\"ref\", \"dataset\": ..., \"split\": \"train\", \"sample\": 400, \"role\": \"train_sample\"})",
                     c->file, full, t->name, testset_role_name(t->role));
}

/* A strategy hyperparameter's value v of JSON item `it` at `full`, checked. */
static ModxStatus hyper_value(const Ctx *c, const cJSON *it, const char *full, const StrategyHyper *h, double *v) {
    const char *const *names = strategy_hyper_choices_of(h);
    if (names == STRATEGY_TEST_SET) { /* a test set's name; the value is its index */
        for (int i = 0; i < c->e->n_tests && cJSON_IsString(it); i++)
            if (!strcmp(it->valuestring, c->e->tests[i].name)) return *v = i, reference_role(c, full, i);
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected the name of one of 'test_sets' (in a strategy variant), "
                         "found %s%.64s%s (%s)", c->file, full, cJSON_IsString(it) ? "'" : json_type_name(it),
                         cJSON_IsString(it) ? it->valuestring : "", cJSON_IsString(it) ? "'" : "", h->doc);
    }
    if (names) { /* one of its names; the value is the name's index */
        char list[256] = "";
        for (int i = 0; names[i]; i++) {
            if (cJSON_IsString(it) && !strcmp(it->valuestring, names[i])) return *v = i, MODX_OK;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", i ? ", " : "", names[i]);
        }
        if (cJSON_IsString(it))
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected one of %s, found '%.64s' (%s)", c->file, full, list,
                             it->valuestring, h->doc);
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected one of %s, found %s (%s)", c->file, full, list,
                         json_type_name(it), h->doc);
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) return bad(c, full, h->integer ? "an integer" : "a number", it);
    *v = it->valuedouble;
    if (*v < h->lo || *v > h->hi)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected %s in [%g, %g], found %g (%s)", c->file, full,
                         h->integer ? "an integer" : "a number", h->lo, h->hi, *v, h->doc);
    if (h->integer && *v != floor(*v)) return bad(c, full, "an integer", it);
    return MODX_OK;
}

/* The keys of "train" that set strategy hyperparameter defaults. */
static ModxStatus parse_strategy_keys(const Ctx *c, ExpHyper *h, const cJSON *t, const char *const *generic) {
    for (const cJSON *it = t->child; it; it = it->next) {
        int known = 0;
        for (int k = 0; generic[k]; k++) known |= !strcmp(it->string, generic[k]);
        if (known) continue;
        const StrategyHyper *hy = train_hyper(it->string);
        if (!hy) {
            char list[1024] = "";
            int n;
            const StrategyDesc *const *all = strategy_all(&n);
            for (int k = 0; generic[k]; k++) strcat(list, k ? ", " : ""), strcat(list, generic[k]);
            strcat(list, "; or a strategy hyperparameter:");
            for (int i = 0; i < n; i++)
                for (int j = 0; j < all[i]->n_hypers; j++)
                    if (train_hyper(all[i]->hypers[j].train_key) == &all[i]->hypers[j]) /* each key once */
                        strcat(list, " "), strcat(list, all[i]->hypers[j].train_key);
            return modx_fail(MODX_ERR_INVALID, "%s: unknown key 'train.%s' (expected one of: %s)", c->file, it->string,
                             list);
        }
        char full[96];
        snprintf(full, sizeof full, "train.%s", it->string);
        double v;
        MODX_TRY(hyper_value(c, it, full, hy, &v));
        for (int k = 0; k < h->n_strategy_keys; k++)
            if (!strcmp(h->strategy_keys[k].key, hy->train_key))
                return modx_fail(MODX_ERR_INVALID, "%s: 'train.%s' is given twice", c->file, it->string);
        CHECK(h->n_strategy_keys < EXP_MAX_STRATEGY_KEYS, "more strategy keys than the registry defines");
        h->strategy_keys[h->n_strategy_keys].key = hy->train_key;
        h->strategy_keys[h->n_strategy_keys++].value = v;
    }
    return MODX_OK;
}

/* One of `names` (NULL-terminated) at key; *out its index, unchanged when absent. */
static ModxStatus get_choice(const Ctx *c, const cJSON *t, const char *key, const char *full,
                             const char *const *names, int *out) {
    const char *v;
    MODX_TRY(get_str(c, t, key, full, 0, &v));
    if (!v) return MODX_OK;
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) return *out = i, MODX_OK;
    return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected \"%s\" or \"%s\", found \"%s\"", c->file, full, names[0],
                     names[1], v);
}

const char *const experiment_precision_names[] = {"fp32", "bf16", NULL};
const char *const experiment_old_feature_names[] = {"cache", "per_step", NULL};

/* train.precision and train.old_features. */
static ModxStatus parse_choices(const Ctx *c, ExpHyper *h, const cJSON *t) {
    MODX_TRY(get_choice(c, t, "precision", "train.precision", experiment_precision_names, &h->precision));
    return get_choice(c, t, "old_features", "train.old_features", experiment_old_feature_names, &h->old_per_step);
}

static ModxStatus parse_hyper(const Ctx *c, ExpHyper *h, const cJSON *t) {
    static const char *const keys[] = {"epochs", "phase0_epochs", "joint_epochs", "batch", "lr", "warmup",
                                       "weight_decay", "joint_weight_decay", "grad_clip", "seed", "log_every",
                                       "checkpoint_every", "eval_batch", "precision", "old_features", NULL};
    MODX_TRY(parse_strategy_keys(c, h, t, keys));
    MODX_TRY(parse_choices(c, h, t));
    int seed = 0;
    MODX_TRY(get_int(c, t, "epochs", "train.epochs", 1, 100000, &h->epochs));
    h->phase0_epochs = h->epochs;
    MODX_TRY(get_int(c, t, "phase0_epochs", "train.phase0_epochs", 1, 100000, &h->phase0_epochs));
    MODX_TRY(get_int(c, t, "joint_epochs", "train.joint_epochs", 1, 100000, &h->joint_epochs));
    MODX_TRY(get_int(c, t, "batch", "train.batch", 2, 65536, &h->batch));
    MODX_TRY(get_num(c, t, "lr", "train.lr", 0, 10, &h->lr));
    MODX_TRY(get_num(c, t, "warmup", "train.warmup", 0, 1, &h->warmup));
    MODX_TRY(get_num(c, t, "weight_decay", "train.weight_decay", 0, 10, &h->weight_decay));
    MODX_TRY(get_num(c, t, "joint_weight_decay", "train.joint_weight_decay", 0, 10, &h->joint_weight_decay));
    MODX_TRY(get_num(c, t, "grad_clip", "train.grad_clip", 0, 1e9, &h->grad_clip));
    MODX_TRY(get_int(c, t, "seed", "train.seed", 0, INT_MAX, &seed));
    h->seed = (uint64_t)seed;
    MODX_TRY(get_int(c, t, "log_every", "train.log_every", 1, INT_MAX, &h->log_every));
    MODX_TRY(get_int(c, t, "checkpoint_every", "train.checkpoint_every", 0, INT_MAX, &h->checkpoint_every));
    MODX_TRY(get_int(c, t, "eval_batch", "train.eval_batch", 1, 65536, &h->eval_batch));
    return MODX_OK;
}

/* A variant or strategy name: it names a folder of the run. */
static ModxStatus check_strategy_name(const Ctx *c, const char *where, const char *name) {
    /* the run directory's own files and folders (docs/run-directory.md) */
    static const char *const reserved[] = {"phase0", "data", "run.json", "experiment.json", "metrics.jsonl",
                                           "results.csv", "results.md", "report.html", "analysis.json",
                                           "summary.json", "summary.md", NULL};
    size_t n = strlen(name);
    int ok = n >= 1 && n < STRATEGY_NAME_MAX && name[0] != '.';
    for (int k = 0; ok && reserved[k]; k++) ok = strcmp(name, reserved[k]) != 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)name[i]) || strchr("._+-", name[i]) != NULL;
    if (!ok)
        return modx_fail(MODX_ERR_INVALID, "%s: %s: name '%s': expected 1 to %d letters, digits or . _ + - (not "
                         "starting with '.', not a file or folder of the run such as 'phase0', 'data', "
                         "'run.json': it names a folder of the run)",
                         c->file, where, name, STRATEGY_NAME_MAX - 1);
    return MODX_OK;
}

static ModxStatus unknown_variant_key(const Ctx *c, const char *where, const char *key, const StrategyDesc *d) {
    char list[512] = "name, strategy";
    for (int j = 0; j < d->n_hypers; j++) strcat(list, ", "), strcat(list, d->hypers[j].key);
    return modx_fail(MODX_ERR_INVALID, "%s: %s: unknown key '%s' (strategy '%s' takes: %s)", c->file, where, key,
                     d->name, list);
}

/* A variant object: {"name": N, "strategy": S, <S's hyperparameter keys>}. */
static ModxStatus parse_variant(const Ctx *c, const cJSON *o, int idx, StrategyInst *si) {
    char where[160];
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name"), *sv = cJSON_GetObjectItemCaseSensitive(o, "strategy");
    snprintf(where, sizeof where, "'strategies[%d]'%s%.64s%s", idx, cJSON_IsString(nm) ? " (" : "",
             cJSON_IsString(nm) ? nm->valuestring : "", cJSON_IsString(nm) ? ")" : "");
    if (!cJSON_IsString(sv))
        return modx_fail(MODX_ERR_INVALID, "%s: %s: 'strategy': expected a strategy name (a string), found %s", c->file,
                         where, json_type_name(sv));
    if (nm && !cJSON_IsString(nm))
        return modx_fail(MODX_ERR_INVALID, "%s: %s: 'name': expected a string, found %s", c->file, where,
                         json_type_name(nm));
    const StrategyDesc *d;
    if (strategy_lookup(sv->valuestring, &d) != MODX_OK) {
        modx_error_prefix("%s: %s: ", c->file, where);
        return MODX_ERR_INVALID;
    }
    strategy_inst_init(si, d);
    si->variant = 1;
    if (nm) snprintf(si->name, sizeof si->name, "%s", nm->valuestring);
    for (const cJSON *it = o->child; it; it = it->next) {
        if (!strcmp(it->string, "name") || !strcmp(it->string, "strategy")) continue;
        int h = strategy_hyper_index(d, it->string);
        if (h < 0) return unknown_variant_key(c, where, it->string, d);
        char full[256];
        snprintf(full, sizeof full, "%s.%s", where, it->string);
        MODX_TRY(hyper_value(c, it, full, &d->hypers[h], &si->hp[h]));
    }
    if (nm && strlen(nm->valuestring) >= STRATEGY_NAME_MAX) return check_strategy_name(c, where, nm->valuestring);
    const StrategyDesc *other = strategy_find(si->name);
    if (other && other != d) /* results and figures find the reference strategies (joint, finetune) by name */
        return modx_fail(MODX_ERR_INVALID, "%s: %s: name '%s' is the name of another strategy; a variant of '%s' "
                         "needs its own name", c->file, where, si->name, d->name);
    return check_strategy_name(c, where, si->name);
}

/* "train" defaults into a plain strategy (a variant's own keys win). */
static void apply_train_defaults(const ExpHyper *h, StrategyInst *si, const cJSON *variant) {
    for (int j = 0; j < si->desc->n_hypers; j++) {
        const StrategyHyper *hy = &si->desc->hypers[j];
        if (variant && cJSON_GetObjectItemCaseSensitive(variant, hy->key)) continue;
        for (int k = 0; k < h->n_strategy_keys; k++)
            if (!strcmp(h->strategy_keys[k].key, hy->train_key)) si->hp[j] = h->strategy_keys[k].value;
    }
}

/* ---- list-valued variant keys ---- */

static ModxStatus add_strategy(const Ctx *c, Experiment *e, const cJSON *it, int idx);

/* `where` of a variant entry in messages: 'strategies[i]' (name). */
static void variant_where(char *where, size_t n, const cJSON *o, int idx) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    snprintf(where, n, "'strategies[%d]'%s%.64s%s", idx, cJSON_IsString(nm) ? " (" : "",
             cJSON_IsString(nm) ? nm->valuestring : "", cJSON_IsString(nm) ? ")" : "");
}

/* The list-valued keys of variant object o, checked: only hyperparameters (not "name" or
 * "strategy"), non-empty, numbers or named values (strings, e.g. a policy), no value twice, and each
 * a {key} of the name. */
static ModxStatus variant_lists(const Ctx *c, const cJSON *o, const char *where, const cJSON **lists, int *nl,
                                long *combos) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name"), *sv = cJSON_GetObjectItemCaseSensitive(o, "strategy");
    *nl = 0, *combos = 1;
    for (const cJSON *it = o->child; it; it = it->next) {
        if (!cJSON_IsArray(it)) continue;
        if (!strcmp(it->string, "name") || !strcmp(it->string, "strategy"))
            return modx_fail(MODX_ERR_INVALID, "%s: %s: '%s': expected a string, found an array (a list of values is "
                             "allowed only for the strategy's hyperparameters)", c->file, where, it->string);
        const StrategyDesc *d = cJSON_IsString(sv) ? strategy_find(sv->valuestring) : NULL;
        if (d && strategy_hyper_index(d, it->string) < 0) return unknown_variant_key(c, where, it->string, d);
        int n = cJSON_GetArraySize(it);
        if (n < 1)
            return modx_fail(MODX_ERR_INVALID, "%s: %s.%s: expected a number or a non-empty list of numbers, found an "
                             "empty list", c->file, where, it->string);
        if (*nl == EXP_MAX_LIST_KEYS)
            return modx_fail(MODX_ERR_INVALID, "%s: %s: more than %d list-valued keys", c->file, where, EXP_MAX_LIST_KEYS);
        for (int k = 0; k < n; k++) {
            const cJSON *v = cJSON_GetArrayItem(it, k);
            if (!(cJSON_IsNumber(v) && isfinite(v->valuedouble)) && !cJSON_IsString(v))
                return modx_fail(MODX_ERR_INVALID, "%s: %s.%s[%d]: expected a number (or a named value), found %s",
                                 c->file, where, it->string, k, json_type_name(v));
            for (int j = 0; j < k; j++)
                if (cJSON_Compare(cJSON_GetArrayItem(it, j), v, 1))
                    return modx_fail(MODX_ERR_INVALID, "%s: %s.%s: the value at [%d] is listed again at [%d]", c->file,
                                     where, it->string, j, k);
        }
        char ph[80];
        snprintf(ph, sizeof ph, "{%s}", it->string);
        if (!cJSON_IsString(nm) || !strstr(nm->valuestring, ph))
            return modx_fail(MODX_ERR_INVALID, "%s: %s: 'name': a list-valued '%s' needs %s in the name (e.g. "
                             "\"%s-%s\"), else every variant of the list gets the same name", c->file, where,
                             it->string, ph, cJSON_IsString(sv) ? sv->valuestring : "x", ph);
        *combos *= n;
        if (*combos > EXP_MAX_STRATEGIES)
            return modx_fail(MODX_ERR_INVALID, "%s: %s: the lists make more than %d variants", c->file, where,
                             EXP_MAX_STRATEGIES);
        lists[(*nl)++] = it;
    }
    return MODX_OK;
}

/* Fills each {key} of name template t with v[key] (a number as "%g", a named value as it is) into out. */
static ModxStatus fill_name(const Ctx *c, const char *where, const char *t, const cJSON *v, char *out, size_t cap) {
    size_t w = 0;
    for (const char *p = t; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        char piece[96];
        if (!close) {
            piece[0] = *p++, piece[1] = 0;
        } else {
            char key[64];
            size_t kl = (size_t)(close - p - 1);
            snprintf(key, sizeof key, "%.*s", (int)(kl < sizeof key ? kl : sizeof key - 1), p + 1);
            const cJSON *x = strcmp(key, "name") && strcmp(key, "strategy") ? cJSON_GetObjectItemCaseSensitive(v, key)
                                                                            : NULL;
            if (!cJSON_IsNumber(x) && !cJSON_IsString(x))
                return modx_fail(MODX_ERR_INVALID, "%s: %s: 'name': '{%s}' is not a hyperparameter key of this variant",
                                 c->file, where, key);
            if (cJSON_IsString(x)) snprintf(piece, sizeof piece, "%.80s", x->valuestring);
            else snprintf(piece, sizeof piece, "%g", x->valuedouble);
            p = close + 1;
        }
        size_t pl = strlen(piece);
        if (w + pl >= cap)
            return modx_fail(MODX_ERR_INVALID, "%s: %s: 'name': longer than %zu characters once filled in", c->file,
                             where, cap - 1);
        memcpy(out + w, piece, pl + 1);
        w += pl;
    }
    return MODX_OK;
}

/* A variant object: one variant, or with list-valued keys one per combination of their values (the
 * cartesian product, the first list key varying slowest), each named by filling in its {key}s. */
static ModxStatus expand_variant(const Ctx *c, Experiment *e, const cJSON *o, int idx) {
    char where[160];
    variant_where(where, sizeof where, o, idx);
    const cJSON *lists[EXP_MAX_LIST_KEYS];
    int nl;
    long combos;
    MODX_TRY(variant_lists(c, o, where, lists, &nl, &combos));
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!nl && !(cJSON_IsString(nm) && strchr(nm->valuestring, '{'))) return add_strategy(c, e, o, idx);
    ModxStatus st = MODX_OK;
    for (long k = 0; k < combos && st == MODX_OK; k++) {
        cJSON *v = cJSON_Duplicate(o, 1);
        if (!v) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        long rest = k;
        for (int l = nl - 1; l >= 0; l--) { /* the last list varies fastest */
            int n = cJSON_GetArraySize(lists[l]);
            const cJSON *x = cJSON_GetArrayItem(lists[l], (int)(rest % n));
            rest /= n;
            cJSON_ReplaceItemInObjectCaseSensitive(v, lists[l]->string, cJSON_Duplicate(x, 1));
        }
        char name[STRATEGY_NAME_MAX * 2];
        if (cJSON_IsString(nm)) st = fill_name(c, where, nm->valuestring, v, name, sizeof name);
        if (st == MODX_OK && cJSON_IsString(nm))
            cJSON_ReplaceItemInObjectCaseSensitive(v, "name", cJSON_CreateString(name));
        if (st == MODX_OK) st = add_strategy(c, e, v, idx);
        cJSON_Delete(v);
    }
    return st;
}

/* A hyperparameter without a default (STRATEGY_REQUIRED: zscl's reference) must be given in a variant. */
static ModxStatus required_hypers(const Ctx *c, const StrategyInst *si, int idx) {
    for (int j = 0; j < si->desc->n_hypers; j++) {
        const StrategyHyper *h = &si->desc->hypers[j];
        if (h->def != STRATEGY_REQUIRED || si->hp[j] != STRATEGY_REQUIRED) continue;
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies[%d]' (%s): strategy '%s' needs '%s', which has no default: "
                         "give it in a variant, {\"name\": \"%s\", \"strategy\": \"%s\", \"%s\": ...} (%s)",
                         c->file, idx, si->name, si->desc->name, h->key, si->name, si->desc->name, h->key, h->doc);
    }
    return MODX_OK;
}

/* One strategy of the list: a name, or a variant object without lists; `idx` is its entry in the file. */
static ModxStatus add_strategy(const Ctx *c, Experiment *e, const cJSON *it, int idx) {
    if (e->n_strategies >= EXP_MAX_STRATEGIES)
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': more than %d strategies (variant lists included)",
                         c->file, EXP_MAX_STRATEGIES);
    StrategyInst *si = &e->strategies[e->n_strategies];
    if (cJSON_IsObject(it)) {
        MODX_TRY(parse_variant(c, it, idx, si));
    } else if (!cJSON_IsString(it)) {
        return bad(c, "strategies", "strategy names (strings) or variant objects", it);
    } else if (strategy_inst_named(si, it->valuestring) != MODX_OK) {
        modx_error_prefix("%s: 'strategies': ", c->file);
        return MODX_ERR_INVALID;
    }
    apply_train_defaults(&e->hp, si, cJSON_IsObject(it) ? it : NULL);
    MODX_TRY(required_hypers(c, si, idx));
    for (int j = 0; j < e->n_strategies; j++)
        if (!strcmp(e->strategies[j].name, si->name))
            return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': '%s' is listed twice%s", c->file, si->name,
                             si->variant ? " (give the variant its own \"name\")" : "");
    e->n_strategies++;
    return MODX_OK;
}

static ModxStatus parse_strategies(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "strategies");
    if (!sa) return modx_fail(MODX_ERR_INVALID, "%s: missing key 'strategies' (an array of strategy names)", c->file);
    if (!cJSON_IsArray(sa) || cJSON_GetArraySize(sa) < 1) return bad(c, "strategies", "a non-empty array of names", sa);
    int n = cJSON_GetArraySize(sa);
    if (n > EXP_MAX_STRATEGIES)
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': %d entries, at most %d", c->file, n, EXP_MAX_STRATEGIES);
    if (!(e->strategies = calloc(EXP_MAX_STRATEGIES, sizeof *e->strategies)))
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    const cJSON *it;
    int idx = 0;
    cJSON_ArrayForEach(it, sa) {
        MODX_TRY(cJSON_IsObject(it) ? expand_variant(c, e, it, idx) : add_strategy(c, e, it, idx));
        idx++;
    }
    return MODX_OK;
}

/* A zero-shot test set's "labels", "classes" and "templates" (the files read
 * and checked here, before anything runs); these keys on another role are errors. */
static ModxStatus parse_zeroshot(const Ctx *c, const Experiment *e, const cJSON *it, const char *where, ExpTestSet *t) {
    static const char *const zk[] = {"labels", "classes", "templates"};
    char key[128];
    const char *v[3];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "%s.%s", where, zk[k]);
        MODX_TRY(get_str(c, it, zk[k], key, 0, &v[k]));
        if (v[k] && t->role != TESTSET_ZEROSHOT)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': applies only to \"role\": \"zeroshot\"", c->file, key);
    }
    if (t->role != TESTSET_ZEROSHOT) return MODX_OK;
    if (!e->tokenizer)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': a zero-shot test set needs \"tokenizer\" (the BPE merges its "
                         "prompts are tokenized with)", c->file, where);
    snprintf(key, sizeof key, "%s.labels", where);
    t->zs.labels = !v[0] || !strcmp(v[0], "domain") ? 0 : !strcmp(v[0], "caption") ? 1 : 2;
    char *joined = t->zs.labels == 2 ? (v[0][0] == '/' ? strdup(v[0]) : dataset_join_path(c->base, v[0])) : NULL;
    int exists = joined && io_file_exists(joined);
    free(joined);
    if (t->zs.labels == 2 && !exists)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected \"domain\", \"caption\" or a labels file "
                         "({\"image\": INDEX, \"label\": NAME} per line), found '%s' (no such file relative to %s)",
                         c->file, key, v[0], c->base);
    if (t->zs.labels == 2) MODX_TRY(resolve_path(c, key, v[0], 0, &t->zs.labels_file));
    if (t->zs.labels == 2 && (cJSON_GetObjectItemCaseSensitive(it, "domains") || t->sample))
        return modx_fail(MODX_ERR_INVALID, "%s: '%s': a labels file lists its images; \"domains\" and \"sample\" "
                         "do not apply", c->file, key);
    char **dst[2] = {&t->zs.classes, &t->zs.templates};
    for (int k = 1; k < 3; k++) {
        if (!v[k]) continue;
        snprintf(key, sizeof key, "%s.%s", where, zk[k]);
        MODX_TRY(resolve_path(c, key, v[k], 0, dst[k - 1]));
        ZsNames l = {0};
        ModxStatus st = k == 1 ? zs_read_lines(*dst[k - 1], "class names", &l) : zs_read_templates(*dst[k - 1], &l);
        zs_names_free(&l);
        if (st != MODX_OK) modx_error_prefix("%s: '%s': ", c->file, key);
        MODX_TRY(st);
    }
    return MODX_OK;
}

static ModxStatus parse_tests(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "test_sets");
    if (!a && c->watch) return MODX_OK;
    if (!a) return modx_fail(MODX_ERR_INVALID, "%s: missing key 'test_sets' (an array of test sets)", c->file);
    if (!cJSON_IsArray(a) || (cJSON_GetArraySize(a) < 1 && !c->watch)) return bad(c, "test_sets", "a non-empty array", a);
    int n = cJSON_GetArraySize(a);
    if (!n) return MODX_OK;
    e->tests = calloc((size_t)n, sizeof *e->tests);
    if (!e->tests) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    static const char *const keys[] = {"name",   "dataset", "split",  "domains",   "role", "first_phase",
                                       "sample", "labels",  "classes", "templates", NULL};
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        char where[64], key[128];
        snprintf(where, sizeof where, "test_sets[%d]", e->n_tests);
        if (!cJSON_IsObject(it)) return bad(c, where, "an object", it);
        ExpTestSet *t = &e->tests[e->n_tests++];
        t->first_phase = -1;
        MODX_TRY(check_keys(c, it, where, keys));
        const char *name, *role;
        snprintf(key, sizeof key, "%s.name", where);
        MODX_TRY(get_str(c, it, "name", key, 1, &name));
        MODX_TRY(copy_name(c, key, name, t->name));
        for (int k = 0; k < e->n_tests - 1; k++)
            if (!strcmp(e->tests[k].name, name))
                return modx_fail(MODX_ERR_INVALID, "%s: '%s': test set name '%s' is used twice", c->file, key, name);
        MODX_TRY(parse_selection(c, e, it, where, "test", &t->sel));
        snprintf(key, sizeof key, "%s.role", where);
        MODX_TRY(get_str(c, it, "role", key, 0, &role));
        if (!role || !strcmp(role, "domain")) t->role = TESTSET_DOMAIN;
        else if (!strcmp(role, "heldout")) t->role = TESTSET_HELDOUT;
        else if (!strcmp(role, "train_sample")) t->role = TESTSET_TRAIN_SAMPLE;
        else if (!strcmp(role, "zeroshot")) t->role = TESTSET_ZEROSHOT;
        else
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected domain, heldout, train_sample or zeroshot, found '%s'",
                             c->file, key, role);
        snprintf(key, sizeof key, "%s.first_phase", where);
        MODX_TRY(get_int(c, it, "first_phase", key, 0, 100000, &t->first_phase));
        snprintf(key, sizeof key, "%s.sample", where);
        MODX_TRY(get_int(c, it, "sample", key, 1, INT_MAX, &t->sample));
        MODX_TRY(parse_zeroshot(c, e, it, where, t));
    }
    return MODX_OK;
}

/* "phase0": a checkpoint to start from, or a selection to train phase 0 on. */
static ModxStatus parse_phase0(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *p0;
    MODX_TRY(get_obj(c, root, "phase0", "phase0", 0, &p0));
    if (!p0) return MODX_OK;
    const char *s;
    if (cJSON_GetObjectItemCaseSensitive(p0, "checkpoint")) {
        static const char *const ckeys[] = {"checkpoint", NULL};
        MODX_TRY(check_keys(c, p0, "phase0", ckeys));
        MODX_TRY(get_str(c, p0, "checkpoint", "phase0.checkpoint", 1, &s));
        return resolve_path(c, "phase0.checkpoint", s, 0, &e->phase0_checkpoint);
    }
    static const char *const pkeys[] = {"dataset", "split", "domains", "epochs", NULL};
    MODX_TRY(check_keys(c, p0, "phase0", pkeys));
    MODX_TRY(parse_selection(c, e, p0, "phase0", "train", &e->phase0));
    MODX_TRY(get_int(c, p0, "epochs", "phase0.epochs", 1, 100000, &e->hp.phase0_epochs));
    e->has_phase0 = 1;
    return MODX_OK;
}

/* "shares": {DATASET: share, ...}: each dataset's share of the batches of a
 * strategy that trains on phase 0's set and the stream together (joint) when
 * they come from different datasets; exactly those two datasets, shares > 0. */
static ModxStatus parse_shares(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *m;
    MODX_TRY(get_obj(c, root, "shares", "shares", 0, &m));
    if (!m) return MODX_OK;
    if (!e->has_stream)
        return modx_fail(MODX_ERR_INVALID, "%s: 'shares': weighs phase 0's dataset against the stream's, but there is "
                         "no \"stream\"", c->file);
    if (!(e->shares = calloc((size_t)e->n_datasets, sizeof *e->shares))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (const cJSON *it = m->child; it; it = it->next) {
        char full[96];
        snprintf(full, sizeof full, "shares.%s", it->string);
        int d = find_dataset(e, it->string);
        if (d < 0) return modx_fail(MODX_ERR_INVALID, "%s: '%s': '%s' is not a dataset under \"datasets\"", c->file, full,
                                    it->string);
        if (!(e->has_phase0 && d == e->phase0.dataset) && d != e->stream.dataset)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': dataset '%s' is neither phase 0's nor the stream's", c->file,
                             full, it->string);
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble <= 0 || it->valuedouble > 1e6)
            return bad(c, full, "a number > 0 (a share, relative to the other dataset's)", it);
        e->shares[d] = it->valuedouble;
    }
    int p0 = e->has_phase0 ? e->phase0.dataset : -1, st = e->stream.dataset;
    if (p0 < 0 || p0 == st)
        return modx_fail(MODX_ERR_INVALID, "%s: 'shares': phase 0's set and the stream come from one dataset; \"shares\" "
                         "weighs two datasets (remove it)", c->file);
    for (int k = 0; k < 2; k++)
        if (!e->shares[k ? st : p0])
            return modx_fail(MODX_ERR_INVALID, "%s: 'shares': no share for dataset '%s' (%s); give both phase 0's and the "
                             "stream's", c->file, e->datasets[k ? st : p0].name, k ? "the stream's" : "phase 0's");
    return MODX_OK;
}

/* "stream": a selection plus how it is cut into phases. */
static ModxStatus parse_stream(const Ctx *c, Experiment *e, const cJSON *stream) {
    const char *s;
    static const char *const skeys[] = {"dataset", "split", "domains", "mode", "phases", NULL};
    MODX_TRY(check_keys(c, stream, "stream", skeys));
    MODX_TRY(parse_selection(c, e, stream, "stream", "train", &e->stream));
    MODX_TRY(get_str(c, stream, "mode", "stream.mode", 1, &s));
    if (phases_parse_mode(s, &e->mode) != MODX_OK) {
        modx_error_prefix("%s: 'stream.mode': ", c->file);
        return MODX_ERR_INVALID;
    }
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(stream, "phases");
    if (e->mode != PHASES_DOMAIN && !np)
        return modx_fail(MODX_ERR_INVALID, "%s: 'stream.phases': mode '%s' needs the number of phases (an integer >= 1)",
                         c->file, s);
    MODX_TRY(get_int(c, stream, "phases", "stream.phases", 1, 10000, &e->n_phases));
    if (e->mode == PHASES_DOMAIN && e->n_phases && e->stream.n_domains && e->n_phases != e->stream.n_domains)
        return modx_fail(MODX_ERR_INVALID, "%s: 'stream.phases': %d phases but %d domains listed (domain mode has one "
                         "phase per domain)", c->file, e->n_phases, e->stream.n_domains);
    e->has_stream = 1;
    return MODX_OK;
}

/* "seeds": a non-empty list of distinct integer seeds; train.seed must not be given beside it. */
static ModxStatus parse_seeds(const Ctx *c, Experiment *e, const cJSON *root) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "seeds");
    if (!a) return MODX_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1)
        return bad(c, "seeds", "a non-empty list of integer seeds (e.g. [0, 1, 2])", a);
    int n = cJSON_GetArraySize(a);
    if (n > EXP_MAX_SEEDS)
        return modx_fail(MODX_ERR_INVALID, "%s: 'seeds': %d seeds, at most %d", c->file, n, EXP_MAX_SEEDS);
    for (int k = 0; k < n; k++) {
        const cJSON *v = cJSON_GetArrayItem(a, k);
        char key[32];
        snprintf(key, sizeof key, "seeds[%d]", k);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble))
            return bad(c, key, "an integer", v);
        if (v->valuedouble < 0 || v->valuedouble > INT_MAX)
            return modx_fail(MODX_ERR_INVALID, "%s: '%s': expected an integer in [0, %d], found %g", c->file, key,
                             INT_MAX, v->valuedouble);
        e->seeds[k] = (int)v->valuedouble;
        for (int j = 0; j < k; j++)
            if (e->seeds[j] == e->seeds[k])
                return modx_fail(MODX_ERR_INVALID, "%s: 'seeds': seed %d is listed twice (seeds[%d] and seeds[%d])",
                                 c->file, e->seeds[k], j, k);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "train");
    if (cJSON_IsObject(t) && cJSON_GetObjectItemCaseSensitive(t, "seed"))
        return modx_fail(MODX_ERR_INVALID, "%s: 'train.seed' and 'seeds' are both given: with \"seeds\" each listed "
                         "seed is train.seed of one run; drop one of them", c->file);
    e->n_seeds = n;
    return MODX_OK;
}

static ModxStatus parse_root(const Ctx *c, Experiment *e, const cJSON *root) {
    static const char *const keys[] = {"name", "model", "tokenizer", "datasets", "phase0", "stream", "test_sets",
                                       "strategies", "probe", "train", "shares", "seeds", NULL};
    if (!cJSON_IsObject(root)) return bad(c, "(top level)", "an object", root);
    MODX_TRY(check_keys(c, root, "", keys));
    const char *s;
    MODX_TRY(get_str(c, root, "name", "name", 1, &s));
    MODX_TRY(copy_name(c, "name", s, e->name));
    MODX_TRY(get_str(c, root, "model", "model", 1, &s));
    MODX_TRY(resolve_path(c, "model", s, 0, &e->model));
    MODX_TRY(get_str(c, root, "tokenizer", "tokenizer", 0, &s));
    if (s) MODX_TRY(resolve_path(c, "tokenizer", s, 0, &e->tokenizer));
    MODX_TRY(parse_datasets(c, e, root));
    for (int i = 0; i < e->n_datasets; i++)
        if (!e->datasets[i].cache && !e->tokenizer)
            return modx_fail(MODX_ERR_INVALID, "%s: 'datasets.%s' must be prepared, which needs \"tokenizer\" (a BPE "
                             "merges file)", c->file, e->datasets[i].name);

    const cJSON *train;
    e->hp = experiment_default_hyper();
    MODX_TRY(get_obj(c, root, "train", "train", 0, &train));
    if (train) MODX_TRY(parse_hyper(c, &e->hp, train));
    if (!e->hp.joint_epochs) e->hp.joint_epochs = e->hp.epochs;

    MODX_TRY(parse_phase0(c, e, root));

    const cJSON *stream;
    MODX_TRY(get_obj(c, root, "stream", "stream", !c->watch, &stream));
    if (stream) MODX_TRY(parse_stream(c, e, stream));

    MODX_TRY(parse_shares(c, e, root));

    MODX_TRY(parse_tests(c, e, root));

    MODX_TRY(parse_strategies(c, e, root));
    MODX_TRY(parse_seeds(c, e, root));

    const cJSON *probe;
    MODX_TRY(get_obj(c, root, "probe", "probe", 0, &probe));
    if (e->n_tests) strcpy(e->probe_test, e->tests[0].name);
    e->probe_pairs = EXP_DEFAULT_PROBE_PAIRS;
    if (probe) {
        static const char *const pkeys[] = {"test_set", "pairs", NULL};
        MODX_TRY(check_keys(c, probe, "probe", pkeys));
        MODX_TRY(get_str(c, probe, "test_set", "probe.test_set", 0, &s));
        if (s) {
            if (experiment_find_test(e, s) < 0)
                return modx_fail(MODX_ERR_INVALID, "%s: 'probe.test_set': '%s' is not one of the test sets", c->file, s);
            strcpy(e->probe_test, s);
        }
        MODX_TRY(get_int(c, probe, "pairs", "probe.pairs", 2, 1000000, &e->probe_pairs));
    }
    return MODX_OK;
}

static cJSON *str_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

static cJSON *selection_json(const Experiment *e, const ExpSelection *s, cJSON *o) {
    cJSON_AddStringToObject(o, "dataset", e->datasets[s->dataset].name);
    static const char *const names[] = {"none", "train", "val", "test", "restval"};
    char split[64] = "";
    for (int k = 0; k < 5; k++)
        if (s->split_mask & (1u << k)) {
            if (split[0]) strcat(split, "+");
            strcat(split, names[k]);
        }
    cJSON_AddStringToObject(o, "split", split);
    if (s->n_domains) cJSON_AddItemToObject(o, "domains", cJSON_CreateStringArray((const char *const *)s->domains, s->n_domains));
    return o;
}

/* A plain strategy as its name; a variant as an object with every value. */
static cJSON *strategy_json(const Experiment *e, const StrategyInst *si) {
    if (!si->variant) return cJSON_CreateString(si->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", si->name);
    cJSON_AddStringToObject(o, "strategy", si->desc->name);
    for (int j = 0; j < si->desc->n_hypers; j++) {
        const char *const *names = strategy_hyper_choices(si->desc, j);
        if (names == STRATEGY_TEST_SET) cJSON_AddStringToObject(o, si->desc->hypers[j].key, e->tests[(int)si->hp[j]].name);
        else if (names) cJSON_AddStringToObject(o, si->desc->hypers[j].key, names[(int)si->hp[j]]);
        else cJSON_AddNumberToObject(o, si->desc->hypers[j].key, si->hp[j]);
    }
    return o;
}

static void build_json(Experiment *e) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", e->name);
    cJSON_AddStringToObject(r, "model", e->model);
    if (e->tokenizer) cJSON_AddStringToObject(r, "tokenizer", e->tokenizer);
    cJSON *ds = cJSON_AddObjectToObject(r, "datasets");
    for (int i = 0; i < e->n_datasets; i++) {
        const ExpDataset *d = &e->datasets[i];
        cJSON *o = cJSON_AddObjectToObject(ds, d->name);
        if (d->cache) {
            cJSON_AddStringToObject(o, "cache", d->cache);
            continue;
        }
        cJSON_AddStringToObject(o, "format", d->format);
        cJSON_AddStringToObject(o, "input", d->input);
        if (d->images) cJSON_AddStringToObject(o, "images", d->images);
        if (d->splits) cJSON_AddItemToObject(o, "split", str_or_null(d->splits));
    }
    if (e->phase0_checkpoint) {
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "phase0"), "checkpoint", e->phase0_checkpoint);
    } else if (e->has_phase0) {
        cJSON *p = selection_json(e, &e->phase0, cJSON_AddObjectToObject(r, "phase0"));
        cJSON_AddNumberToObject(p, "epochs", e->hp.phase0_epochs);
    }
    if (e->has_stream) {
        cJSON *s = selection_json(e, &e->stream, cJSON_AddObjectToObject(r, "stream"));
        cJSON_AddStringToObject(s, "mode", e->mode == PHASES_DOMAIN ? "domain" : e->mode == PHASES_RANDOM ? "random" : "contiguous");
        if (e->n_phases) cJSON_AddNumberToObject(s, "phases", e->n_phases);
    }
    cJSON *ts = cJSON_AddArrayToObject(r, "test_sets");
    for (int i = 0; i < e->n_tests; i++) {
        const ExpTestSet *t = &e->tests[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        selection_json(e, &t->sel, o);
        cJSON_AddStringToObject(o, "role", testset_role_name(t->role));
        if (t->first_phase >= 0) cJSON_AddNumberToObject(o, "first_phase", t->first_phase);
        if (t->sample) cJSON_AddNumberToObject(o, "sample", t->sample);
        if (t->role == TESTSET_ZEROSHOT) {
            static const char *const src[] = {"domain", "caption"};
            cJSON_AddStringToObject(o, "labels", t->zs.labels < 2 ? src[t->zs.labels] : t->zs.labels_file);
            if (t->zs.classes) cJSON_AddStringToObject(o, "classes", t->zs.classes);
            if (t->zs.templates) cJSON_AddStringToObject(o, "templates", t->zs.templates);
        }
        cJSON_AddItemToArray(ts, o);
    }
    cJSON *sa = cJSON_AddArrayToObject(r, "strategies");
    for (int i = 0; i < e->n_strategies; i++) cJSON_AddItemToArray(sa, strategy_json(e, &e->strategies[i]));
    if (e->n_tests) {
        cJSON *p = cJSON_AddObjectToObject(r, "probe");
        cJSON_AddStringToObject(p, "test_set", e->probe_test);
        cJSON_AddNumberToObject(p, "pairs", e->probe_pairs);
    }
    if (e->shares) {
        cJSON *mo = cJSON_AddObjectToObject(r, "shares");
        for (int i = 0; i < e->n_datasets; i++)
            if (e->shares[i] > 0) cJSON_AddNumberToObject(mo, e->datasets[i].name, e->shares[i]);
    }
    const ExpHyper *h = &e->hp;
    cJSON *t = cJSON_AddObjectToObject(r, "train");
    cJSON_AddNumberToObject(t, "epochs", h->epochs);
    if (!e->has_phase0) cJSON_AddNumberToObject(t, "phase0_epochs", h->phase0_epochs);
    cJSON_AddNumberToObject(t, "joint_epochs", h->joint_epochs);
    cJSON_AddNumberToObject(t, "batch", h->batch);
    cJSON_AddNumberToObject(t, "lr", h->lr);
    cJSON_AddNumberToObject(t, "warmup", h->warmup);
    cJSON_AddNumberToObject(t, "weight_decay", h->weight_decay);
    cJSON_AddNumberToObject(t, "joint_weight_decay", h->joint_weight_decay);
    cJSON_AddNumberToObject(t, "grad_clip", h->grad_clip);
    for (int k = 0; k < h->n_strategy_keys; k++) {
        const char *const *names = strategy_hyper_choices_of(train_hyper(h->strategy_keys[k].key));
        if (names) cJSON_AddStringToObject(t, h->strategy_keys[k].key, names[(int)h->strategy_keys[k].value]);
        else cJSON_AddNumberToObject(t, h->strategy_keys[k].key, h->strategy_keys[k].value);
    }
    if (!e->n_seeds) cJSON_AddNumberToObject(t, "seed", (double)h->seed);
    cJSON_AddNumberToObject(t, "log_every", h->log_every);
    cJSON_AddNumberToObject(t, "checkpoint_every", h->checkpoint_every);
    cJSON_AddNumberToObject(t, "eval_batch", h->eval_batch);
    if (h->precision) cJSON_AddStringToObject(t, "precision", experiment_precision_names[h->precision]);
    if (h->old_per_step) cJSON_AddStringToObject(t, "old_features", experiment_old_feature_names[h->old_per_step]);
    if (e->n_seeds) cJSON_AddItemToObject(r, "seeds", cJSON_CreateIntArray(e->seeds, e->n_seeds));
    e->json = r;
}

static ModxStatus parse_text(Experiment *e, const char *text, size_t n, const char *name, const char *base_dir,
                             int watch) {
    memset(e, 0, sizeof *e);
    e->path = strdup(name);
    cJSON *root = NULL;
    ModxStatus st = dataset_json_document(text, n, name, &root);
    if (st == MODX_OK) {
        Ctx c = {name, base_dir, e, watch};
        st = parse_root(&c, e, root);
    }
    cJSON_Delete(root);
    if (st == MODX_OK) {
        build_json(e);
        if (!e->json) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    if (st != MODX_OK) experiment_free(e);
    return st;
}

ModxStatus experiment_parse(Experiment *e, const char *text, size_t n, const char *name, const char *base_dir) {
    return parse_text(e, text, n, name, base_dir, 0);
}

static ModxStatus load_file(Experiment *e, const char *path, int watch) {
    memset(e, 0, sizeof *e);
    uint8_t *buf;
    size_t n;
    MODX_TRY(io_read_file(path, &buf, &n));
    char *copy = strdup(path);
    if (!copy) {
        free(buf);
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(copy, '/');
    const char *base = ".";
    if (slash) {
        slash[slash == copy ? 1 : 0] = 0;
        base = copy;
    }
    ModxStatus st = parse_text(e, (const char *)buf, n, path, base, watch);
    free(copy);
    free(buf);
    return st;
}

ModxStatus experiment_load(Experiment *e, const char *path) { return load_file(e, path, 0); }
ModxStatus experiment_load_watch(Experiment *e, const char *path) { return load_file(e, path, 1); }

static void selection_free(ExpSelection *s) {
    for (int k = 0; k < s->n_domains; k++) free(s->domains[k]);
    s->n_domains = 0;
}

void experiment_free(Experiment *e) {
    if (!e) return;
    for (int i = 0; i < e->n_datasets; i++) {
        ExpDataset *d = &e->datasets[i];
        free(d->cache), free(d->format), free(d->input), free(d->images), free(d->splits);
    }
    free(e->datasets);
    free(e->shares);
    for (int i = 0; i < e->n_tests; i++) {
        ExpZeroShot *z = &e->tests[i].zs;
        selection_free(&e->tests[i].sel);
        free(z->labels_file), free(z->classes), free(z->templates);
    }
    free(e->tests);
    free(e->strategies);
    selection_free(&e->phase0);
    selection_free(&e->stream);
    free(e->path), free(e->model), free(e->tokenizer), free(e->phase0_checkpoint);
    cJSON_Delete(e->json);
    memset(e, 0, sizeof *e);
}

char *experiment_to_json(const Experiment *e) { return cJSON_Print(e->json); }

void experiment_set_seed(Experiment *e, uint64_t seed) {
    e->hp.seed = seed;
    cJSON *t = cJSON_GetObjectItemCaseSensitive((cJSON *)e->json, "train");
    if (t) cJSON_ReplaceItemInObjectCaseSensitive(t, "seed", cJSON_CreateNumber((double)seed));
}

void experiment_set_precision(Experiment *e, int precision) {
    e->hp.precision = precision;
    cJSON *t = cJSON_GetObjectItemCaseSensitive((cJSON *)e->json, "train");
    if (!t) return;
    cJSON_DeleteItemFromObjectCaseSensitive(t, "precision");
    if (precision) cJSON_AddStringToObject(t, "precision", experiment_precision_names[precision]);
}

int experiment_find_strategy(const Experiment *e, const char *name) {
    for (int i = 0; i < e->n_strategies; i++)
        if (!strcmp(e->strategies[i].name, name)) return i;
    return -1;
}

ModxStatus experiment_seed_copy(const Experiment *e, int seed, const char *const *prepared, Experiment *out) {
    memset(out, 0, sizeof *out);
    cJSON *r = cJSON_Duplicate((const cJSON *)e->json, 1);
    if (!r) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "seeds");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "train"), *ds = cJSON_GetObjectItemCaseSensitive(r, "datasets");
    if (t) cJSON_AddNumberToObject(t, "seed", seed);
    for (int i = 0; prepared && ds && i < e->n_datasets; i++) {
        if (!prepared[i]) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "cache", prepared[i]);
        cJSON_ReplaceItemInObjectCaseSensitive(ds, e->datasets[i].name, o);
    }
    char *text = cJSON_Print(r);
    cJSON_Delete(r);
    if (!text) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    ModxStatus st = experiment_parse(out, text, strlen(text), e->path, "/");
    free(text);
    return st;
}

ModxStatus experiment_file_seeds(const char *path, int *seeds, int *n) {
    *n = 0;
    uint8_t *buf;
    size_t len;
    MODX_TRY(io_read_file(path, &buf, &len));
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    const cJSON *a = root ? cJSON_GetObjectItemCaseSensitive(root, "seeds") : NULL;
    ModxStatus st = MODX_OK;
    if (!root) st = modx_fail(MODX_ERR_FORMAT, "%s: not valid JSON", path);
    else if (a && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > EXP_MAX_SEEDS))
        st = modx_fail(MODX_ERR_FORMAT, "%s: 'seeds': expected a list of 1 to %d seeds", path, EXP_MAX_SEEDS);
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (st) break;
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT_MAX || v->valuedouble != floor(v->valuedouble))
            st = modx_fail(MODX_ERR_FORMAT, "%s: 'seeds[%d]': expected an integer in [0, %d]", path, *n, INT_MAX);
        else seeds[(*n)++] = (int)v->valuedouble;
    }
    if (st) *n = 0;
    cJSON_Delete(root);
    return st;
}
