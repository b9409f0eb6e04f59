#include "train/schedule.h"

#include <math.h>

double schedule_cosine_lr(double base, int64_t step, int64_t warmup, int64_t total) {
    if (step < 0) step = 0;
    if (warmup > 0 && step < warmup) return base * (double)(step + 1) / (double)warmup;
    if (warmup < 0) warmup = 0;
    const int64_t e = step - warmup, es = total - warmup;
    if (es <= 0 || e >= es) return 0.0;
    return 0.5 * (1.0 + cos(M_PI * (double)e / (double)es)) * base;
}
