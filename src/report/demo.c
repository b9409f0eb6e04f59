#include "report/demo.h"

#include <math.h>
#include <string.h>

#include "core/rng.h"

static const char *const demo_metrics[REPORT_DEMO_METRICS] = {
    REPORT_METRIC_I2T_R1, "i2t_R@5", "i2t_R@10", REPORT_METRIC_T2I_R1, "t2i_R@5", "t2i_R@10", "rsum"};

/* R@K from R@1: recall saturates towards 100 with K. */
static double demo_at_k(double r1, int k) { return 100.0 * (1.0 - pow(1.0 - r1 / 100.0, pow((double)k, 0.6))); }

static const char *const demo_names[REPORT_DEMO_STRATEGIES] = {
    "CLIP_ct (fine-tune)", "LwF", "EWC", "Replay", "Mod-X", "Mod-X w/o selection"};
static const char *const demo_modality[REPORT_DEMO_MODALITIES] = {"vision", "text"};
/* Per strategy: share of the first domain kept per phase, speed of learning the
 * new domain, rotation scale (degrees) of vision and text, inter-modal gap. */
static const double demo_keep[REPORT_DEMO_STRATEGIES] = {0.80, 0.88, 0.86, 0.91, 0.95, 0.92};
static const double demo_learn[REPORT_DEMO_STRATEGIES] = {1.00, 0.90, 0.93, 0.97, 0.98, 0.97};
static const double demo_rot_v[REPORT_DEMO_STRATEGIES] = {58, 41, 47, 36, 19, 27};
static const double demo_rot_t[REPORT_DEMO_STRATEGIES] = {51, 37, 44, 33, 17, 24};
static const double demo_gap[REPORT_DEMO_STRATEGIES] = {14, 9, 11, 8, 3.5, 6};

/* Results of every strategy, phase, test set and metric; returns their number. */
static size_t demo_fill_results(ReportDemo *d, Rng *rng) {
    size_t nr = 0;
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) {
        for (int p = 0; p < REPORT_DEMO_PHASES; p++) {
            double coco = 31.0 * pow(demo_keep[s], p) + 1.2 * rng_normal(rng);
            double flickr = p == 0 ? 17.0 : 17.0 + demo_learn[s] * 26.0 * (1 - exp(-0.75 * p)) + 1.0 * rng_normal(rng);
            double held = 0.45 * coco + 0.35 * flickr + 0.8 * rng_normal(rng);
            double fit = 1.25 * flickr + 6 + 0.8 * rng_normal(rng);
            double r1[REPORT_DEMO_SETS] = {coco, flickr, held, fit};
            for (int t = 0; t < REPORT_DEMO_SETS; t++) {
                double i1 = fmax(0.5, r1[t]), t1 = fmax(0.4, 0.78 * r1[t] + 0.5 * rng_normal(rng));
                double v[REPORT_DEMO_METRICS] = {i1, demo_at_k(i1, 5), demo_at_k(i1, 10),
                                                 t1, demo_at_k(t1, 5), demo_at_k(t1, 10), 0};
                for (int m = 0; m < 6; m++) v[6] += v[m];
                if (t < 2) d->cl_r1[s][p * 2 + t] = 0.5 * (i1 + t1);
                for (int m = 0; m < REPORT_DEMO_METRICS; m++)
                    d->results[nr++] = (ReportResult){.strategy = demo_names[s], .phase = p,
                                                      .test_set = d->sets[t].name, .metric = demo_metrics[m],
                                                      .value = v[m]};
            }
        }
    }
    return nr;
}

/* Rotation histograms per strategy and modality; returns their number. */
static size_t demo_fill_hists(ReportDemo *d, Rng *rng) {
    for (int b = 0; b <= REPORT_DEMO_BINS; b++) d->edges[b] = 3.0 * b; /* 0..90 degrees */
    size_t nh = 0;
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) {
        for (int m = 0; m < REPORT_DEMO_MODALITIES; m++) {
            double mean = m == 0 ? demo_rot_v[s] : demo_rot_t[s], sd = 0.12 * mean + 3;
            double *c = d->counts[nh];
            for (int i = 0; i < 1000; i++) {
                double a = mean + sd * rng_normal(rng);
                int b = (int)floor(a / 3.0);
                if (b >= 0 && b < REPORT_DEMO_BINS) c[b] += 1;
            }
            d->hists[nh++] = (ReportRotationHist){.strategy = demo_names[s], .modality = demo_modality[m],
                                                  .comparison = "phase 0 \xE2\x86\x92 phase 5",
                                                  .edges_deg = d->edges, .counts = c, .nbins = REPORT_DEMO_BINS};
        }
    }
    return nh;
}

/* Topology change vs rotation and the inter-modal angle per phase; their
 * numbers go to *nt and *ni. */
static void demo_fill_geometry(ReportDemo *d, Rng *rng, size_t *nt_out, size_t *ni_out) {
    size_t nt = 0, ni = 0;
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) {
        for (int p = 1; p < REPORT_DEMO_PHASES; p++) {
            for (int m = 0; m < REPORT_DEMO_MODALITIES; m++) {
                double scale = (m == 0 ? demo_rot_v[s] : demo_rot_t[s]) * (0.8 - 0.09 * p);
                double rot = scale * (1 + 0.03 * rng_normal(rng));
                double topo = 1.2 + 0.045 * rot + 0.08 * rng_normal(rng);
                d->topology[nt++] = (ReportTopology){.strategy = demo_names[s], .modality = demo_modality[m],
                                                     .phase = p, .rotation_deg = rot, .topology_deg = fmax(0.1, topo)};
            }
            d->intermodal[ni++] = (ReportInterModal){.strategy = demo_names[s], .phase = p,
                                                     .angle_deg = demo_gap[s] * (1 + 0.08 * p) *
                                                                  (1 + 0.05 * rng_normal(rng))};
        }
    }
    *nt_out = nt;
    *ni_out = ni;
}

