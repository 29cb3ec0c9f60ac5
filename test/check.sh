#!/usr/bin/env bash
# test/check.sh: the whole test suite on every supported PostgreSQL major,
# on a fresh Debian 12 machine as root.
#
#   For each major (15, 17 and 18 by default): installs what is missing
#   (15: Debian's packages; 17 and 18: built once from the pinned sources
#   in ../shared/postgres, cached in /opt/rowkeeper-pg), builds with -Wall
#   -Wextra -Werror, installs, starts a throwaway cluster (postgres OS user,
#   unix socket only) and runs pg_regress (sql/ + expected/), the isolation
#   tester (test/isolation/) and the TAP tests (test/t/*.pl), then the
#   reliability runs (UBSan build, SQLsmith), and stops everything it
#   started.  Prints a summary line per major and one closing line over
#   every test of every major: "N passed, N failed".
#
#   RK_PG_MAJORS="15"        the majors to test (space-separated)
#   RK_PG_CONFIG_17=...      a pg_config for one major (e.g. a private copy)
#                            instead of Debian's package or the built one
#   PG_CONFIG=...            test that server only (its major), as before
#   RK_CHECK_RELIABILITY=0   skip the UBSan and fuzz runs
#   RK_FUZZ_SECONDS=30       how long SQLsmith runs per major
#
# Exits non-zero on any failure and prints the diffs.  Extra arguments are
# passed to make for the build (e.g. ROWKEEPER_CFLAGS=-DUSE_ASSERT_CHECKING).
# Outputs stay in $TMPDIR/rowkeeper-check-MAJOR (default TMPDIR /tmp) until
# the next run.
set -euo pipefail
given_pg_config=${PG_CONFIG:-}
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

