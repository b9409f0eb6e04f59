/* modx watch: continual training on a folder that grows (run/watch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/memory_budget.h"
#include "clip/config.h"
#include "io/file.h"
#include "run/experiment.h"
#include "run/rundir.h"
#include "run/watch.h"
#include "train/trainer.h"

static const char watch_usage[] =
    "usage: modx watch DIR --experiment EXPERIMENT.json --out RUN_DIR [--min-shards K] [--once]\n"
    "                  [--interval SECONDS] [--quiet] [--max-memory SIZE]\n"
    "Continual training on a folder that grows. A webdataset shard DIR/NAME.tar is complete once\n"
    "DIR/NAME.tar.done exists (write the shard, close it, then create the empty marker); a shard\n"
    "without its marker is never read. Whenever at least K complete shards no phase has taken are\n"
    "in DIR, all of them (in name order) become the next phase: prepared at the model's image size\n"
    "and context length with the experiment's tokenizer, trained with the experiment's one\n"
    "strategy from the previous phase's model, evaluated on its test sets (may be none), and\n"
    "published as RUN_DIR/latest.safetensors (renamed into place: never half-written). Phase 0 is\n"
    "phase0.checkpoint, or a fresh model. The experiment may leave out \"datasets\" and \"stream\".\n"
    "RUN_DIR/watch.json records which shards each phase took; after SIGKILL, run the same command\n"
    "again: the phase in progress resumes exactly, no shard is trained twice or skipped.\n"
    "SIGINT/SIGTERM finish the current step, write a resume checkpoint and stop (exit 128 + signal).\n"
    "  --experiment FILE   the experiment (required; exactly one strategy)\n"
    "  --out RUN_DIR       the run folder (required; created when missing)\n"
    "  --min-shards K      complete new shards needed for a phase (default 1)\n"
    "  --once              process what is there, then exit (default: keep watching)\n"
    "  --interval SECONDS  seconds between looks at DIR when watching (default 10)\n"
    "  --quiet             no progress output (default: progress on stderr)\n" CLI_MAX_MEMORY_HELP;

MODX_COMMAND(watch, "watch", "continual training on a folder of shards that grows (modx watch DIR --experiment E --out RUN)") {
    if (cli_wants_help(argc, argv)) return fputs(watch_usage, stdout), 0;
    CliOpt o[] = {{"--experiment", 1, 0}, {"--out", 1, 0},   {"--min-shards", 1, 0}, {"--once", 0, 0},
                  {"--interval", 1, 0},   {"--quiet", 0, 0}, {"--max-memory", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 7, pos, 1, &npos)) return 2;
    if (npos != 1 || !o[0].value || !o[1].value) return fputs(watch_usage, stderr), 2;
    long k = 1;
    double interval = 10;
    if (o[2].value && cli_int("watch", "--min-shards", o[2].value, 1, 1000000, &k)) return 2;
    if (o[4].value && cli_double("watch", "--interval", o[4].value, &interval)) return 2;
    if (!(interval >= 0.1 && interval <= 86400)) {
        fprintf(stderr, "modx: watch: --interval: expected seconds in [0.1, 86400], found %s\n", o[4].value);
        return 2;
    }
    uint64_t budget;
    if (cli_memory_budget("watch", o[6].value, &budget)) return 2;
    Experiment e;
    if (experiment_load_watch(&e, o[0].value) != MODX_OK) return cli_report_error("watch");
    ClipConfig cfg;
    if (clip_config_load(&cfg, e.model) != MODX_OK) return experiment_free(&e), cli_report_error("watch");
    if (cli_check_model_memory("watch", &cfg, e.hp.batch, budget, e.model)) return experiment_free(&e), 1;
    RunLock lock;
    char command[1024];
    cli_command_line(command, sizeof command, "watch", argc, argv);
    if (io_mkdir_p(o[1].value) != MODX_OK || run_lock(&lock, o[1].value, command) != MODX_OK)
        return experiment_free(&e), cli_report_error("watch");
    trainer_install_signals();
    WatchOptions wo = {.dir = pos[0], .min_shards = (int)k, .once = o[3].value != NULL, .interval = interval,
                       .quiet = o[5].value != NULL};
    int stopped = 0;
    ModxStatus st = watch_run(&e, o[1].value, &wo, &stopped);
    experiment_free(&e);
    run_unlock(&lock);
    if (st != MODX_OK) return cli_report_error("watch");
    if (stopped) {
        fprintf(stderr, "modx: watch: stopped by signal %d; run the same command again to continue\n", stopped);
        return 128 + stopped;
    }
    return 0;
}
