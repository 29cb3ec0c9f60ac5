#!/usr/bin/env bash
# test/source_check.sh: checks of the source tree that no server test can
# make.  Prints one line per check and a last line "source: N passed, N
# failed"; exits non-zero on a failure.  test/check.sh runs it first.
#
#   guc       every rowkeeper.* setting is defined in src/guc.c (the one
#             place README's Settings table is kept against): no other C
#             file calls DefineCustom*Variable.
#   headers   every C source and header starts with a comment naming the
#             file and carries the copyright line.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0

check() {   # check NAME MESSAGE-IF-FAILED OUTPUT-OF-THE-OFFENDERS
    local name=$1 msg=$2 offenders=$3
    if [ -z "$offenders" ]; then
        passed=$((passed + 1)); echo "$name: ok"
    else
        failed=$((failed + 1)); echo "$name: FAILED: $msg"; printf '%s\n' "$offenders" | sed 's/^/  /'
    fi
}

check guc "a setting is defined outside src/guc.c" \
    "$(grep -n 'DefineCustom[A-Za-z]*Variable' "$ROOT"/src/*.c | grep -v '^'"$ROOT"'/src/guc\.c:' || true)"

offenders=
for f in "$ROOT"/src/*.c "$ROOT"/src/*.h; do
    base=$(basename "$f")
    head -n 4 "$f" | grep -q "^ \* *$base\$" || offenders+="$f: no header comment naming $base"$'\n'
    grep -q 'Copyright (c) [0-9]*, rowkeeper developers' "$f" || offenders+="$f: no copyright line"$'\n'
done
check headers "a C file lacks its header comment or copyright line" "${offenders%$'\n'}"

echo "source: $passed passed, $failed failed"
[ "$failed" = 0 ]
