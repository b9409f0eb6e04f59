#include "run/rundir.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"
#include "strategy/strategy.h"

void run_info_free(RunInfo *r) {
    if (!r) return;
    free(r->name);
    for (int i = 0; i < r->nstrategies; i++) free(r->strategies[i]);
    free(r->strategies);
    for (int i = 0; r->bases && i < r->nstrategies; i++) free(r->bases[i]);
    free(r->bases);
    for (int i = 0; i < r->nphase_names; i++) free(r->phase_names[i]);
    free(r->phase_names);
    for (int i = 0; i < r->ntest_sets; i++) free(r->test_sets[i].name);
    free(r->test_sets);
    free(r->probe_test_set);
    free(r->status);
    free(r->completed);
    memset(r, 0, sizeof *r);
}

static char *dup_str(const char *s) {
    char *d = strdup(s);
    if (!d) modx_fail(MODX_ERR_NOMEM, "out of memory");
    return d;
}

/* A string member (required unless `optional`); *out NULL when absent and optional. */
static ModxStatus get_string(const char *path, const cJSON *o, const char *key, int optional, char **out) {
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v && optional) return MODX_OK;
    if (!v) return modx_fail(MODX_ERR_FORMAT, "%s: missing \"%s\" (a string)", path, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return modx_fail(MODX_ERR_FORMAT, "%s: \"%s\" must be a string", path, key);
    *out = dup_str(v->valuestring);
    return *out ? MODX_OK : MODX_ERR_NOMEM;
}

static ModxStatus get_int(const char *path, const char *what, const cJSON *v, int lo, int hi, int *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return modx_fail(MODX_ERR_FORMAT, "%s: %s must be an integer in [%d, %d]", path, what, lo, hi);
    *out = (int)v->valuedouble;
    return MODX_OK;
}

static ModxStatus get_string_array(const char *path, const cJSON *o, const char *key, int optional, char ***out,
                                   int *n) {
    *out = NULL, *n = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!a && optional) return MODX_OK;
    if (!cJSON_IsArray(a)) return modx_fail(MODX_ERR_FORMAT, "%s: \"%s\" must be an array of strings", path, key);
    int k = cJSON_GetArraySize(a);
    *out = modx_calloc((size_t)k + 1, sizeof(char *), key);
    if (!*out) return MODX_ERR_NOMEM;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0])
            return modx_fail(MODX_ERR_FORMAT, "%s: \"%s\"[%d] must be a non-empty string", path, key, *n);
        if (!((*out)[*n] = dup_str(v->valuestring))) return MODX_ERR_NOMEM;
        (*n)++;
    }
    return MODX_OK;
}

static ModxStatus parse_test_sets(const char *path, const cJSON *root, RunInfo *r) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "test_sets");
    if (!cJSON_IsArray(a)) return modx_fail(MODX_ERR_FORMAT, "%s: \"test_sets\" must be an array of objects", path);
    int k = cJSON_GetArraySize(a);
    r->test_sets = modx_calloc((size_t)k + 1, sizeof *r->test_sets, "test sets");
    if (!r->test_sets) return MODX_ERR_NOMEM;
    const cJSON *t;
    cJSON_ArrayForEach(t, a) {
        int i = r->ntest_sets;
        RunTestSet *ts = &r->test_sets[i];
        char item[64];
        snprintf(item, sizeof item, "test_sets[%d]", i);
        if (!cJSON_IsObject(t)) return modx_fail(MODX_ERR_FORMAT, "%s: %s must be an object", path, item);
        char *role = NULL;
        ModxStatus st = get_string(path, t, "name", 0, &ts->name);
        r->ntest_sets++;
        if (!st) st = get_string(path, t, "role", 0, &role);
        if (st) {
            modx_error_prefix("%s: ", item);
            free(role);
            return st;
        }
        ts->first_phase = -1;
        const cJSON *im = cJSON_GetObjectItemCaseSensitive(t, "images");
        ts->images = cJSON_IsNumber(im) && im->valuedouble >= 0 ? (long)im->valuedouble : -1;
        if (!strcmp(role, "domain")) ts->role = RUN_SET_DOMAIN;
        else if (!strcmp(role, "heldout")) ts->role = RUN_SET_HELDOUT;
        else if (!strcmp(role, "train_sample")) ts->role = RUN_SET_TRAIN_SAMPLE;
        else if (!strcmp(role, "zeroshot")) ts->role = RUN_SET_ZEROSHOT;
        else st = modx_fail(MODX_ERR_FORMAT, "%s: %s (\"%s\"): role \"%s\" is not domain, heldout, train_sample or "
                            "zeroshot", path, item, ts->name, role);
        free(role);
        if (st) return st;
        if (ts->role == RUN_SET_DOMAIN) {
            const cJSON *fp = cJSON_GetObjectItemCaseSensitive(t, "first_phase");
            char what[128];
            snprintf(what, sizeof what, "%s (\"%s\") \"first_phase\"", item, ts->name);
            if (!fp) return modx_fail(MODX_ERR_FORMAT, "%s: %s is missing (a domain test set needs it)", path, what);
            MODX_TRY(get_int(path, what, fp, 0, r->phases, &ts->first_phase));
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(r->test_sets[j].name, ts->name))
                return modx_fail(MODX_ERR_FORMAT, "%s: test set \"%s\" is listed twice", path, ts->name);
    }
    return MODX_OK;
}

