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

void progress_set_run_steps(Progress *p, int64_t steps) {
    p->run_steps = steps;
    p->run_done = 0;
    p->cur_total = 0;
    p->cur_label[0] = 0;
}

/* The run's seconds left: this phase's pace over the steps the run has left. */
static double run_eta(Progress *p, const ProgressStep *s) {
    if (strcmp(p->cur_label, s->strategy) || p->cur_phase != s->phase) { /* a new phase: the last one is done */
        p->run_done += p->cur_total;
        snprintf(p->cur_label, sizeof p->cur_label, "%s", s->strategy);
        p->cur_phase = s->phase;
        p->cur_total = s->total;
    }
    if (s->eta_s >= 0 && s->total > s->step) p->sec_per_step = s->eta_s / (double)(s->total - s->step);
    int64_t left = p->run_steps - p->run_done - s->step;
    return p->sec_per_step > 0 ? p->sec_per_step * (double)(left > 0 ? left : 0) : -1;
}

void progress_update(Progress *p, const ProgressStep *s, int force) {
    if (p->quiet) return;
    double run_s = p->run_steps > 0 ? run_eta(p, s) : -1;
    double now = progress_now();
    if (!force && now - p->last_print < (p->tty ? 0.2 : p->interval)) return;
    p->last_print = now;
    char eta[32], run[48] = "", line[320];
    fmt_eta(eta, sizeof eta, s->eta_s);
    if (p->run_steps > 0) {
        char r[32];
        fmt_eta(r, sizeof r, run_s);
        snprintf(run, sizeof run, "  run ETA %s", r);
    }
    int pct = s->total > 0 ? (int)(100 * s->step / s->total) : 0;
    snprintf(line, sizeof line,
             "phase %d  %-13s step %lld/%lld (%3d%%)  epoch %.2f/%d  loss %.4f  lr %.2e  %.0f samples/s  ETA %s%s",
             s->phase, s->strategy, (long long)s->step, (long long)s->total, pct, s->epoch, s->epochs, s->loss, s->lr,
             s->samples_per_s, eta, run);
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
