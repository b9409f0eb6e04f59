/* modx run / modx continual: an experiment over its whole stream (every
 * strategy, or one), into a run directory (docs/run-directory.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/memory_budget.h"
#include "core/dist.h"
#include "io/file.h"
#include "report/run_report.h"
#include "run/rundir.h"
#include "analysis/seed_summary.h"
#include "run/continual.h"
#include "run/experiment.h"
#include "run/rundist.h"
#include "run/experiment_template.h"
#include "strategy/strategy.h"
#include "run/seeds.h"
#include "train/trainer.h"

static const char run_usage[] =
    "usage: modx run EXPERIMENT.json --out RUN_DIR [--seed N] [--precision fp32|bf16] [--quiet] [--no-report]\n"
    "       modx run --resume RUN_DIR [--quiet] [--no-report]\n"
    "       modx run --print-defaults > EXPERIMENT.json\n"
    "Runs every strategy of the experiment over its whole stream: phase 0 once, then each\n"
    "strategy's phases 1..N from the same phase-0 checkpoint, evaluating every test set after\n"
    "each phase. Writes RUN_DIR as docs/run-directory.md describes and prints the results table.\n"
    "SIGINT/SIGTERM stop after the current step with a resume checkpoint; --resume continues a\n"
    "stopped or killed run and ends bit-identical to an uninterrupted one (same machine and\n"
    "thread count). Set OMP_WAIT_POLICY=passive for speed (see src/clip/model.h).\n"
    "With \"seeds\": [S, ...] in the experiment, every strategy runs once per seed (phase 0 too),\n"
    "each into RUN_DIR/seed-S/, and RUN_DIR gets the mean \xC2\xB1 sd over seeds (results.md, summary.json,\n"
    "summary.md, report.html; docs/run-directory.md).\n"
    "Then it analyses the run (RUN_DIR/analysis.json, as `modx analyze RUN_DIR`) and writes\n"
    "RUN_DIR/report.html (as `modx report RUN_DIR`). The experiment file: docs/experiment.md.\n"
    "  --out RUN_DIR      the run directory to write (required, unless --resume)\n"
    "  --resume RUN_DIR   continue a stopped or killed run (its own experiment.json)\n"
    "  --seed N           override the experiment's train.seed (recorded in RUN_DIR/experiment.json;\n"
    "                     default: the experiment's, itself default 0)\n"
    "  --quiet            no progress line\n"
    "  --no-report        skip the analysis and the report\n"
    "  --precision P      fp32 or bf16: override train.precision; bf16 runs the models' matrix products\n"
    "                     on bf16 operands with fp32 accumulation (weights, optimizer, losses stay fp32)\n"
    "  --print-defaults   print a complete experiment file with every default written out (own data\n"
    "                     in my.jsonl, a run-managed manifest dataset), and exit\n" CLI_MAX_MEMORY_HELP;

static const char continual_usage[] =
    "usage: modx continual EXPERIMENT.json --strategy NAME --out RUN_DIR [--precision fp32|bf16] [--quiet]\n"
    "       [--no-report]\n"
    "       modx continual --resume RUN_DIR --strategy NAME [--quiet] [--no-report]\n"
    "One strategy of the experiment over its stream (phase 0 first when the run has none yet).\n"
    "Several `modx continual` calls on one RUN_DIR (with --resume after the first) build up\n"
    "the same run as `modx run`.\n"
    "  --strategy NAME    the strategy (required): one of the experiment's \"strategies\" (a strategy\n"
    "                     or a variant's name); the strategies are listed below\n"
    "  --out RUN_DIR      the run directory to write (required, unless --resume)\n"
    "  --resume RUN_DIR   continue a run (its own experiment.json)\n"
    "  --seed N           override the experiment's train.seed (default: the experiment's, itself 0)\n"
    "  --precision P      fp32 or bf16: override train.precision (default: the experiment's, itself fp32)\n"
    "  --quiet            no progress line\n"
    "  --no-report        skip the analysis and the report\n" CLI_MAX_MEMORY_HELP;

/* continual --help: its options, then every registered strategy and what it does. */
static void continual_help(FILE *f) {
    fputs(continual_usage, f);
    int n;
    const StrategyDesc *const *all = strategy_all(&n);
    fprintf(f, "strategies (src/strategy/):\n");
    for (int i = 0; i < n; i++) fprintf(f, "    %-14s %s\n", all[i]->name, all[i]->summary);
}