/* Figures: Last and the average from the matrices above; kept % and learned % (with made-up spreads over
 * seeds) shaped like the keep/learn rates, so the keep-vs-learn plot and its bars have something to show. */
static void demo_fill_cl(ReportDemo *d) {
    d->cl_cols[0] = d->sets[0].name;
    d->cl_cols[1] = d->sets[1].name;
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) {
        const double *r = d->cl_r1[s];
        double avg = 0;
        for (int p = 0; p < REPORT_DEMO_PHASES; p++) avg += 0.5 * (r[p * 2] + r[p * 2 + 1]) / REPORT_DEMO_PHASES;
        ReportCl *c = &d->cl[s];
        *c = (ReportCl){.strategy = demo_names[s], .nrows = REPORT_DEMO_PHASES, .ncols = 2, .cols = d->cl_cols,
                        .r1 = r, .sd = d->cl_sd[s], .train_samples = 5 * 145000.0 * (s == 3 ? 1.25 : 1),
                        .train_s = 5 * 3600.0 * (s == 0 ? 1 : 1.3), .reference = s == 0};
        for (int k = 0; k < REPORT_CL_NFIG; k++) c->fig[k] = d->cl_sd[s][k] = NAN;
        c->fig[REPORT_CL_LAST] = 0.5 * (r[(REPORT_DEMO_PHASES - 1) * 2] + r[(REPORT_DEMO_PHASES - 1) * 2 + 1]);
        c->fig[REPORT_CL_AVG] = avg;
        c->fig[REPORT_CL_KEPT] = 100.0 * pow(demo_keep[s], REPORT_DEMO_PHASES - 1) / pow(0.96, REPORT_DEMO_PHASES - 1);
        c->fig[REPORT_CL_LEARNED] = 100.0 * demo_learn[s] / demo_learn[0];
        d->cl_sd[s][REPORT_CL_KEPT] = 2.0 + 0.4 * s;
        d->cl_sd[s][REPORT_CL_LEARNED] = 1.2 + 0.3 * s;
    }
}

/* The experiment summary's settings; returns their number. */
static size_t demo_fill_summary(ReportDemo *d) {
    static const char *const kv[][2] = {
        {"data", "synthetic demo values (no real run)"},
        {"model", "ViT-B/32 layout, embed 512"},
        {"stream", "COCO \xE2\x86\x92 Flickr30K in 5 phases"},
        {"phases", "6 (0 = first domain)"},
        {"epochs per phase", "35"},
        {"batch size", "280"},
        {"learning rate", "5e-4, 20% warm-up, cosine"},
        {"Mod-X \xCE\xB1", "20"},
        {"probe set", "1000 image\xE2\x80\x93text pairs"},
        {"seed", "20230512"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) d->summary[i] = (ReportKV){kv[i][0], kv[i][1]};
    return sizeof kv / sizeof kv[0];
}

void report_demo_fill(ReportDemo *d) {
    memset(d, 0, sizeof *d);
    Rng rng;
    rng_seed(&rng, 20230512);
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) d->strategies[s] = demo_names[s];

    d->sets[0] = (ReportTestSet){.name = "COCO 5k", .role = REPORT_SET_DOMAIN, .domain_phase = 0};
    d->sets[1] = (ReportTestSet){.name = "Flickr30K 1k", .role = REPORT_SET_DOMAIN, .domain_phase = 1};
    d->sets[2] = (ReportTestSet){.name = "held-out concepts", .role = REPORT_SET_HELDOUT};
    d->sets[3] = (ReportTestSet){.name = "train sample", .role = REPORT_SET_TRAIN_SAMPLE};

    size_t nr = demo_fill_results(d, &rng);
    size_t nh = demo_fill_hists(d, &rng);
    size_t nt, ni;
    demo_fill_geometry(d, &rng, &nt, &ni);
    demo_fill_cl(d);
    size_t nkv = demo_fill_summary(d);

    d->report = (Report){
        .title = "modx report \xE2\x80\x94 demo data",
        .summary = d->summary, .nsummary = nkv,
        .strategies = d->strategies, .nstrategies = REPORT_DEMO_STRATEGIES,
        .test_sets = d->sets, .ntest_sets = REPORT_DEMO_SETS,
        .results = d->results, .nresults = nr,
        .hists = d->hists, .nhists = nh,
        .topology = d->topology, .ntopology = nt,
        .intermodal = d->intermodal, .nintermodal = ni,
        .cl = d->cl, .ncl = REPORT_DEMO_STRATEGIES,
        .cl_what = "Synthetic values. Scatter: x = learned %, y = kept %, \xC2\xB1 1 sd bars over (made-up) seeds; "
                   "CLIP_ct (fine-tune) is the reference of learned %. Heat maps: R[i][j] on the two domain sets.",
    };
}
