/* Training progress for people: on a terminal, one line rewritten in place
 * (phase, strategy, step/total, epoch, loss, learning rate, samples/s, the
 * phase's ETA and, when the driver gave the run's total, the whole run's), at most 5 times a
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
    /* the whole run (progress_set_run_steps): steps left at its start, steps of
     * the phases finished since, the phase being trained, seconds per step */
    int64_t run_steps, run_done, cur_total;
    char cur_label[64];
    int cur_phase;
    double sec_per_step;
} Progress;

/* One training step as shown. */
typedef struct {
    const char *strategy;
    int phase;
    int64_t step, total;  /* steps done in the phase, of total */
    double epoch;         /* fractional epoch reached (step / batches per epoch) */
    int epochs;
    double loss, lr, samples_per_s;
    double eta_s;         /* the phase's; < 0: unknown */
} ProgressStep;

/* quiet = 1 prints nothing. MODX_PROGRESS=plain forces plain lines. */
void progress_init(Progress *p, int quiet);
/* Seconds since an arbitrary fixed point (monotonic clock). */
double progress_now(void);
/* The training steps the whole run has left from here (every strategy and
 * phase still to train); the line then shows the run's ETA as well. */
void progress_set_run_steps(Progress *p, int64_t steps);
/* force = 1 prints whatever the rate limit (e.g. the last step of a phase). */
void progress_update(Progress *p, const ProgressStep *s, int force);
/* Ends a pending terminal line, then prints a message line (printf-style). */
void progress_note(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_finish(Progress *p);

#endif