/* "bases": the registered strategy of each entry (absent: each its own name). */
static ModxStatus parse_bases(const char *path, const cJSON *root, RunInfo *r) {
    int n = 0;
    char **b = NULL;
    MODX_TRY(get_string_array(path, root, "bases", 1, &b, &n));
    if (b && n != r->nstrategies) {
        for (int i = 0; i < n; i++) free(b[i]);
        free(b);
        return modx_fail(MODX_ERR_FORMAT, "%s: \"bases\" has %d entries, \"strategies\" %d", path, n, r->nstrategies);
    }
    if (!b) {
        if (!(b = modx_calloc((size_t)r->nstrategies + 1, sizeof *b, "bases"))) return MODX_ERR_NOMEM;
        for (int i = 0; i < r->nstrategies; i++)
            if (!(b[i] = dup_str(r->strategies[i]))) {
                r->bases = b;
                return MODX_ERR_NOMEM;
            }
    }
    r->bases = b;
    return MODX_OK;
}

static ModxStatus parse_run(const char *path, const cJSON *root, RunInfo *r) {
    if (!cJSON_IsObject(root)) return modx_fail(MODX_ERR_FORMAT, "%s: expected a JSON object", path);
    char *format = NULL;
    MODX_TRY(get_string(path, root, "format", 0, &format));
    int bad = strcmp(format, RUN_FORMAT) != 0;
    if (bad) modx_fail(MODX_ERR_FORMAT, "%s: \"format\" is \"%s\", expected \"%s\"", path, format, RUN_FORMAT);
    free(format);
    if (bad) return MODX_ERR_FORMAT;
    MODX_TRY(get_string(path, root, "name", 0, &r->name));
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    r->seed = cJSON_IsNumber(seed) ? seed->valuedouble : NAN;
    MODX_TRY(get_int(path, "\"phases\"", cJSON_GetObjectItemCaseSensitive(root, "phases"), 0, 100000, &r->phases));
    MODX_TRY(get_string_array(path, root, "strategies", 0, &r->strategies, &r->nstrategies));
    for (int i = 0; i < r->nstrategies; i++) {
        if (!strcmp(r->strategies[i], RUN_PHASE0))
            return modx_fail(MODX_ERR_FORMAT, "%s: \"strategies\"[%d]: \"%s\" is reserved for phase-0 evaluations", path,
                             i, RUN_PHASE0);
        for (int j = 0; j < i; j++)
            if (!strcmp(r->strategies[i], r->strategies[j]))
                return modx_fail(MODX_ERR_FORMAT, "%s: strategy \"%s\" is listed twice", path, r->strategies[i]);
    }
    MODX_TRY(parse_bases(path, root, r));
    MODX_TRY(get_string_array(path, root, "phase_names", 1, &r->phase_names, &r->nphase_names));
    MODX_TRY(parse_test_sets(path, root, r));
    const cJSON *probe = cJSON_GetObjectItemCaseSensitive(root, "probe");
    if (probe) {
        if (!cJSON_IsObject(probe)) return modx_fail(MODX_ERR_FORMAT, "%s: \"probe\" must be an object", path);
        MODX_TRY(get_string(path, probe, "test_set", 1, &r->probe_test_set));
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(probe, "pairs");
        if (pp) MODX_TRY(get_int(path, "\"probe\".\"pairs\"", pp, 0, 0x7fffffff, &r->probe_pairs));
    }
    MODX_TRY(get_string(path, root, "status", 0, &r->status));
    if (strcmp(r->status, "running") && strcmp(r->status, "done"))
        return modx_fail(MODX_ERR_FORMAT, "%s: \"status\" is \"%s\", expected \"running\" or \"done\"", path, r->status);
    int done = !strcmp(r->status, "done");
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(root, "metrics_bytes");
    r->metrics_bytes = cJSON_IsNumber(mb) && mb->valuedouble >= 0 ? mb->valuedouble : -1;
    r->completed = modx_calloc((size_t)r->nstrategies + 1, sizeof(int), "completed");
    if (!r->completed) return MODX_ERR_NOMEM;
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(root, "completed");
    if (comp && !cJSON_IsObject(comp)) return modx_fail(MODX_ERR_FORMAT, "%s: \"completed\" must be an object", path);
    const cJSON *c;
    cJSON_ArrayForEach(c, comp) {
        int s = -1;
        for (int i = 0; i < r->nstrategies; i++)
            if (!strcmp(r->strategies[i], c->string)) s = i;
        if (!strcmp(c->string, RUN_PHASE0)) r->phase0_done = 1; /* the shared phase-0 model is done */
        if (s < 0 && strcmp(c->string, RUN_PHASE0))
            return modx_fail(MODX_ERR_FORMAT, "%s: \"completed\" names \"%s\", which is neither \"phase0\" nor one of \"strategies\"", path,
                             c->string);
    }
    for (int s = 0; s < r->nstrategies; s++) {
        const cJSON *v = comp ? cJSON_GetObjectItemCaseSensitive(comp, r->strategies[s]) : NULL;
        char what[160];
        snprintf(what, sizeof what, "\"completed\".\"%s\"", r->strategies[s]);
        if (v) MODX_TRY(get_int(path, what, v, 0, r->phases, &r->completed[s]));
        else r->completed[s] = done ? r->phases : 0;
    }
    return MODX_OK;
}

