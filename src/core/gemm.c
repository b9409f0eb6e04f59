/* The matrix-product dispatch point (contract in gemm.h).
 *
 * Why oneDNN. Candidates were Debian's well-kept libraries that pick their
 * kernels from the CPU itself, measured as bench/bench_gemm does (2 threads,
 * OMP_WAIT_POLICY=passive, GFLOP/s of the best of ≥ 1 s of repeats) on this
 * machine (AMD EPYC, AVX-512 + AVX512-BF16, 2 cores shared with other jobs,
 * so figures wander by ±30%; orderings held across repeats):
 *
 *   product (row-major)            OpenBLAS 0.3.21   oneDNN 2.6.3   BLIS 0.9.0
 *                                  (Haswell, as CI)  dnnl_sgemm     (generic / skx forced)
 *   2048²·2048  NN                  19-54             41-59          7 / 32
 *   2048²·2048  NT                  29-46             46-66          10 / 42
 *   6400×1536·512 NT (small qkv)    38-85             65-73          11 / 38
 *   1536×512·6400 TN (small dW)     31-66             54-59          7 / 12
 *
 * (the upper OpenBLAS figures are its SkylakeX kernels, reachable only by
 * setting OPENBLAS_CORETYPE before the library loads: a re-exec of the
 * process, which would also change the environment CI must keep.)
 * - OpenBLAS obeys OPENBLAS_CORETYPE=Haswell (AVX2) at load time; a program
 *   can only override it by re-executing itself or dlopen-ing a private copy
 *   after setenv, both fragile, so it stays at about half the machine.
 * - BLIS (libblis-openmp) selects its 'generic' sub-configuration on this CPU
 *   (no native AMD-Zen4 / AVX-512 match in Debian's build): 4-6× slower;
 *   even with BLIS_ARCH_TYPE=skx it trails oneDNN.
 * - oneDNN dispatches on CPUID features (avx512_core, avx512_core_bf16) and
 *   is the library PyTorch's CPU kernels use; its dnnl_sgemm is ~2× OpenBLAS's
 *   Haswell kernels at 2048² and on the step's shapes, and its bf16 matmul
 *   roughly doubles fp32 again. bench/run.sh prints both peaks each run; in a
 *   quieter moment (load ~4): 2048² fp32 164 GFLOP/s, bf16 278 GFLOP/s,
 *   OpenBLAS Haswell 85 GFLOP/s (README, Performance, has the step figures).
 * A later machine (Intel Xeon with AMX, 2 cores, quiet), 2048²: oneDNN fp32
 * 406-415 GFLOP/s, OpenBLAS 386-400 with its own kernels and 234 with
 * OPENBLAS_CORETYPE=Haswell, oneDNN bf16 1595-1651 (AMX); inside a training
 * step the fp32 products run at 280-345 (bench_step's "products" line), and
 * oneDNN's matmul primitive was no faster than dnnl_sgemm on the step's
 * shapes (faster on one weight-gradient shape, slower on most).
 * Determinism: dnnl_sgemm splits work by a fixed plan for a given shape and
 * thread count and sums split-K partials in a fixed order, so results repeat
 * bit for bit (tests/test_gemm.c checks it); inside an OpenMP parallel region
 * it runs on the calling thread only.
 *
 * gemm_bf16's fixed costs. A call rounds both operands into one reused buffer
 * (core/bf16.c: AVX512-BF16 VCVTNE2PS2BF16, 32 values per instruction, with
 * the denormal lanes it would flush redone exactly; bit-identical to
 * gemm_bf16_round on all 2^32 floats), then runs a matmul primitive kept per
 * (transposes, shape, alpha, beta, ldc, thread count) with the caller's
 * scratchpad, on a reused stream. Before, each call malloc'd the operands,
 * rounded them one scalar call per element and made a primitive descriptor,
 * primitive and stream: a perf profile of the tiny bf16 step had 21% of its
 * samples in that scalar rounding. ONEDNN_VERBOSE on the tiny step
 * shows every bf16 product on brg:avx512_core_bf16 (no reference kernel), the
 * transposed operands passed as strided ("ba") descriptors. Transposing while
 * packing instead was tried (an in-register 16×16 transpose): the TN products
 * did not get faster (the transpose cost about what oneDNN's own copy does),
 * so operands keep their stored layout. */
#include "core/gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bf16.h"
#include "core/error.h"

