/* CACHE.paths: the image paths of a dataset cache (see cache_paths.h). */
#include "data/cache_paths.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file.h"

char *cache_paths_file(const char *cache_path) {
    struct stat sb;
    int dir = stat(cache_path, &sb) == 0 && S_ISDIR(sb.st_mode);
    size_t n = strlen(cache_path) + sizeof "/dataset.cache.paths";
    char *p = malloc(n);
    if (!p) {
        modx_fail(MODX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, n, "%s%s", cache_path, dir ? "/dataset.cache.paths" : ".paths");
    return p;
}

ModxStatus cache_paths_write(const char *cache_path, const char *const *paths, uint64_t n) {
    char *file = cache_paths_file(cache_path);
    if (!file) return MODX_ERR_NOMEM;
    size_t cap = 1, len = 0;
    char *buf = NULL;
    ModxStatus st = MODX_OK;
    for (uint64_t i = 0; i < n && st == MODX_OK; i++) {
        cJSON *item = cJSON_CreateStringReference(paths[i]); /* the string stays the caller's */
        char *line = item ? cJSON_PrintUnformatted(item) : NULL;
        cJSON_Delete(item);
        if (!line) {
            st = modx_fail(MODX_ERR_NOMEM, "out of memory");
            break;
        }
        size_t k = strlen(line);
        if (len + k + 2 > cap) {
            cap = (len + k + 2) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
            else buf = nb;
        }
        if (st == MODX_OK) {
            memcpy(buf + len, line, k);
            len += k;
            buf[len++] = '\n';
        }
        cJSON_free(line);
    }
    if (st == MODX_OK) st = io_write_atomic(file, buf ? buf : "", len);
    free(buf);
    free(file);
    return st;
}

void cache_paths_free(char **paths, uint64_t n) {
    if (!paths) return;
    for (uint64_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* Line i of the file's text into (*out)[i]; an error names the file and line. */
static ModxStatus parse_lines(const char *file, const char *text, size_t len, uint64_t n, char **out) {
    uint64_t i = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t k = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (i >= n)
            return modx_fail(MODX_ERR_FORMAT, "%s: more lines than the cache's %llu images (a stale file? prepare "
                             "the cache again)", file, (unsigned long long)n);
        cJSON *s = cJSON_ParseWithLength(text + pos, k);
        if (!cJSON_IsString(s)) {
            cJSON_Delete(s);
            return modx_fail(MODX_ERR_FORMAT, "%s:%llu: expected a JSON string (an image path)", file,
                             (unsigned long long)i + 1);
        }
        out[i] = strdup(s->valuestring);
        cJSON_Delete(s);
        if (!out[i]) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        i++;
        pos += k + 1;
    }
    if (i != n)
        return modx_fail(MODX_ERR_FORMAT, "%s: %llu paths for the cache's %llu images (a stale file? prepare the "
                         "cache again)", file, (unsigned long long)i, (unsigned long long)n);
    return MODX_OK;
}

ModxStatus cache_paths_read(const char *cache_path, uint64_t n, char ***out) {
    *out = NULL;
    char *file = cache_paths_file(cache_path);
    if (!file) return MODX_ERR_NOMEM;
    if (!io_file_exists(file)) return free(file), MODX_OK;
    uint8_t *text = NULL;
    size_t len = 0;
    char **paths = NULL;
    ModxStatus st = io_read_file(file, &text, &len);
    if (st == MODX_OK && !(paths = calloc(n ? n : 1, sizeof *paths))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
    if (st == MODX_OK) st = parse_lines(file, (const char *)text, len, n, paths);
    if (st == MODX_OK) *out = paths;
    else cache_paths_free(paths, n);
    free(text);
    free(file);
    return st;
}

ModxStatus cache_paths_find(char *const *paths, uint64_t n, const char *want, uint64_t *index) {
    size_t wl = strlen(want);
    uint64_t found = UINT64_MAX, n_found = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t pl = strlen(paths[i]);
        int exact = !strcmp(paths[i], want);
        int suffix = pl > wl && paths[i][pl - wl - 1] == '/' && !strcmp(paths[i] + pl - wl, want);
        if (exact) {
            *index = i;
            return MODX_OK;
        }
        if (suffix) found = i, n_found++;
    }
    if (n_found == 1) {
        *index = found;
        return MODX_OK;
    }
    return modx_fail(MODX_ERR_INVALID, "image \"%s\": %s (modx data info CACHE --list prints the paths)", want,
                     n_found ? "more than one image's path ends so; give more of the path" : "no image of the cache has this path");
}
