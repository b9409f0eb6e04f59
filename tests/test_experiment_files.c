/* The shipped experiment files of README "Random splits (the paper's
 * setting)" and "Which strategy wins the keep/learn trade" (emoji_random,
 * emoji_sweep, emoji_best) parse: their
 * strategies (list-valued variant keys expanded) and seeds are the ones the
 * README reports. They name data under data/emoji/ that `make demo` prepares;
 * parsing does not need it. */
#include <string.h>

#include "harness.h"
#include "run/experiment.h"
#include "strategy/strategy.h"

/* Loads `path` and checks its seeds are 0, 1, 2 and its strategies are
 * `names` (NULL-terminated), in that order. */
static int check_file(const char *path, const char *const *names) {
    Experiment e;
    memset(&e, 0, sizeof e);
    if (experiment_load(&e, path) != MODX_OK) {
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
                                        "modx+replay-rows-replay", "cumulative-equal-b1000",
                                        "cumulative-exponential-b1000", "zscl-l1", NULL};
    EXPECT(check_file("experiments/emoji_sweep.json", names), "experiments/emoji_sweep.json");
}

TEST(experiment_file_emoji_best_parses) {
    static const char *const names[] = {"joint", "finetune", "zscl-l1", NULL};
    EXPECT(check_file("experiments/emoji_best.json", names), "experiments/emoji_best.json");
}