ModxStatus run_info_load(RunInfo *out, const char *dir) {
    memset(out, 0, sizeof *out);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/run.json", dir) >= (int)sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    uint8_t *buf = NULL;
    size_t n = 0;
    MODX_TRY(io_read_file(path, &buf, &n));
    cJSON *root = cJSON_ParseWithLength((const char *)buf, n);
    ModxStatus st;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= (const char *)buf && at <= (const char *)buf + n ? (long)(at - (const char *)buf) : -1;
        st = modx_fail(MODX_ERR_FORMAT, "%s: not valid JSON (near byte %ld)", path, off);
    } else {
        st = parse_run(path, root, out);
    }
    cJSON_Delete(root);
    free(buf);
    if (st) run_info_free(out);
    return st;
}

int run_info_trains_once(const RunInfo *r, int s) {
    const StrategyDesc *d = strategy_find(r->bases ? r->bases[s] : r->strategies[s]);
    return d && (d->flags & STRATEGY_ONCE);
}

int run_info_last_phase(const RunInfo *r, int s) {
    if (run_info_trains_once(r, s)) return r->completed[s] >= 1 ? r->phases : 0;
    return r->completed[s];
}

int run_path(char *buf, size_t cap, const char *dir, const char *strategy, int phase, const char *file) {
    const char *sep = file[0] ? "/" : "";
    int k;
    if (!strcmp(strategy, RUN_PHASE0)) k = snprintf(buf, cap, "%s%s" RUN_PHASE0 "%s%s", dir, dir[0] ? "/" : "", sep, file);
    else if (phase < 0) k = snprintf(buf, cap, "%s%s%s%s%s", dir, dir[0] ? "/" : "", strategy, sep, file);
    else k = snprintf(buf, cap, "%s%s%s/phase%d%s%s", dir, dir[0] ? "/" : "", strategy, phase, sep, file);
    return k >= 0 && (size_t)k < cap;
}

int run_data_cache_path(char *buf, size_t cap, const char *dir, const char *name) {
    int k = snprintf(buf, cap, "%s/data/%s.cache", dir, name);
    return k >= 0 && (size_t)k < cap;
}

int run_seed_dir(char *buf, size_t cap, const char *dir, int seed) {
    int k = snprintf(buf, cap, "%s/" RUN_SEED_PREFIX "%d", dir, seed);
    return k >= 0 && (size_t)k < cap;
}

int run_probe_relpath(char *buf, size_t cap, const RunInfo *r, int s, int phase) {
    return run_path(buf, cap, "", phase == 0 ? RUN_PHASE0 : r->strategies[s], phase, RUN_PROBE_FILE);
}