/* --print-defaults: the template experiment on stdout. */
static int print_defaults(void) {
    char *text = experiment_template_json();
    if (!text) return fputs("modx run: out of memory\n", stderr), 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* The inter-modal relative rotation needs at least E probe pairs: said before
 * training rather than discovered in the report. */
static void warn_probe_pairs(const char *cmd, const Experiment *e, const ClipConfig *cfg) {
    if (e->probe_pairs >= cfg->embed_dim) return;
    fprintf(stderr, "modx %s: note: the probe has %d pairs, fewer than the model's %d embedding dimensions: the "
            "analysis cannot determine the inter-modal relative rotation (it needs pairs >= embed_dim); give "
            "\"probe\": {\"pairs\": %d} or more to have it\n", cmd, e->probe_pairs, cfg->embed_dim, cfg->embed_dim);
}

static int print_table(const char *run_dir) {
    char *table = NULL;
    int seeds[EXP_MAX_SEEDS], n;
    if (seeds_of_run(run_dir, seeds, &n)) { /* the aggregates over seeds (results.md, summary.json/md) */
        if (seed_summary_write_dir(run_dir, &table) != MODX_OK) return 1;
        printf("\n%s\nresults: %s/results.md, %s/summary.md, %s/summary.json\n", table, run_dir, run_dir, run_dir);
        free(table);
        return 0;
    }
    if (continual_final_table(run_dir, &table) != MODX_OK) return 1;
    printf("\n%s\nresults: %s/results.md, %s/results.csv\n", table, run_dir, run_dir);
    free(table);
    return 0;
}

static int run_common(const char *cmd, int argc, char **argv, int one_strategy) {
    if (cli_wants_help(argc, argv)) return one_strategy ? continual_help(stdout) : (void)fputs(run_usage, stdout), 0;
    CliOpt o[] = {{"--out", 1, 0},  {"--resume", 1, 0},    {"--quiet", 0, 0},  {"--seed", 1, 0},
                  {"--no-report", 0, 0}, {"--max-memory", 1, 0}, {"--precision", 1, 0}, {"--print-defaults", 0, 0}};
    if (one_strategy) o[7] = (CliOpt){"--strategy", 1, 0}; /* continual: its strategy instead */
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 8, pos, 1, &npos)) return 2;
    if (!one_strategy && o[7].value) return print_defaults();
    uint64_t budget;
    if (cli_memory_budget(cmd, o[5].value, &budget)) return 2;
    const char *out = o[0].value, *resume = o[1].value;
    if ((!resume && npos == 1 && cli_require(cmd, &o[0])) || (one_strategy && cli_require(cmd, &o[7]))) return 2;
    if ((resume && (npos || out)) || (!resume && (npos != 1 || !out)) || (resume && (o[3].value || o[6].value))) {
        fputs(one_strategy ? continual_usage : run_usage, stderr);
        return 2;
    }
    /* In a job of several ranks (core/dist.h) rank 0 alone prints progress, takes the lock and writes. */
    RunOptions ro = {.quiet = o[2].value != NULL || !dist_is_writer(), .resume = resume != NULL, .only_strategy = NULL};
    if (one_strategy) ro.only_strategy = o[7].value;
    ro.max_memory = budget;
    int precision = -1;
    if (o[6].value && cli_precision(cmd, o[6].value, &precision)) return 2;
    Experiment e;
    const char *dir = resume ? resume : out;
    ModxStatus st = resume ? continual_load_run_experiment(&e, resume) : experiment_load(&e, pos[0]);
    if (st != MODX_OK) return cli_report_error(cmd);
    long seed;
    if (o[3].value && e.n_seeds) {
        fprintf(stderr, "modx %s: --seed: %s lists \"seeds\" (each is train.seed of one run); drop one of them\n", cmd,
                e.path);
        return experiment_free(&e), 2;
    }
    if (o[3].value) {
        if (cli_int(cmd, "--seed", o[3].value, 0, 2147483647L, &seed)) return experiment_free(&e), 2;
        experiment_set_seed(&e, (uint64_t)seed);
    }
    if (precision >= 0) experiment_set_precision(&e, precision);
    ClipConfig cfg; /* refused before anything of the model is allocated */
    if (clip_config_load(&cfg, e.model) != MODX_OK) return experiment_free(&e), cli_report_error(cmd);
    if (cli_check_model_memory(cmd, &cfg, e.hp.batch, budget, e.model)) return experiment_free(&e), 1;
    warn_probe_pairs(cmd, &e, &cfg);
    /* modx continual on a new folder, or a further strategy on an existing one. */
    if (one_strategy && !resume) ro.resume = 0;
    /* One process writes a run directory: the lock is held through the report. */
    RunLock lock;
    char command[1024];
    cli_command_line(command, sizeof command, cmd, argc, argv);
    lock.fd = -1;
    if (io_mkdir_p(dir) != MODX_OK || run_dist_check(&e, &cfg, dir) != MODX_OK ||
        (dist_is_writer() && run_lock(&lock, dir, command) != MODX_OK))
        return experiment_free(&e), cli_report_error(cmd);
    trainer_install_signals();
    st = e.n_seeds ? seeds_run(&e, dir, &ro) : continual_run(&e, dir, &ro);
    experiment_free(&e);
    int rc = st != MODX_OK ||
             (dist_is_writer() && (print_table(dir) || (!o[4].value && report_run_finish(dir, stdout) != MODX_OK)));
    run_unlock(&lock);
    if (rc && trainer_stop_requested) { /* stopped by a signal: the message, then 128 + the signal */
        cli_report_error(cmd);
        return 128 + (int)trainer_stop_requested;
    }
    return rc ? cli_report_error(cmd) : 0;
}

MODX_COMMAND(run, "run", "run an experiment: every strategy over the whole stream (or --resume a run)") {
    return run_common("run", argc, argv, 0);
}

MODX_COMMAND(continual, "continual", "one strategy of an experiment over its stream of phases") {
    return run_common("continual", argc, argv, 1);
}