# ---------------------------------------------------------------------------
# One major (check.sh calls itself with RK_CHECK_ONE=1, PG_MAJOR, PG_CONFIG)
# ---------------------------------------------------------------------------
if [ -n "${RK_CHECK_ONE:-}" ]; then
    rk_workdir check
    # the counts file tells the caller what ran; written last
    counts=$RK_WORK/counts
    trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
    rk_install_deps
    # node and npm for the node-postgres client test (test/t/010_soft_delete_client.pl):
    # Debian's packages, unless a node with its own npm is installed already
    command -v node >/dev/null && command -v npm >/dev/null || rk_install_deps nodejs npm
    # Django (Debian's 3.2) for the ORM test test/t/081_orm_django.pl; knex for
    # test/t/080_orm_knex.pl comes from the npm registry like node-postgres
    /usr/bin/python3 -c 'import django, psycopg2' 2>/dev/null || rk_install_deps python3-django python3-psycopg2
    "$PG_CONFIG" --version > "$RK_WORK/version"
    rk_say "$(cat "$RK_WORK/version") ($PG_CONFIG)"
    rk_build "$@"
    # Citus 13.2.2 for test/t/082_citus.pl on the majors it supports (15, 17);
    # a failed build there fails the run (the TAP test would only skip)
    citus_ok=1
    bash "$ROOT/test/citus_setup.sh" || citus_ok=0
    rk_copy_tree "$RK_WORK/src"
    rk_start_cluster regress
    SRC=$RK_WORK/src

    status=0
    run_suite() {   # run_suite LABEL make-variable-overrides...
        local label=$1; shift
        rk_say "$label ($PG_MAJOR)"
        if ! rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
                make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" installcheck "$@" \
                2>&1 | tee "$RK_WORK/$label.out"; then
            status=1
        fi
        return 0
    }
    run_suite regress   ISOLATION= TAP_TESTS=
    run_suite isolation REGRESS= TAP_TESTS=
    run_suite tap       REGRESS= ISOLATION= PROVE_FLAGS=--timer

    # Every test is looked up by name in its suite's output, in the formats
    # of every major: pg_regress and the isolation tester print
    # "test NAME ... ok" up to 15 and "ok N - NAME" from 16 on ("+" in a
    # parallel group); prove prints "[time] test/t/NAME.pl .. ok".  A test
    # without its ok line failed, whatever the output says: crashed, bailed
    # out, or never started.
    passed=0 failed=0 failures=() skipped=()
    count() {   # count KIND OUTPUT OK-REGEX-WITH-@ NAMES...
        local kind=$1 out=$2 re=$3 n; shift 3
        for n in "$@"; do
            if grep -qE "${re//@/$n}" "$out" 2>/dev/null; then
                passed=$((passed + 1))
            elif [ "$kind" = tap ] && grep -qE "^(\[[0-9:]+\] )?test/t/$n\.pl \.+ skipped: " "$out" 2>/dev/null; then
                # a TAP test that cannot run on this major says why
                # (082_citus on 18): neither passed nor failed
                skipped+=("$n")
            else
                failed=$((failed + 1)); failures+=("$kind $n")
            fi
        done
    }
    pgr_ok='^(test +@ +\.\.\. +ok|ok +[0-9]+ +[-+] +@)( |$)'
    count regress "$RK_WORK/regress.out" "$pgr_ok" $(make -C "$ROOT" -s print-REGRESS)
    count isolation "$RK_WORK/isolation.out" "$pgr_ok" $(make -C "$ROOT" -s print-ISOLATION)
    count tap "$RK_WORK/tap.out" '^(\[[0-9:]+\] )?test/t/@\.pl \.+ ok( |$)' \
        $(cd "$ROOT/test/t" && ls -- *.pl | sed 's/\.pl$//')

    for f in "$SRC/regression.diffs" "$SRC/output_iso/regression.diffs"; do
        if [ -s "$f" ]; then rk_say "diffs: $f"; cat "$f"; fi
    done
    # the failed TAP tests' own logs (not every test's): the assertions and
    # what each node logged at ERROR or worse
    for t in "${failures[@]}"; do
        case "$t" in tap\ *) ;; *) continue ;; esac
        t=${t#tap }
        f="$SRC/tmp_check/log/regress_log_$t"
        [ -f "$f" ] && { rk_say "TAP log $f (tail)"; tail -n 150 "$f"; }
        for f in "$SRC/tmp_check/log/${t}_"*.log; do
            [ -f "$f" ] || continue
            rk_say "node log $f (ERROR and worse, last 40)"
            grep -E -A2 '(ERROR|FATAL|PANIC|TRAP):' "$f" | tail -n 40
        done
    done

    rk_stop_clusters

    # The reliability runs, short: the regress and isolation suites again
    # with an -fsanitize=undefined build (test/memcheck.sh asan;
    # AddressSanitizer where the server starts with it), and a fixed-seed
    # SQLsmith run with its invariants (test/fuzz/sqlsmith.sh).  Each counts
    # as one test.
    run_extra() {   # run_extra LABEL command...
        local label=$1; shift
        rk_say "$label ($PG_MAJOR)"
        if "$@" > "$RK_WORK/$label.out" 2>&1; then
            passed=$((passed + 1)); echo "$label: ok"
        else
            failed=$((failed + 1)); failures+=("reliability $label")
            echo "$label: FAILED (last lines of $RK_WORK/$label.out)"; tail -n 40 "$RK_WORK/$label.out"
        fi
    }
    if [ "${RK_CHECK_RELIABILITY:-1}" != 0 ]; then
        run_extra sanitize bash "$ROOT/test/memcheck.sh" asan
        run_extra fuzz env FUZZ_SECONDS="${RK_FUZZ_SECONDS:-30}" FUZZ_SEED=1 \
            bash "$ROOT/test/fuzz/sqlsmith.sh"
    fi

    [ "$citus_ok" = 1 ] || { failed=$((failed + 1)); failures+=("citus setup"); }
    [ "$failed" = 0 ] || status=1
    [ "$status" = 0 ] || [ "$failed" -gt 0 ] || { failed=1; failures+=("(a suite failed outside any test)"); }
    printf '%s\n' "${skipped[@]}" > "$RK_WORK/skipped"
    printf '%s %s %s\n' "$passed" "$failed" "$(IFS=,; echo "${failures[*]}")" > "$counts"
    exit $status
fi

# ---------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------
if [ -n "${RK_PG_MAJORS:-}" ]; then
    read -r -a majors <<<"$RK_PG_MAJORS"
elif [ -n "$given_pg_config" ]; then
    majors=("$PG_MAJOR")
else
    majors=(15 17 18)
fi

# What a major that did not get as far as its tests failed: every test.
expected_tests() {
    local n
    n=$(( $(make -C "$ROOT" -s print-REGRESS | wc -w) + $(make -C "$ROOT" -s print-ISOLATION | wc -w)
          + $(ls "$ROOT"/test/t/*.pl | wc -l) ))
    [ "${RK_CHECK_RELIABILITY:-1}" = 0 ] || n=$((n + 2))
    echo "$n"
}

status=0 total_passed=0 total_failed=0 summary=()
start_all=$(date +%s)
for m in "${majors[@]}"; do
    pgc_var=RK_PG_CONFIG_$m
    pgc=${!pgc_var:-}
    if [ -z "$pgc" ] && [ -n "$given_pg_config" ] && [ "$(rk_pg_major "$given_pg_config")" = "$m" ]; then
        pgc=$given_pg_config
    fi
    [ -n "$pgc" ] || pgc=$(rk_default_pg_config "$m")
    work=${TMPDIR:-/tmp}/rowkeeper-check-$m
    rm -f "$work/counts" "$work/version" "$work/skipped"
    start=$(date +%s)
    rk_say "PostgreSQL $m"
    rc=0
    RK_CHECK_ONE=1 PG_MAJOR=$m PG_CONFIG=$pgc bash "$ROOT/test/check.sh" "$@" || rc=$?
    secs=$(( $(date +%s) - start ))
    if [ -s "$work/counts" ]; then
        read -r p f failures < "$work/counts"
    else
        p=0 f=$(expected_tests) failures="(stopped before the tests: see above)"
    fi
    [ "$rc" = 0 ] && [ "$f" = 0 ] || status=1
    [ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
    total_passed=$((total_passed + p)); total_failed=$((total_failed + f))
    version=$(cat "$work/version" 2>/dev/null || echo "PostgreSQL $m")
    skips=$(grep -v '^$' "$work/skipped" 2>/dev/null | paste -sd, - | sed 's/,/, /g' || true)
    summary+=("$version: $p passed, $f failed in ${secs}s${failures:+ (failed: ${failures//,/, })}${skips:+ (skipped, see its output: $skips)}")
done

# The package, once (Debian's PostgreSQL 15): the source tree's own checks
# (test/source_check.sh: settings defined in src/guc.c only, file headers),
# META.json against the PGXN Meta Spec, and the Debian package built, installed, smoke-tested and
# removed (test/deb.sh).  RK_CHECK_PACKAGE=0 skips both.
if [ "${RK_CHECK_PACKAGE:-1}" != 0 ]; then
    pkg_passed=0 pkg_failed=0 pkg_failures=()
    mkdir -p "${TMPDIR:-/tmp}"
    for t in source meta deb; do
        rk_say "package: $t"
        case $t in
            source) cmd=(bash "$ROOT/test/source_check.sh") ;;
            meta) cmd=(perl "$ROOT/test/meta_check.pl") ;;
            deb)  cmd=(bash "$ROOT/test/deb.sh") ;;
        esac
        log=${TMPDIR:-/tmp}/rowkeeper-package-$t.out
        if "${cmd[@]}" > "$log" 2>&1; then
            pkg_passed=$((pkg_passed + 1)); tail -n 1 "$log"
        else
            pkg_failed=$((pkg_failed + 1)); pkg_failures+=("$t"); status=1
            echo "$t: FAILED (last lines of $log)"; tail -n 40 "$log"
        fi
    done
    total_passed=$((total_passed + pkg_passed)); total_failed=$((total_failed + pkg_failed))
    summary+=("package (source, META.json, .deb): $pkg_passed passed, $pkg_failed failed${pkg_failures[*]:+ (failed: ${pkg_failures[*]})}")
fi

rk_say "summary ($(( $(date +%s) - start_all ))s)"
printf '%s\n' "${summary[@]}"
echo
echo "${total_passed} passed, ${total_failed} failed"
exit $status
