/* The embedded default data: emoji images of four vendors as four domains.
 *
 * Sources (npm packages, installed by scripts/setup_npm.sh into third_party/npm):
 *   emoji-datasource-<vendor>/img/<vendor>/64/<hex>.png   the images (64×64 RGBA)
 *   emojibase-data/en/data.json                           [{label, hexcode, tags?, skins?: [{label, hexcode}]}]
 * An image file name is its code point sequence in lower-case hex ("1f44b-1f3fb.png");
 * it is joined to emojibase by hexcode, compared upper-case with every FE0F
 * (variation selector 16) removed, because the two packages disagree on where
 * FE0F appears. Skin-tone variants carry their own emojibase label ("waving hand:
 * medium skin tone") and their base emoji's tags.
 *
 * Captions per image (label L, tags t1..tk of the base emoji, up to 5, those equal
 * to L left out; "a"/"an" chosen by L's first letter):
 *   1. "L"
 *   2. "L, t1, t2, ..."            (only when the emoji has tags)
 *   3. "an emoji of a L"
 *   4. "a L icon"
 * Domains in this order: apple, google, twitter, facebook. Split: by base emoji
 * (an emoji and all its skin tones go to the same side), the same for every
 * vendor: emojibase's base emojis, in hexcode order, are shuffled with `seed`
 * and the first round(test_fraction × count) are test, the rest train. Images
 * are listed vendor by vendor in file-name order, so the result is deterministic.
 * An image whose code points emojibase does not know is left out and counted
 * (EmojiReport.unlabelled), never silently. */
#ifndef MODX_DATA_EMOJI_H
#define MODX_DATA_EMOJI_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/dataset.h"

#define EMOJI_N_VENDORS 4
extern const char *const EMOJI_VENDORS[EMOJI_N_VENDORS];

typedef struct {
    uint64_t seed;        /* split seed */
    double test_fraction; /* in [0, 1); e.g. 0.1 */
} EmojiOptions;

typedef struct {
    size_t images[EMOJI_N_VENDORS][2];   /* [vendor][0 = train, 1 = test] */
    size_t captions[EMOJI_N_VENDORS][2];
    size_t unlabelled[EMOJI_N_VENDORS];  /* image files with no emojibase entry (left out) */
    char first_unlabelled[EMOJI_N_VENDORS][64];
    size_t n_base_emoji, n_test_base_emoji;
} EmojiReport;

/* Builds the dataset from the packages under npm_dir (the folder holding
 * node_modules/, or node_modules itself). Images get split TRAIN or TEST. */
ModxStatus emoji_build_dataset(Dataset *ds, const char *npm_dir, const EmojiOptions *opt, EmojiReport *rep);

/* The captions of one emoji as the templates above write them (for tests and docs):
 * writes up to 4 malloc'd strings into out[], returns how many. */
int emoji_captions(const char *label, const char *const *tags, size_t n_tags, char *out[4]);

#endif
