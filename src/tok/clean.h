/* CLIP's text clean-up: OpenAI's whitespace_clean(basic_clean(text)).lower().
 *
 * basic_clean is ftfy.fix_text, then html.unescape twice, then strip. Of
 * ftfy.fix_text this does the steps that change ordinary text, in ftfy's order
 * and repeated until the text stops changing, as ftfy does:
 *   fix_c1_controls       U+0080..U+009F -> their Windows-1252 characters
 *   fix_latin_ligatures   ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǆ..ǌ Ǳ..ǳ -> letters
 *   fix_character_width   U+3000 -> space, U+FF01..U+FFEF -> their NFKC form
 *   uncurl_quotes         U+02BC U+2018..U+201B -> ', U+201C..U+201F -> "
 *   remove_terminal_escapes  ESC [ (digits|;)* letter -> removed
 *   remove_control_chars  U+0000..08, 0B, 0E..1F, 7F, 206A..206F, FEFF, FFF9..FFFC removed
 *   NFC normalisation (utf8proc)
 * Not done: ftfy's mojibake repair (fix_encoding and its helpers) and its own
 * HTML-entity pass (which only differs from html.unescape twice on text escaped
 * three or more times, or on upper-cased names like &EACUTE;).
 * whitespace_clean: runs of regex \s -> one space, strip; lower: Python's
 * str.lower (utf8proc's simple mapping + U+0130 and final sigma). */
#ifndef MODX_TOK_CLEAN_H
#define MODX_TOK_CLEAN_H

#include "tok/unicode.h"

/* Cleans text[0..n) (valid UTF-8) into out (code points). */
ModxStatus tok_clean(const char *text, size_t n, TokCps *out);

#endif
