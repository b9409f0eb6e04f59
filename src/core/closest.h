/* "Did you mean": the candidate nearest a mistyped word. */
#ifndef MODX_CORE_CLOSEST_H
#define MODX_CORE_CLOSEST_H

/* The candidate closest to `word` by edit distance (insert, delete,
 * substitute) when it is close enough to be a typo — at most max(2, len/3)
 * edits — else NULL. Words of 64 bytes or more match nothing. */
const char *closest_word(const char *word, const char *const *cands, int n);

#endif
