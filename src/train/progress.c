#include "train/progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(Progress *p, int quiet) {
    memset(p, 0, sizeof *p);
    p->out = stderr;
    const char *mode = getenv("MODX_PROGRESS");
    p->tty = isatty(fileno(stderr)) && !(mode && !strcmp(mode, "plain"));
    p->interval = 10.0;
    p->last_print = -1e9;
    p->quiet = quiet;
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

void progress_update(Progress *p, const char *strategy, int phase, int64_t step, int64_t total, double loss,
                     double samples_per_s, double eta_s, int force) {
    if (p->quiet) return;
    double now = progress_now();
    if (!force && now - p->last_print < (p->tty ? 0.2 : p->interval)) return;
    p->last_print = now;
    char eta[32], line[256];
    fmt_eta(eta, sizeof eta, eta_s);
    int pct = total > 0 ? (int)(100 * step / total) : 0;
    snprintf(line, sizeof line, "phase %d  %-13s step %lld/%lld (%3d%%)  loss %.4f  %.0f samples/s  ETA %s", phase,
             strategy, (long long)step, (long long)total, pct, loss, samples_per_s, eta);
    if (p->tty) {
        fprintf(p->out, "\r%s\033[K", line);
        p->line_open = 1;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

void progress_note(Progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    if (p->line_open) fputc('\n', p->out), p->line_open = 0;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}

void progress_finish(Progress *p) {
    if (p->line_open) fputc('\n', p->out), p->line_open = 0;
    fflush(p->out);
}