static void check_args(int transA, int transB, int M, int N, int K, int lda, int ldb, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative dims M=%d N=%d K=%d", M, N, K);
    int acols = transA ? M : K, bcols = transB ? K : N;
    CHECK(lda >= (acols > 1 ? acols : 1) && ldb >= (bcols > 1 ? bcols : 1) && ldc >= (N > 1 ? N : 1),
          "gemm: leading dims lda=%d ldb=%d ldc=%d too small for M=%d N=%d K=%d (transA=%d transB=%d)", lda, ldb,
          ldc, M, N, K, transA, transB);
}

/* C = beta·C (beta == 0 writes zeros): the product of an empty K. */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

/* The arguments checked; 1 when there is nothing to multiply (done here). */
static int trivial_product(int transA, int transB, int M, int N, int K, int lda, int ldb, float beta, float *C,
                           int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return 1;
    if (K == 0) scale_c(M, N, beta, C, ldc);
    return K == 0;
}

static pthread_mutex_t g_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_stats_on;
static GemmStats g_stats;

void gemm_stats_start(void) {
    pthread_mutex_lock(&g_stats_lock);
    g_stats = (GemmStats){0};
    __atomic_store_n(&g_stats_on, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_stats_lock);
}

GemmStats gemm_stats_stop(void) {
    pthread_mutex_lock(&g_stats_lock);
    __atomic_store_n(&g_stats_on, 0, __ATOMIC_RELAXED);
    GemmStats s = g_stats;
    pthread_mutex_unlock(&g_stats_lock);
    return s;
}

/* The start time of a product to be timed, or a negative value when none is. */
static double stats_begin(void) {
    /* omp_get_level, not omp_in_parallel: a one-thread (inactive) region counts too */
    if (!__atomic_load_n(&g_stats_on, __ATOMIC_RELAXED) || omp_get_level() > 0) return -1.0;
    return omp_get_wtime();
}

static void stats_end(double t0, int M, int N, int K) {
    if (t0 < 0.0) return;
    double dt = omp_get_wtime() - t0;
    pthread_mutex_lock(&g_stats_lock);
    if (g_stats_on) g_stats.calls++, g_stats.flops += 2.0 * M * N * K, g_stats.seconds += dt;
    pthread_mutex_unlock(&g_stats_lock);
}

void gemm_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
    if (trivial_product(transA, transB, M, N, K, lda, ldb, beta, C, ldc)) return;
    double t0 = stats_begin();
    dnnl_status_t st = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C,
                                  ldc);
    CHECK(st == dnnl_success, "gemm_f32: dnnl_sgemm failed (status %d) on M=%d N=%d K=%d", (int)st, M, N, K);
    stats_end(t0, M, N, K);
}

/* The naive product; `round` makes operands bf16 first. */
static void gemm_naive(int round, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = transB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (round) a = gemm_bf16_to_f32(gemm_bf16_round(a)), b = gemm_bf16_to_f32(gemm_bf16_round(b));
                s += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
}

