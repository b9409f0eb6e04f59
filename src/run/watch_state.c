#include "run/watch_state.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

static void phase_free(WatchPhase *p) {
    for (size_t i = 0; i < p->n_shards; i++) free(p->shards[i].name);
    free(p->shards);
}

void watch_state_free(WatchState *s) {
    if (!s) return;
    for (int k = 0; k < s->n_phases; k++) phase_free(&s->phases[k]);
    free(s->phases);
    free(s->dir);
    memset(s, 0, sizeof *s);
}

int watch_state_taken(const WatchState *s, const char *name) {
    for (int k = 0; k < s->n_phases; k++)
        for (size_t i = 0; i < s->phases[k].n_shards; i++)
            if (!strcmp(s->phases[k].shards[i].name, name)) return 1;
    return 0;
}

ModxStatus watch_state_add_phase(WatchState *s, const WatchShard *shards, size_t n) {
    WatchPhase *ps = realloc(s->phases, ((size_t)s->n_phases + 1) * sizeof *ps);
    if (!ps) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    s->phases = ps;
    WatchPhase *p = &ps[s->n_phases];
    memset(p, 0, sizeof *p);
    if (!(p->shards = calloc(n ? n : 1, sizeof *p->shards))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    s->n_phases++;
    for (size_t i = 0; i < n; i++) {
        if (!(p->shards[i].name = strdup(shards[i].name))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        p->shards[i].bytes = shards[i].bytes;
        p->n_shards++;
    }
    return MODX_OK;
}

/* One shard entry {"name", "bytes"} of phase k. */
static ModxStatus parse_shard(WatchState *s, WatchPhase *p, const cJSON *it, const char *path, int k) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name"), *bytes = cJSON_GetObjectItemCaseSensitive(it, "bytes");
    if (!cJSON_IsString(name) || !name->valuestring[0] || strchr(name->valuestring, '/'))
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d: expected shards as {\"name\": a file name without '/', "
                         "\"bytes\": a size}", path, k);
    if (!cJSON_IsNumber(bytes) || bytes->valuedouble < 0 || bytes->valuedouble > 9.0e15)
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d: shard '%s': expected \"bytes\" (a size)", path, k,
                         name->valuestring);
    if (watch_state_taken(s, name->valuestring))
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d: shard '%s' is listed twice", path, k, name->valuestring);
    if (!(p->shards[p->n_shards].name = strdup(name->valuestring))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    p->shards[p->n_shards++].bytes = (uint64_t)bytes->valuedouble;
    return MODX_OK;
}

/* Phase k (= its position + 1) from `it`. */
static ModxStatus parse_phase(WatchState *s, const cJSON *it, const char *path, int k, int last) {
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(it, "phase"), *st = cJSON_GetObjectItemCaseSensitive(it, "status");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shards");
    if (!cJSON_IsNumber(ph) || ph->valuedouble != k)
        return modx_fail(MODX_ERR_FORMAT, "%s: phases[%d]: expected \"phase\": %d", path, k - 1, k);
    if (!cJSON_IsString(st) || (strcmp(st->valuestring, "done") && strcmp(st->valuestring, "training")))
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d: expected \"status\": \"done\" or \"training\"", path, k);
    int done = !strcmp(st->valuestring, "done");
    if (!done && !last)
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d is \"training\" but a later phase follows", path, k);
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) < 1)
        return modx_fail(MODX_ERR_FORMAT, "%s: phase %d: expected \"shards\" (a non-empty array)", path, k);
    MODX_TRY(watch_state_add_phase(s, NULL, 0));
    WatchPhase *p = &s->phases[s->n_phases - 1];
    p->done = done;
    WatchShard *arr = realloc(p->shards, (size_t)cJSON_GetArraySize(sh) * sizeof *arr);
    if (!arr) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    p->shards = arr;
    const cJSON *e;
    cJSON_ArrayForEach(e, sh) MODX_TRY(parse_shard(s, p, e, path, k));
    return MODX_OK;
}

