# modx tokenize over the golden texts (one per line; texts with a newline are
# skipped) must print exactly the golden ids; invalid UTF-8 names the line;
# modx tokenizer train is deterministic and its output tokenizes.
set -eu
vocab=data/bpe_simple_vocab_16e6.txt.gz
"$MODX" tokenize --help | grep -q -- '--vocab'
"$MODX" tokenizer train --help | grep -q -- '--size'
# The golden texts and ids as plain lines (written by tools/gen_tok_golden.py
# beside tok_golden.jsonl, so no JSON tool is needed here).
python_free_texts=tests/fixtures/tok_golden_lines.txt
python_free_ids=tests/fixtures/tok_golden_lines.ids
"$MODX" tokenize --vocab "$vocab" < "$python_free_texts" > "$TMP/got.ids"
if ! cmp -s "$TMP/got.ids" "$python_free_ids"; then
  diff "$TMP/got.ids" "$python_free_ids" | head -n 10
  echo "modx tokenize output differs from the golden ids"
  exit 1
fi
echo "$(wc -l < "$python_free_ids") lines match"
# --context
printf 'a photo of a cat\n' | "$MODX" tokenize --vocab "$vocab" --context 4 > "$TMP/c.ids"
[ "$(cat "$TMP/c.ids")" = "49406 320 1125 49407" ] || { echo "context 4: $(cat "$TMP/c.ids")"; exit 1; }
# invalid UTF-8 on line 3
if printf 'ok\nfine\nbad \xff\n' | "$MODX" tokenize --vocab "$vocab" > "$TMP/o" 2> "$TMP/e"; then
  echo "invalid UTF-8 accepted"; exit 1
fi
grep -q 'line 3' "$TMP/e" || { echo "error does not name line 3: $(cat "$TMP/e")"; exit 1; }
[ "$(wc -l < "$TMP/o")" -eq 2 ] || { echo "lines before the bad one not printed"; exit 1; }
# corrupt vocabulary
printf '#version: 0.2\na b c\n' > "$TMP/bad.txt"
if "$MODX" tokenize --vocab "$TMP/bad.txt" < /dev/null 2> "$TMP/e"; then echo "corrupt merges accepted"; exit 1; fi
grep -q "bad.txt:2" "$TMP/e" || { echo "corrupt merges message: $(cat "$TMP/e")"; exit 1; }
# training: twice, byte-identical, and usable
"$MODX" tokenizer train --corpus "$python_free_texts" --size 900 --out "$TMP/a.bpe"
"$MODX" tokenizer train --corpus "$python_free_texts" --size 900 --out "$TMP/b.bpe"
cmp "$TMP/a.bpe" "$TMP/b.bpe"
head -n 1 "$TMP/a.bpe" | grep -q '#version'
printf 'a photo of a cat\n' | "$MODX" tokenize --vocab "$TMP/a.bpe" > "$TMP/t.ids"
first=$(cut -d' ' -f1 < "$TMP/t.ids"); last=$(awk '{print $NF}' < "$TMP/t.ids")
[ "$first" = 898 ] && [ "$last" = 899 ] || { echo "trained vocab ids: $(cat "$TMP/t.ids")"; exit 1; }
