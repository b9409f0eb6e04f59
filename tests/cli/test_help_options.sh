# Every command's --help describes every option its parser accepts, each on
# exactly one line of its own ("  --name ARG   what it does"), and no option
# twice; a missing required option is named. The parser's own list comes from
# MODX_LIST_OPTIONS (src/cli/args.h), so an option added without help fails here.
set -eu
cmds=$("$MODX" --help | awk '/^  [a-z]/{print $1}')
cmds="$cmds
data prepare
data emoji
data check
data info
data phases
tokenizer train"
fail=0
while read -r c; do
  [ -n "$c" ] || continue
  # shellcheck disable=SC2086
  "$MODX" $c --help > "$TMP/help" 2>&1 || { echo "modx $c --help failed"; fail=1; continue; }
  # shellcheck disable=SC2086
  MODX_LIST_OPTIONS=1 "$MODX" $c > "$TMP/opts" 2>/dev/null || true
  while read -r opt; do
    [ -n "$opt" ] || continue
    # a description line: indented, the option first, then at least one word of text
    n=$(grep -cE "^ +$opt([ =,][^ ]*)*( {2,}|: )[^ ]" "$TMP/help" || true)
    if [ "$n" -ne 1 ]; then
      echo "modx $c --help: option $opt has $n description lines (expected 1)"; fail=1
    fi
  done < <(grep -E "^--" "$TMP/opts" || true)
  # no option described twice (also those the parser does not list, e.g. --help)
  dup=$(grep -oE "^ +--[a-z0-9-]+" "$TMP/help" | tr -d ' ' | sort | uniq -d)
  [ -z "$dup" ] || { echo "modx $c --help: described twice: $dup"; fail=1; }
done <<< "$cmds"
# strategy names are listed by continual's help
for s in joint finetune modx lwf ewc replay wiseft merge; do
  "$MODX" continual --help | grep -qw -- "$s" || { echo "continual --help does not name strategy $s"; fail=1; }
done
# a missing required option is named
check_missing() { # expected option, command...
  local want=$1; shift
  if "$@" 2> "$TMP/e" > /dev/null; then echo "$* succeeded"; fail=1; return; fi
  grep -q "missing required option $want" "$TMP/e" || { echo "$*: does not name $want:"; cat "$TMP/e"; fail=1; }
}
check_missing --out "$MODX" init --config configs/micro.json
check_missing --config "$MODX" init --out "$TMP/x.safetensors"
check_missing --ckpt "$MODX" eval --data "$TMP/none"
check_missing --data "$MODX" eval --ckpt "$TMP/none"
check_missing --out "$MODX" run experiments/emoji.json
check_missing --strategy "$MODX" continual experiments/emoji.json --out "$TMP/r"
check_missing --out "$MODX" merge a b --mix 0.5
check_missing --mix "$MODX" merge a b --out c
check_missing --out "$MODX" probe --ckpt a --data b
check_missing --data "$MODX" train --config configs/micro.json --out "$TMP/t"
check_missing --vocab "$MODX" zeroshot --ckpt a --data b --labels domain
check_missing --out "$MODX" data prepare --format manifest --input m.jsonl --vocab v --size 32
[ $fail -eq 0 ] && echo ok
exit $fail
