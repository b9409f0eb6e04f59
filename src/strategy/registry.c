/* The strategy registry: the one list of strategies, lookups, instances and
 * the hook dispatch (strategy.h). */
#include "strategy/strategy.h"

#include <stdio.h>
#include <string.h>

/* The registry: one line per strategy (its descriptor is strategy_<ident>,
 * defined in src/strategy/<file>.c), in the order help texts list them. */
#define STRATEGY_LIST(X) \
    X(joint)             \
    X(finetune)          \
    X(modx)              \
    X(modx_noselect)     \
    X(lwf)               \
    X(ewc)               \
    X(replay)            \
    X(modx_replay)       \
    X(wiseft)            \
    X(merge)             \
    X(cumulative)        \
    X(oracle)            \
    X(zscl)              \
    /* (the list ends here) */

#define DECLARE(id) extern const StrategyDesc strategy_##id;
#define ENTRY(id) &strategy_##id,
STRATEGY_LIST(DECLARE)
static const StrategyDesc *const ALL[] = {STRATEGY_LIST(ENTRY)};

const StrategyDesc *const *strategy_all(int *n) {
    *n = (int)(sizeof ALL / sizeof *ALL);
    return ALL;
}

const StrategyDesc *strategy_find(const char *name) {
    for (size_t i = 0; i < sizeof ALL / sizeof *ALL; i++)
        if (!strcmp(ALL[i]->name, name)) return ALL[i];
    return NULL;
}

ModxStatus strategy_lookup(const char *name, const StrategyDesc **out) {
    if ((*out = strategy_find(name))) return MODX_OK;
    char list[512] = "";
    for (size_t i = 0; i < sizeof ALL / sizeof *ALL; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, ALL[i]->name, sizeof list - strlen(list) - 1);
    }
    return modx_fail(MODX_ERR_INVALID, "unknown strategy '%s' (expected one of %s)", name, list);
}

const char *const STRATEGY_TEST_SET[] = {"<a test set's name>", NULL};

const char *const *strategy_hyper_choices(const StrategyDesc *d, int h) {
    return d->choices && h >= 0 && h < d->n_hypers ? d->choices[h] : NULL;
}

const char *const *strategy_hyper_choices_of(const StrategyHyper *h) {
    for (size_t i = 0; i < sizeof ALL / sizeof *ALL; i++)
        if (h >= ALL[i]->hypers && h < ALL[i]->hypers + ALL[i]->n_hypers)
            return strategy_hyper_choices(ALL[i], (int)(h - ALL[i]->hypers));
    return NULL;
}

int strategy_hyper_index(const StrategyDesc *d, const char *key) {
    for (int i = 0; i < d->n_hypers; i++)
        if (!strcmp(d->hypers[i].key, key)) return i;
    return -1;
}

void strategy_inst_init(StrategyInst *si, const StrategyDesc *d) {
    memset(si, 0, sizeof *si);
    CHECK(d->n_hypers <= STRATEGY_MAX_HYPERS, "strategy %s has %d hyperparameters", d->name, d->n_hypers);
    snprintf(si->name, sizeof si->name, "%s", d->name);
    si->desc = d;
    for (int i = 0; i < d->n_hypers; i++) si->hp[i] = d->hypers[i].def;
}

ModxStatus strategy_inst_named(StrategyInst *si, const char *name) {
    const StrategyDesc *d;
    MODX_TRY(strategy_lookup(name, &d));
    strategy_inst_init(si, d);
    return MODX_OK;
}

ModxStatus strategy_inst_set(StrategyInst *si, const char *key, double v, const char *where) {
    int i = strategy_hyper_index(si->desc, key);
    if (i < 0) return modx_fail(MODX_ERR_INVALID, "%s: strategy '%s' has no hyperparameter '%s'", where, si->desc->name, key);
    const StrategyHyper *h = &si->desc->hypers[i];
    if (!(v >= h->lo && v <= h->hi))
        return modx_fail(MODX_ERR_INVALID, "%s: '%s' is %g, out of range: expected %s in [%g, %g] (%s)", where, key, v,
                         h->integer ? "an integer" : "a number", h->lo, h->hi, h->doc);
    if (h->integer && v != (double)(long long)v)
        return modx_fail(MODX_ERR_INVALID, "%s: '%s' is %g, expected an integer", where, key, v);
    si->hp[i] = v;
    return MODX_OK;
}

double strategy_hp(const StrategyInst *si, const char *key) {
    int i = strategy_hyper_index(si->desc, key);
    CHECK(i >= 0, "strategy %s has no hyperparameter %s", si->desc->name, key);
    return si->hp[i];
}

static ModxStatus inst_loss(const void *ctx, const StepLossIO *io, StepLoss *out) {
    const StrategyInst *si = ctx;
    return si->desc->loss(si, io, out);
}

StepLossTerm strategy_loss(const StrategyInst *si) {
    StepLossTerm t = {NULL, si, (si->desc->flags & STRATEGY_OLD_MODEL) != 0, si->desc->name};
    if (si->desc->loss) t.fn = inst_loss;
    return t;
}

ModxStatus strategy_before_phase(StrategyPhase *sp) {
    return sp->si->desc->before_phase ? sp->si->desc->before_phase(sp) : MODX_OK;
}

ModxStatus strategy_after_phase(StrategyPhase *sp) {
    return sp->si->desc->after_phase ? sp->si->desc->after_phase(sp) : MODX_OK;
}

void strategy_end_phase(StrategyPhase *sp) {
    if (sp->si->desc->end_phase) sp->si->desc->end_phase(sp);
}
