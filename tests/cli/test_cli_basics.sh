# The command dispatches, prints help, and rejects unknown commands with exit 2.
set -eu
"$MODX" --help | grep -q 'usage: modx'
"$MODX" version | grep -q '^modx '
set +e
"$MODX" no-such-command 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 2 ]
grep -q "unknown command 'no-such-command'" "$TMP/err"
