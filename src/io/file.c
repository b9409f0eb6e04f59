#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/dist.h"
#include "core/size.h"

ModxStatus io_read_file(const char *path, uint8_t **buf, size_t *n) {
    *buf = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return modx_fail(MODX_ERR_IO, "%s: cannot open for reading: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return modx_fail(MODX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return modx_fail(MODX_ERR_IO, "%s: is a directory, expected a file", path);
    }
    /* The size is a hint only (pipes, /proc files report 0): read until EOF. */
    size_t cap = (S_ISREG(sb.st_mode) && sb.st_size > 0) ? (size_t)sb.st_size + 1 : 4096;
    uint8_t *data = malloc(cap);
    if (!data) {
        close(fd);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap;
            if (!size_mul(cap, 2, &ncap)) {
                free(data);
                close(fd);
                return modx_fail(MODX_ERR_NOMEM, "%s: file too large", path);
            }
            uint8_t *nd = realloc(data, ncap);
            if (!nd) {
                free(data);
                close(fd);
                return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, ncap);
            }
            data = nd;
            cap = ncap;
        }
        ssize_t r = read(fd, data + len, cap - 1 - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(data);
            close(fd);
            return modx_fail(MODX_ERR_IO, "%s: read failed after %zu bytes: %s", path, len, strerror(e));
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    data[len] = 0;
    *buf = data;
    *n = len;
    return MODX_OK;
}

struct IoAtomicFile {
    int fd;
    int discard; /* a rank other than 0 of a job (core/dist.h): nothing is written */
    char *path; /* final path */
    char *tmp;  /* path + ".tmp.<pid>.<n>": unique to this writer */
};

/* Temporary-name numbers: a per-process random start (a process reusing the
 * pid of a killed one, as in containers, does not walk into its leftovers),
 * then a counter shared by the process's threads. */
static unsigned long tmp_counter_next(void) {
    static unsigned long counter;
    static int seeded;
    if (!__atomic_load_n(&seeded, __ATOMIC_ACQUIRE)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long start = ((unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20)) & 0xffffffffUL;
        unsigned long zero = 0;
        __atomic_compare_exchange_n(&counter, &zero, start, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        __atomic_store_n(&seeded, 1, __ATOMIC_RELEASE);
    }
    return __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

void io_remove_stale_tmp(const char *path) {
    char *copy_dir = strdup(path), *copy_base = strdup(path);
    DIR *dir = copy_dir ? opendir(dirname(copy_dir)) : NULL;
    const char *base = copy_base ? basename(copy_base) : NULL;
    size_t nb = base ? strlen(base) : 0;
    struct dirent *e;
    while (dir && base && (e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, base, nb) || strncmp(e->d_name + nb, ".tmp.", 5)) continue;
        const char *digits = e->d_name + nb + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (*end == '.') /* ".<pid>.<n>" */
            for (end++; *end >= '0' && *end <= '9'; end++) {
            }
        if (*digits < '0' || *digits > '9' || *end || errno || pid <= 0 || pid > INT32_MAX) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        unlinkat(dirfd(dir), e->d_name, 0);
    }
    if (dir) closedir(dir);
    free(copy_dir);
    free(copy_base);
}

static void atomic_discard(IoAtomicFile *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f);
}

ModxStatus io_atomic_open(IoAtomicFile **out, const char *path) {
    *out = NULL;
    if (!path || !path[0]) return modx_fail(MODX_ERR_INVALID, "atomic write: empty output path");
    size_t len = strlen(path);
    IoAtomicFile *f = modx_calloc(1, sizeof *f, "atomic file handle");
    if (!f) return MODX_ERR_NOMEM;
    f->fd = -1;
    if (!dist_is_writer()) { /* only rank 0 of a job writes files; the others hold the same data */
        f->discard = 1;
        *out = f;
        return MODX_OK;
    }
    f->path = malloc(len + 1);
    f->tmp = malloc(len + 48);
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        free(f);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(f->path, path, len + 1);
    /* A name no other writer of the same path uses (O_EXCL): concurrent writers
     * never share a temporary file, and the last rename wins whole. */
    io_remove_stale_tmp(path);
    for (int tries = 0; tries < 64; tries++) { /* a name a killed process with our pid left is skipped */
        snprintf(f->tmp, len + 48, "%s.tmp.%ld.%lu", path, (long)getpid(), tmp_counter_next());
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd >= 0 || errno != EEXIST) break;
    }
    if (f->fd < 0) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: cannot create temporary file %s: %s", path, f->tmp,
                                  strerror(errno));
        free(f->path);
        free(f->tmp);
        free(f);
        return st;
    }
    *out = f;
    return MODX_OK;
}

