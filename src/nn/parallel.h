/* When to open an OpenMP parallel region: only when a loop does at least
 * NN_PAR_MIN_WORK scalar operations. Tiny loops run on the calling thread,
 * because waking a thread team costs more than they do (and far more on a
 * loaded machine). Every parallel loop gives each thread fixed, disjoint
 * outputs, so results never depend on the thread count. */
#ifndef MODX_NN_PARALLEL_H
#define MODX_NN_PARALLEL_H

#define NN_PAR_MIN_WORK (1L << 15)
#define NN_PAR_IF(work) if ((long)(work) >= NN_PAR_MIN_WORK)

#endif
