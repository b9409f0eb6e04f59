/* Training progress for people: on a terminal, one line rewritten in place
 * (phase, strategy, step/total, loss, samples/s, ETA), at most 5 times a
 * second; when stderr is not a terminal (a log file, CI), a plain line every
 * `interval` seconds and at the end of each phase. Writes to stderr only;
 * nothing here affects training. */
#ifndef MODX_TRAIN_PROGRESS_H
#define MODX_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *out;
    int tty;
    double interval;  /* seconds between plain lines */
    double last_print;
    int line_open;    /* a terminal line is pending (needs a newline before other output) */
    int quiet;
} Progress;

/* quiet = 1 prints nothing. MODX_PROGRESS=plain forces plain lines. */
void progress_init(Progress *p, int quiet);
/* Seconds since an arbitrary fixed point (monotonic clock). */
double progress_now(void);
/* force = 1 prints whatever the rate limit (e.g. the last step of a phase). */
void progress_update(Progress *p, const char *strategy, int phase, int64_t step, int64_t total, double loss,
                     double samples_per_s, double eta_s, int force);
/* eta_s < 0: unknown. */
/* Ends a pending terminal line, then prints a message line (printf-style). */
void progress_note(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_finish(Progress *p);

#endif
