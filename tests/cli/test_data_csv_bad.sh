# Bad CSV files: a row with another number of fields, an empty path, an unknown
# split are errors naming file and line (skipped and listed with --skip-bad); an
# unterminated quote, a missing column or a bad separator option always fail.
set -eu
F=tests/fixtures/data
python3 tools/make_wds_csv_fixtures.py "$TMP/fx"
B="$TMP/fx/bad"
check() { "$MODX" data check --format csv --images $F "$@"; }
fails() { # expected message, options...
  local msg=$1; shift
  if check "$@" > "$TMP/out" 2> "$TMP/err"; then echo "accepted: $*"; exit 1; fi
  grep -q -- "$msg" "$TMP/err" || { echo "expected '$msg', got:"; cat "$TMP/err"; exit 1; }
}
fails "fields.csv:2: expected 2 fields (as the header), found 3" --input "$B/fields.csv"
fails "empty_path.csv:2: expected an image path" --input "$B/empty_path.csv"
fails "unterminated.csv:2: a quoted field is not closed" --input "$B/unterminated.csv" --csv-separator ,
fails "no_column.csv:1: expected a column 'filepath' in the header (columns: 'path', 'title')" --input "$B/no_column.csv"
fails "no_column.csv:1: expected a column 'caption'" --input "$B/no_column.csv" --csv-img-key path --csv-caption-key caption
fails "expected a column 'vendor'" --input "$TMP/fx/data.tsv" --csv-domain-key vendor
fails "expected one character or 'tab'" --input "$TMP/fx/data.tsv" --csv-separator ab
printf 'filepath\ttitle\tsplit\nimages/red.png\tred\ttrain\nimages/blue.png\tblue\ttrian\n' > "$TMP/split.tsv"
fails "split.tsv:3: split 'trian'" --input "$TMP/split.tsv"
check --input "$TMP/split.tsv" --skip-bad > "$TMP/out"
grep -q "images 1, captions 1" "$TMP/out" && grep -q "split.tsv:3: split 'trian'" "$TMP/out"
{ cat "$B/fields.csv"; printf 'images/blue.png\tblue\n'; } > "$TMP/mixed.tsv"
check --input "$TMP/mixed.tsv" --skip-bad > "$TMP/out"
grep -q "images 1, captions 1, domains 1, skipped 1" "$TMP/out"
echo "bad csv files handled"