static cJSON *test_sets_json(const RunInfo *r) {
    static const char *const roles[] = {"domain", "heldout", "train_sample", "zeroshot"};
    cJSON *ts = cJSON_CreateArray();
    for (int t = 0; t < r->ntest_sets; t++) {
        const RunTestSet *x = &r->test_sets[t];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", x->name);
        cJSON_AddStringToObject(o, "role", roles[x->role]);
        if (x->first_phase >= 0) cJSON_AddNumberToObject(o, "first_phase", x->first_phase);
        if (x->images >= 0) cJSON_AddNumberToObject(o, "images", (double)x->images);
        cJSON_AddItemToArray(ts, o);
    }
    return ts;
}

ModxStatus run_info_save(const RunInfo *r, const char *dir) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", RUN_FORMAT);
    cJSON_AddStringToObject(o, "name", r->name);
    if (!isnan(r->seed)) cJSON_AddNumberToObject(o, "seed", r->seed);
    cJSON_AddItemToObject(o, "strategies", cJSON_CreateStringArray((const char *const *)r->strategies, r->nstrategies));
    if (r->bases) cJSON_AddItemToObject(o, "bases", cJSON_CreateStringArray((const char *const *)r->bases, r->nstrategies));
    cJSON_AddNumberToObject(o, "phases", r->phases);
    cJSON_AddItemToObject(o, "phase_names", cJSON_CreateStringArray((const char *const *)r->phase_names, r->nphase_names));
    cJSON_AddItemToObject(o, "test_sets", test_sets_json(r));
    if (r->probe_test_set) {
        cJSON *p = cJSON_AddObjectToObject(o, "probe");
        cJSON_AddStringToObject(p, "test_set", r->probe_test_set);
        cJSON_AddNumberToObject(p, "pairs", r->probe_pairs);
    }
    cJSON_AddStringToObject(o, "status", r->status);
    if (r->metrics_bytes >= 0) cJSON_AddNumberToObject(o, "metrics_bytes", r->metrics_bytes);
    cJSON *c = cJSON_AddObjectToObject(o, "completed");
    if (r->phase0_done) cJSON_AddNumberToObject(c, RUN_PHASE0, 0);
    for (int i = 0; i < r->nstrategies; i++)
        if (r->completed[i] >= 1) cJSON_AddNumberToObject(c, r->strategies[i], r->completed[i]);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    char path[4096];
    if (snprintf(path, sizeof path, "%s/run.json", dir) >= (int)sizeof path) {
        free(text);
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print's buffer has room: the terminating NUL becomes the newline */
    ModxStatus st = io_write_atomic(path, text, n + 1);
    free(text);
    return st;
}

/* The holder's "pid <n>\n<command>\n" from the lock file, for the message. */
static void lock_holder(int fd, char *out, size_t cap) {
    char text[1200];
    ssize_t n = 0;
    /* The holder writes its name right after it takes the lock: wait up to 1 s for it. */
    for (int tries = 0; tries < 200; tries++) {
        n = pread(fd, text, sizeof text - 1, 0);
        if (n > 0 && memchr(text, '\n', (size_t)n) && text[n - 1] == '\n') break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    text[n > 0 ? n : 0] = 0;
    char *nl = strchr(text, '\n'), *cmd = nl ? nl + 1 : NULL, *end = cmd ? strchr(cmd, '\n') : NULL;
    if (nl) *nl = 0;
    if (end) *end = 0;
    if (!text[0]) snprintf(out, cap, "a process that has not written its name yet");
    else snprintf(out, cap, "%.40s: %.900s", text, cmd && *cmd ? cmd : "?");
}

ModxStatus run_lock(RunLock *l, const char *dir, const char *command) {
    l->fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" RUN_LOCK_FILE, dir) >= (int)sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return modx_fail(MODX_ERR_IO, "%s: cannot open the run's lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char holder[1000];
        lock_holder(fd, holder, sizeof holder);
        close(fd);
        if (err == EWOULDBLOCK)
            return modx_fail(MODX_ERR_INVALID, "%s is being written by another modx process (%s); one process "
                             "writes a run directory at a time: wait for it, or stop it", dir, holder);
        return modx_fail(MODX_ERR_IO, "%s: cannot lock: %s", path, strerror(err));
    }
    char text[1200];
    int k = snprintf(text, sizeof text, "pid %ld\n%.1000s\n", (long)getpid(), command ? command : "modx");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)k, 0) != k) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    l->fd = fd;
    return MODX_OK;
}

void run_unlock(RunLock *l) {
    if (l->fd >= 0) close(l->fd); /* closing releases the flock */
    l->fd = -1;
}
