/* The shipped experiment files of README "Random splits (the paper's
 * setting)" and "Which strategy wins the keep/learn trade" (emoji_random,
 * emoji_sweep, emoji_best) parse: their
 * strategies (list-valued variant keys expanded) and seeds are the ones the
 * README reports. They name data under data/emoji/ that `make demo` prepares
 * (absent from a fresh checkout): each file is parsed from a copy beside
 * empty stand-ins for those files and the repository's configs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "run/experiment.h"
#include "strategy/strategy.h"

/* Loads `path` and checks its seeds are 0, 1, 2 and its strategies are
 * `names` (NULL-terminated), in that order. */
static int check_file(const char *path, const char *const *names) {
    char root[512], copy[768], cmd[4096];
    snprintf(root, sizeof root, "%s/expfiles", harness_tmpdir());
    snprintf(copy, sizeof copy, "%s/%s", root, path);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/experiments %s/data/emoji && : > %s/data/emoji/bpe.txt && : > %s/data/emoji/dataset.cache && "
             "ln -sfn \"$PWD/configs\" %s/configs && cp %s %s",
             root, root, root, root, root, path, copy);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s: could not lay out the stand-ins\n", path);
        return 0;
    }
    Experiment e;
    memset(&e, 0, sizeof e);
    if (experiment_load(&e, copy) != MODX_OK) {
        fprintf(stderr, "%s: %s\n", path, modx_last_error());
        return 0;
    }
    int ok = e.n_seeds == 3 && e.seeds[0] == 0 && e.seeds[1] == 1 && e.seeds[2] == 2, n = 0;
    for (; names[n]; n++)
        if (n >= e.n_strategies || strcmp(e.strategies[n].name, names[n])) {
            fprintf(stderr, "%s: strategy %d is %s, expected %s\n", path, n,
                    n < e.n_strategies ? e.strategies[n].name : "(none)", names[n]);
            ok = 0;
        }
    if (n != e.n_strategies) fprintf(stderr, "%s: %d strategies, expected %d\n", path, e.n_strategies, n), ok = 0;
    experiment_free(&e);
    return ok;
}

TEST(experiment_file_emoji_random_parses) {
    static const char *const names[] = {"joint", "finetune", "modx", "replay", NULL};
    EXPECT(check_file("experiments/emoji_random.json", names), "experiments/emoji_random.json");
}

TEST(experiment_file_emoji_sweep_parses) {
    static const char *const names[] = {"joint", "finetune", "oracle", "modx-a10", "modx-a100",
                                        "modx+replay-rows-replay", "lwf-l1", "lwf-l10", "replay-b1000",
                                        "replay-b3000", "cumulative-equal-b1000", "cumulative-exponential-b1000",
                                        "cumulative-all-b1000", "cumulative-reservoir-b1000", "cumulative-equal-b3000",
                                        "wiseft-m0.25", "wiseft-m0.5", "merge-w0", "merge-w0.5", "zscl-l0.5",
                                        "zscl-l1", "zscl-l2", NULL};
    EXPECT(check_file("experiments/emoji_sweep.json", names), "experiments/emoji_sweep.json");
}

TEST(experiment_file_emoji_best_parses) {
    static const char *const names[] = {"joint", "finetune", "cumulative-equal-b3000", NULL};
    EXPECT(check_file("experiments/emoji_best.json", names), "experiments/emoji_best.json");
}
