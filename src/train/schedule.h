/* Learning-rate schedule: linear warmup, then cosine decay to 0 — the same
 * numbers as OpenCLIP's cosine_lr, queried with the 0-based global step of the
 * update about to be taken (step 0 is the first update):
 *
 *   step < warmup:  lr = base · (step + 1) / warmup
 *   otherwise:      e = step − warmup, es = total − warmup,
 *                   lr = 0.5 · (1 + cos(π · e / es)) · base
 *
 * Outside OpenCLIP's range we pick: warmup ≤ 0 means no warmup; when es ≤ 0
 * (the whole run is warmup) or step ≥ total the rate is 0 rather than the
 * cosine climbing back up. SPEC §4 uses warmup = 20% of a phase's steps. */
#ifndef MODX_TRAIN_SCHEDULE_H
#define MODX_TRAIN_SCHEDULE_H

#include <stdint.h>

double schedule_cosine_lr(double base, int64_t step, int64_t warmup, int64_t total);

#endif
