#!/usr/bin/env bash
# test/check.sh: the whole test suite, on a fresh Debian 12 machine as root.
#
#   installs what is missing, builds with -Wall -Wextra -Werror, installs,
#   starts a throwaway cluster (postgres OS user, unix socket only) and runs
#   pg_regress (sql/ + expected/), the isolation tester (test/isolation/) and
#   the TAP tests (test/t/*.pl), then stops everything it started.
#
# Exits non-zero on any failure and prints the diffs.  Extra arguments are
# passed to make for the build (e.g. ROWKEEPER_CFLAGS=-DUSE_ASSERT_CHECKING).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

rk_install_deps
# node and npm for the node-postgres client test (test/t/010_soft_delete_client.pl):
# Debian's packages, unless a node with its own npm is installed already
command -v node >/dev/null && command -v npm >/dev/null || rk_install_deps nodejs npm
# Django (Debian's 3.2) for the ORM test test/t/081_orm_django.pl; knex for
# test/t/080_orm_knex.pl comes from the npm registry like node-postgres
/usr/bin/python3 -c 'import django, psycopg2' 2>/dev/null || rk_install_deps python3-django python3-psycopg2
rk_build "$@"
rk_workdir check
# Servers stop on exit; outputs stay in $RK_WORK for reading until next run.
trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
rk_copy_tree "$RK_WORK/src"
rk_start_cluster regress
SRC=$RK_WORK/src

status=0
run_suite() {   # run_suite LABEL make-variable-overrides...
    local label=$1; shift
    rk_say "$label"
    if ! rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
            make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" installcheck "$@" \
            2>&1 | tee "$RK_WORK/$label.out"; then
        status=1
    fi
    # make's status is lost in the pipe above; the output says it all
    grep -qE 'FAILED|failed \(ignored\)|^not ok|Dubious|Result: FAIL|tests? failed' \
        "$RK_WORK/$label.out" && status=1
    return 0
}
run_suite regress   ISOLATION= TAP_TESTS=
run_suite isolation REGRESS= TAP_TESTS=
run_suite tap       REGRESS= ISOLATION= PROVE_FLAGS=--timer

for f in "$SRC/regression.diffs" "$SRC/output_iso/regression.diffs"; do
    if [ -s "$f" ]; then rk_say "diffs: $f"; cat "$f"; fi
done
if grep -qE '^not ok|Dubious|Result: FAIL' "$RK_WORK/tap.out"; then
    for f in "$SRC"/tmp_check/log/regress_log_*; do
        [ -f "$f" ] && { rk_say "TAP log $f (tail)"; tail -n 60 "$f"; }
    done
fi

rk_stop_clusters

# The reliability runs, short: the regress and isolation suites again with
# an -fsanitize=undefined build (test/memcheck.sh asan; AddressSanitizer
# where the server starts with it), and a fixed-seed SQLsmith run with its
# invariants (test/fuzz/sqlsmith.sh).  RK_CHECK_RELIABILITY=0 skips them;
# RK_FUZZ_SECONDS sets the fuzz time.  Each counts as one test below.
extra_passed=0 extra_failed=0
run_extra() {   # run_extra LABEL command...
    local label=$1; shift
    rk_say "$label"
    if "$@" > "$RK_WORK/$label.out" 2>&1; then
        extra_passed=$((extra_passed + 1)); echo "$label: ok"
    else
        extra_failed=$((extra_failed + 1)); status=1
        echo "$label: FAILED (last lines of $RK_WORK/$label.out)"; tail -n 40 "$RK_WORK/$label.out"
    fi
}
if [ "${RK_CHECK_RELIABILITY:-1}" != 0 ]; then
    run_extra sanitize bash "$ROOT/test/memcheck.sh" asan
    run_extra fuzz env FUZZ_SECONDS="${RK_FUZZ_SECONDS:-30}" FUZZ_SEED=1 \
        bash "$ROOT/test/fuzz/sqlsmith.sh"
fi

# One closing line over every test file of every kind (regress and isolation:
# "test NAME ... ok|FAILED"; prove: "test/t/NAME.pl .. ok|Dubious|Failed"),
# plus the reliability runs.
all_out() { cat "$RK_WORK"/{regress,isolation,tap}.out 2>/dev/null; }
passed=$(all_out | grep -cE '^(test [^ ]+ +\.\.\. ok|\[[0-9:]+\] test/t/[^ ]+ \.\.+ ok)' || true)
failed=$(all_out | grep -cE '^(test [^ ]+ +\.\.\. FAILED|\[[0-9:]+\] test/t/[^ ]+ \.\.+ *$)' || true)
passed=$((passed + extra_passed)); failed=$((failed + extra_failed))
[ "$status" = 0 ] || [ "$failed" -gt 0 ] || failed=1
echo
echo "${passed} passed, ${failed} failed"
exit $status