void gemm_f32_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    gemm_naive(0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    gemm_naive(1, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

uint16_t gemm_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: keep it quiet */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float gemm_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static dnnl_engine_t g_engine;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_create(void) {
    dnnl_status_t st = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    CHECK(st == dnnl_success, "gemm: oneDNN CPU engine could not be created (status %d)", (int)st);
}

/* A bf16 matmul primitive and its descriptors, for one key: the transposes,
 * shape, alpha, beta, C's stride and the thread count it was made for. The
 * packed operands are compact (lda = K or M, ldb = N or K). Its scratchpad is
 * the caller's (scratchpad mode "user"), so one primitive may run on several
 * threads at once. */
typedef struct {
    int ta, tb, M, N, K, ldc, nthr;
    float alpha, beta;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t a_md, b_md, c_md, s_md;
    size_t scratch_bytes;
} Bf16Plan;

/* Per-call working memory: the packed operands and the scratchpad in one
 * 64-byte-aligned buffer, and a stream. A call holds one slot; slots are
 * reused, never freed (a process's shapes are few). */
typedef struct {
    void *buf;
    size_t cap;
    dnnl_stream_t stream;
    int busy;
} Bf16Slot;

#define BF16_PLANS 128 /* beyond: a primitive per call, destroyed after it */
#define BF16_SLOTS 16  /* concurrent callers beyond: a buffer per call */

static pthread_mutex_t g_bf16_lock = PTHREAD_MUTEX_INITIALIZER;
static Bf16Plan g_plans[BF16_PLANS];
static int g_nplans;
static long g_plan_misses;
static Bf16Slot g_slots[BF16_SLOTS];

long gemm_bf16_plan_misses(void) {
    pthread_mutex_lock(&g_bf16_lock);
    long n = g_plan_misses;
    pthread_mutex_unlock(&g_bf16_lock);
    return n;
}

/* The matmul descriptors of key p (p->a_md, b_md, c_md set) and its attributes. */
static int plan_descs(Bf16Plan *p, dnnl_matmul_desc_t *md, dnnl_primitive_attr_t attr, dnnl_post_ops_t po) {
    dnnl_dims_t ad = {p->M, p->K}, bd = {p->K, p->N}, cd = {p->M, p->N};
    dnnl_dims_t as = {p->ta ? 1 : p->K, p->ta ? p->M : 1}, bs = {p->tb ? 1 : p->N, p->tb ? p->K : 1};
    dnnl_dims_t cs = {p->ldc, 1};
    return dnnl_memory_desc_init_by_strides(&p->a_md, 2, ad, dnnl_bf16, as) == dnnl_success &&
           dnnl_memory_desc_init_by_strides(&p->b_md, 2, bd, dnnl_bf16, bs) == dnnl_success &&
           dnnl_memory_desc_init_by_strides(&p->c_md, 2, cd, dnnl_f32, cs) == dnnl_success &&
           dnnl_matmul_desc_init(md, &p->a_md, &p->b_md, NULL, &p->c_md) == dnnl_success &&
           (p->alpha == 1.0f || dnnl_primitive_attr_set_output_scales(attr, 1, 0, &p->alpha) == dnnl_success) &&
           (p->beta == 0.0f || dnnl_post_ops_append_sum(po, p->beta) == dnnl_success) &&
           dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success &&
           dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
}

/* Creates p->prim and p->s_md for the key in p; aborts when oneDNN cannot. */
static void plan_create(Bf16Plan *p) {
    pthread_once(&g_engine_once, engine_create);
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    const dnnl_memory_desc_t *smd = NULL;
    p->prim = NULL;
    int ok = dnnl_primitive_attr_create(&attr) == dnnl_success && dnnl_post_ops_create(&po) == dnnl_success &&
             plan_descs(p, &md, attr, po) && dnnl_primitive_desc_create(&pd, &md, attr, g_engine, NULL) == dnnl_success &&
             (smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)) != NULL &&
             dnnl_primitive_create(&p->prim, pd) == dnnl_success;
    if (ok) p->s_md = *smd, p->scratch_bytes = dnnl_memory_desc_get_size(smd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    CHECK(ok, "gemm_bf16: oneDNN bf16 matmul unavailable for M=%d N=%d K=%d", p->M, p->N, p->K);
}

static int plan_same(const Bf16Plan *a, const Bf16Plan *b) {
    return a->ta == b->ta && a->tb == b->tb && a->M == b->M && a->N == b->N && a->K == b->K && a->ldc == b->ldc &&
           a->nthr == b->nthr && !memcmp(&a->alpha, &b->alpha, sizeof a->alpha) &&
           !memcmp(&a->beta, &b->beta, sizeof a->beta);
}

/* The cached plan for key `want`, created on a miss (outside the lock: a
 * creation takes ~0.3 ms); *own is filled and returned when the cache is full
 * (the caller destroys own->prim). Two threads missing the same key both
 * create it; the second keeps its own as an uncached one. */
static const Bf16Plan *plan_get(const Bf16Plan *want, Bf16Plan *own) {
    pthread_mutex_lock(&g_bf16_lock);
    for (int i = 0; i < g_nplans; i++)
        if (plan_same(&g_plans[i], want)) {
            pthread_mutex_unlock(&g_bf16_lock);
            return &g_plans[i];
        }
    g_plan_misses++;
    pthread_mutex_unlock(&g_bf16_lock);
    *own = *want;
    plan_create(own);
    pthread_mutex_lock(&g_bf16_lock);
    const Bf16Plan *p = own;
    if (g_nplans < BF16_PLANS) g_plans[g_nplans] = *own, p = &g_plans[g_nplans++], own->prim = NULL;
    pthread_mutex_unlock(&g_bf16_lock);
    return p;
}

/* A free slot (or *own when all are busy) with a buffer of ≥ bytes and a stream. */
static Bf16Slot *slot_take(size_t bytes, Bf16Slot *own) {
    Bf16Slot *s = own;
    pthread_mutex_lock(&g_bf16_lock);
    for (int i = 0; i < BF16_SLOTS; i++)
        if (!g_slots[i].busy) {
            s = &g_slots[i], s->busy = 1;
            break;
        }
    pthread_mutex_unlock(&g_bf16_lock);
    if (s->cap < bytes) {
        free(s->buf);
        s->buf = NULL, s->cap = 0;
        CHECK(!posix_memalign(&s->buf, 64, bytes), "gemm_bf16: out of memory for %zu bytes of bf16 operands", bytes);
        s->cap = bytes;
    }
    if (!s->stream)
        CHECK(dnnl_stream_create(&s->stream, g_engine, dnnl_stream_default_flags) == dnnl_success,
              "gemm_bf16: oneDNN stream could not be created");
    return s;
}

static void slot_give(Bf16Slot *s, Bf16Slot *own) {
    if (s == own) {
        free(s->buf);
        if (s->stream) dnnl_stream_destroy(s->stream);
        return;
    }
    pthread_mutex_lock(&g_bf16_lock);
    s->busy = 0;
    pthread_mutex_unlock(&g_bf16_lock);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* C = alpha·Ab·Bb + beta·C by plan p on the packed operands. */
static void plan_run(const Bf16Plan *p, dnnl_stream_t stream, const uint16_t *Ab, const uint16_t *Bb, float *C,
                     void *scratch) {
    dnnl_memory_t m[4] = {NULL, NULL, NULL, NULL};
    int ok = dnnl_memory_create(&m[0], &p->a_md, g_engine, (void *)Ab) == dnnl_success &&
             dnnl_memory_create(&m[1], &p->b_md, g_engine, (void *)Bb) == dnnl_success &&
             dnnl_memory_create(&m[2], &p->c_md, g_engine, C) == dnnl_success &&
             dnnl_memory_create(&m[3], &p->s_md, g_engine, scratch) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_DST, m[2]}, {DNNL_ARG_SCRATCHPAD, m[3]}};
        ok = dnnl_primitive_execute(p->prim, stream, 4, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
    }
    for (int i = 0; i < 4; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    CHECK(ok, "gemm_bf16: oneDNN bf16 matmul failed on M=%d N=%d K=%d", p->M, p->N, p->K);
}

void gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc) {
    if (trivial_product(transA, transB, M, N, K, lda, ldb, beta, C, ldc)) return;
    double t0 = stats_begin();
    Bf16Plan want = {.ta = transA, .tb = transB, .M = M, .N = N, .K = K, .ldc = ldc, .alpha = alpha, .beta = beta,
                     .nthr = omp_in_parallel() ? 1 : omp_get_max_threads()};
    Bf16Plan own_plan = {0};
    Bf16Slot own_slot = {0};
    const Bf16Plan *p = plan_get(&want, &own_plan);
    size_t a_bytes = align64((size_t)M * K * sizeof(uint16_t)), b_bytes = align64((size_t)K * N * sizeof(uint16_t));
    Bf16Slot *s = slot_take(a_bytes + b_bytes + p->scratch_bytes, &own_slot);
    uint16_t *Ab = s->buf, *Bb = (uint16_t *)((char *)s->buf + a_bytes);
    bf16_pack(Ab, A, transA ? K : M, transA ? M : K, lda);
    bf16_pack(Bb, B, transB ? N : K, transB ? K : N, ldb);
    plan_run(p, s->stream, Ab, Bb, C, (char *)s->buf + a_bytes + b_bytes);
    slot_give(s, &own_slot);
    if (own_plan.prim) dnnl_primitive_destroy(own_plan.prim);
    stats_end(t0, M, N, K);
}

void gemm(GemmPrecision prec, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc) {
    if (prec == GEMM_BF16) gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else gemm_f32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static GemmPrecision g_layer_precision = GEMM_F32;

GemmPrecision gemm_set_layer_precision(GemmPrecision p) {
    GemmPrecision old = g_layer_precision;
    g_layer_precision = p;
    return old;
}

GemmPrecision gemm_layer_precision(void) { return g_layer_precision; }

void gemm_layer(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc) {
    gemm(g_layer_precision, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