ModxStatus io_atomic_write(IoAtomicFile *f, const void *data, size_t n) {
    if (f->discard) return MODX_OK;
    const uint8_t *p = data;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t w = write(f->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return modx_fail(MODX_ERR_IO, "%s: write to %s failed: %s", f->path, f->tmp, strerror(errno));
        }
        if (w == 0) return modx_fail(MODX_ERR_IO, "%s: write to %s made no progress", f->path, f->tmp);
        p += w;
        n -= (size_t)w;
    }
    return MODX_OK;
}

/* fsync of the directory holding `path`, so the rename itself is durable. */
ModxStatus io_sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    if (!dir) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: cannot open directory %s to sync it: %s", path, dir,
                                  strerror(errno));
        free(dir);
        return st;
    }
    /* Some file systems cannot sync a directory (EINVAL); the rename is done. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        ModxStatus st = modx_fail(MODX_ERR_IO, "%s: fsync of directory %s failed: %s", path, dir, strerror(errno));
        close(fd);
        free(dir);
        return st;
    }
    close(fd);
    free(dir);
    return MODX_OK;
}

ModxStatus io_atomic_commit(IoAtomicFile *f) {
    ModxStatus st;
    if (f->discard) {
        free(f);
        return MODX_OK;
    }
    if (fsync(f->fd) != 0) {
        st = modx_fail(MODX_ERR_IO, "%s: fsync of %s failed: %s", f->path, f->tmp, strerror(errno));
        atomic_discard(f);
        return st;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        st = modx_fail(MODX_ERR_IO, "%s: close of %s failed: %s", f->path, f->tmp, strerror(errno));
        atomic_discard(f);
        return st;
    }
    if (rename(f->tmp, f->path) != 0) {
        st = modx_fail(MODX_ERR_IO, "%s: cannot rename %s over it: %s", f->path, f->tmp, strerror(errno));
        atomic_discard(f);
        return st;
    }
    st = io_sync_parent_dir(f->path);
    free(f->path);
    free(f->tmp);
    free(f);
    return st;
}

void io_atomic_abort(IoAtomicFile *f) {
    if (f) atomic_discard(f);
}

ModxStatus io_write_atomic(const char *path, const void *data, size_t n) {
    IoAtomicFile *f;
    MODX_TRY(io_atomic_open(&f, path));
    ModxStatus st = io_atomic_write(f, data, n);
    if (st != MODX_OK) {
        io_atomic_abort(f);
        return st;
    }
    return io_atomic_commit(f);
}

ModxStatus io_mkdir_p(const char *path) {
    if (!path || !path[0]) return modx_fail(MODX_ERR_INVALID, "mkdir: empty directory path");
    char *p = strdup(path);
    if (!p) return modx_fail(MODX_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/') p[--len] = 0;
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        if (p[i - 1] == '/') continue; /* "a//b" */
        char saved = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) != 0) {
            int e = errno;
            struct stat sb;
            if (e != EEXIST || stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                ModxStatus st = e == EEXIST
                                    ? modx_fail(MODX_ERR_IO, "%s: cannot create directory: %s exists and is not a directory",
                                                path, p)
                                    : modx_fail(MODX_ERR_IO, "%s: cannot create directory %s: %s", path, p, strerror(e));
                free(p);
                return st;
            }
        }
        p[i] = saved;
    }
    free(p);
    return MODX_OK;
}

int io_file_exists(const char *path) {
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int io_dir_exists(const char *path) {
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}
