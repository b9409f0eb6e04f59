/* Python's html.unescape on code points: numeric references (&#NN; &#xHH;,
 * with html's fix-ups for invalid ones) and every HTML5 named reference from
 * html.entities.html5, including the legacy names without ';' and the
 * longest-prefix rule. The table is generated (tools/gen_tok_tables.py). */
#ifndef MODX_TOK_HTML_H
#define MODX_TOK_HTML_H

#include "tok/unicode.h"

/* Appends the unescaped text of in to out. */
ModxStatus tok_html_unescape(const TokCps *in, TokCps *out);

#endif