static ModxStatus parse_state(WatchState *s, const cJSON *o, const char *path) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "format"), *dir = cJSON_GetObjectItemCaseSensitive(o, "dir");
    const cJSON *p0 = cJSON_GetObjectItemCaseSensitive(o, "phase0_done");
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(o, "metrics_bytes"), *ph = cJSON_GetObjectItemCaseSensitive(o, "phases");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, WATCH_STATE_FORMAT))
        return modx_fail(MODX_ERR_FORMAT, "%s: expected \"format\": \"%s\"", path, WATCH_STATE_FORMAT);
    if (!cJSON_IsString(dir) || dir->valuestring[0] != '/')
        return modx_fail(MODX_ERR_FORMAT, "%s: expected \"dir\" (an absolute path)", path);
    if (!cJSON_IsBool(p0)) return modx_fail(MODX_ERR_FORMAT, "%s: expected \"phase0_done\" (true or false)", path);
    if (!cJSON_IsNumber(mb) || mb->valuedouble < 0 || mb->valuedouble > 9.0e15)
        return modx_fail(MODX_ERR_FORMAT, "%s: expected \"metrics_bytes\" (a size)", path);
    if (!cJSON_IsArray(ph)) return modx_fail(MODX_ERR_FORMAT, "%s: expected \"phases\" (an array)", path);
    if (!(s->dir = strdup(dir->valuestring))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    s->phase0_done = cJSON_IsTrue(p0);
    s->metrics_bytes = (uint64_t)mb->valuedouble;
    int n = cJSON_GetArraySize(ph), k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ph) {
        k++;
        if (!cJSON_IsObject(it)) return modx_fail(MODX_ERR_FORMAT, "%s: phases[%d]: expected an object", path, k - 1);
        MODX_TRY(parse_phase(s, it, path, k, k == n));
    }
    if (n && !s->phase0_done)
        return modx_fail(MODX_ERR_FORMAT, "%s: phases are listed but \"phase0_done\" is false", path);
    return MODX_OK;
}

ModxStatus watch_state_load(WatchState *s, const char *run_dir) {
    memset(s, 0, sizeof *s);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", run_dir, WATCH_STATE_FILE) >= sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", run_dir);
    if (!io_file_exists(path)) return MODX_OK;
    uint8_t *buf;
    size_t n;
    MODX_TRY(io_read_file(path, &buf, &n));
    cJSON *o = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    ModxStatus st = cJSON_IsObject(o) ? parse_state(s, o, path)
                                      : modx_fail(MODX_ERR_FORMAT, "%s: expected a JSON object", path);
    cJSON_Delete(o);
    if (st != MODX_OK) watch_state_free(s);
    return st;
}

static cJSON *state_json(const WatchState *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", WATCH_STATE_FORMAT);
    cJSON_AddStringToObject(o, "dir", s->dir ? s->dir : "");
    cJSON_AddBoolToObject(o, "phase0_done", s->phase0_done);
    cJSON_AddNumberToObject(o, "metrics_bytes", (double)s->metrics_bytes);
    cJSON *arr = cJSON_AddArrayToObject(o, "phases");
    for (int k = 0; k < s->n_phases; k++) {
        const WatchPhase *p = &s->phases[k];
        cJSON *ph = cJSON_CreateObject();
        cJSON_AddNumberToObject(ph, "phase", k + 1);
        cJSON_AddStringToObject(ph, "status", p->done ? "done" : "training");
        cJSON *sh = cJSON_AddArrayToObject(ph, "shards");
        for (size_t i = 0; i < p->n_shards; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", p->shards[i].name);
            cJSON_AddNumberToObject(e, "bytes", (double)p->shards[i].bytes);
            cJSON_AddItemToArray(sh, e);
        }
        cJSON_AddItemToArray(arr, ph);
    }
    return o;
}

ModxStatus watch_state_save(const WatchState *s, const char *run_dir) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", run_dir, WATCH_STATE_FILE) >= sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", run_dir);
    cJSON *o = state_json(s);
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print's terminator becomes the file's last newline */
    ModxStatus st = io_write_atomic(path, text, n + 1);
    free(text);
    return st;
}
