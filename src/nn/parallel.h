/* When to open an OpenMP parallel region: only when a loop does at least
 * NN_PAR_MIN_WORK scalar operations. Tiny loops run on the calling thread,
 * because waking a thread team costs more than they do (and far more on a
 * loaded machine). Every parallel loop gives each thread fixed, disjoint
 * outputs, so results never depend on the thread count. */
#ifndef MODX_NN_PARALLEL_H
#define MODX_NN_PARALLEL_H

#define NN_PAR_MIN_WORK (1L << 15)
#define NN_PAR_IF(work) if ((long)(work) >= NN_PAR_MIN_WORK)

/* Column sums over all rows (bias and LayerNorm parameter gradients) run in
 * blocks of columns, each column summed in row order, so the sums do not
 * depend on the blocks. The width: one block per thread, a multiple of 16
 * columns, at most `cap` (the caller's accumulator size); wide blocks read
 * each row's part contiguously. */
static inline int nn_column_block(int ncols, int nthreads, int cap) {
    int w = (ncols + nthreads - 1) / nthreads;
    w = (w + 15) / 16 * 16;
    return w < 16 ? 16 : w > cap ? cap : w;
}

#endif
