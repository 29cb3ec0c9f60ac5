#!/usr/bin/env bash
# test/memcheck.sh [asan|valgrind|all]: the regress suite under memory checkers.
#
#   asan      builds rowkeeper.so with -fsanitize=address,undefined and runs
#             the whole regress suite and the isolation specs against a
#             server started with that libasan and libubsan preloaded
#             (LD_PRELOAD).  Debian's server itself is not instrumented, so
#             ASan checks rowkeeper's own code (its stack and global
#             accesses, and heap accesses past a malloc'd block) and UBSan
#             every undefined-behaviour check in rowkeeper's code; palloc'd
#             chunks inside a memory context block are not redzoned.
#   valgrind  runs the server under valgrind memcheck (--trace-children=yes,
#             test/valgrind.supp) and the regress files in MEMCHECK_REGRESS.
#             Debian's server is not built with USE_VALGRIND, so memory
#             contexts are not annotated: uninitialised values and accesses
#             outside malloc'd blocks are found, a read past a palloc'd
#             chunk inside a context block is not.  Errors are reported in
#             two groups: those with a rowkeeper.so frame in their stack,
#             and the server's own (noise on this build, listed, not fatal).
#
# Exit status non-zero when a test fails, ASan or UBSan reports anything,
# or valgrind reports an error with a rowkeeper.so frame.  The normal build
# is installed again at the end.  Do not run it while another script of
# test/ uses the same PostgreSQL installation: it swaps rowkeeper.so.
#
#   MEMCHECK_REGRESS  regress files for valgrind (default: all of them, a
#                     few minutes; e.g. "install audit uninstall" for fewer)
#   MEMCHECK_ISOLATION  isolation specs for valgrind (default: all; empty: none)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

MODE=${1:-all}
MEMCHECK_REGRESS=${MEMCHECK_REGRESS:-$(make -C "$ROOT" -s print-REGRESS)}
MEMCHECK_ISOLATION=${MEMCHECK_ISOLATION-$(make -C "$ROOT" -s print-ISOLATION)}

rk_install_deps valgrind
status=0
summary=()
rk_workdir memcheck
cleanup() {
    rk_stop_clusters; rk_kill_postmasters "$RK_WORK"
    rk_build >/dev/null 2>&1 || echo "could not reinstall the normal build"
}
trap cleanup EXIT

# start_server NAME VAR=VALUE...: initdb, then start the server with the
# environment given (LD_PRELOAD, ASAN_OPTIONS) or, with VALGRIND=1, under
# valgrind (pg_ctl -p: a wrapper in place of the postgres executable).
start_server() {
    local name=$1; shift
    local data=$RK_WORK/$name sock=$RK_WORK/$name.sock exe=$PG_BINDIR/postgres
    rk_as_pg mkdir -p "$sock"
    rk_as_pg "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
        >"$RK_WORK/$name.initdb.log" 2>&1 || { cat "$RK_WORK/$name.initdb.log"; return 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = 5432
fsync = off
shared_buffers = 16MB
max_connections = 20
max_worker_processes = 4
max_parallel_workers_per_gather = 0
autovacuum = off
log_line_prefix = '%m [%p] %e '
CONF
    if [ -n "${VALGRIND:-}" ]; then
        # --error-exitcode=0: a backend exiting non-zero would make the
        # postmaster reset every session; errors are read from the logs
        exe=$RK_WORK/postgres-valgrind
        cat >"$exe" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --trace-children=yes --leak-check=no --error-exitcode=0 \\
    --suppressions=$RK_WORK/valgrind.supp --num-callers=40 --read-var-info=no \\
    --log-file=$RK_WORK/vg/%p.log "$PG_BINDIR/postgres" "\$@"
WRAP
        chmod 755 "$exe"; chown postgres: "$exe"
        rk_as_pg mkdir -p "$RK_WORK/vg"
    fi
    rk_as_pg env "$@" "$PG_BINDIR/pg_ctl" -D "$data" -p "$exe" -l "$RK_WORK/$name.log" -w -t 600 start >/dev/null \
        || { cat "$RK_WORK/$name.log"; return 1; }
    RK_CLUSTERS+=("$data")
    export PGHOST=$sock PGPORT=5432 PGUSER=postgres
}

# run_suite LABEL make-overrides...: make installcheck in the copied tree
run_suite() {
    local label=$1; shift
    rk_say "$label"
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        make -C "$RK_WORK/src" -s PG_CONFIG="$PG_CONFIG" installcheck "$@" >"$RK_WORK/$label.out" 2>&1 || true
    cat "$RK_WORK/$label.out"
    local ok failed
    ok=$(grep -cE '^(test|ok) .* ok' "$RK_WORK/$label.out" || true)
    ok=$(grep -cE '\.\.\. ok|^ok [0-9]+' "$RK_WORK/$label.out" || true)
    failed=$(grep -cE '\.\.\. FAILED|^not ok' "$RK_WORK/$label.out" || true)
    summary+=("$label: $ok passed, $failed failed")
    if [ "$failed" != 0 ] || ! grep -qE 'All [0-9]+ tests passed|tests passed' "$RK_WORK/$label.out"; then
        status=1
        for f in "$RK_WORK/src/regression.diffs" "$RK_WORK/src/output_iso/regression.diffs"; do
            [ -s "$f" ] && head -n 80 "$f"
        done
    fi
}

if [ "$MODE" = asan ] || [ "$MODE" = all ]; then
    asan=$(readlink -f "$(gcc -print-file-name=libasan.so)")
    ubsan=$(readlink -f "$(gcc -print-file-name=libubsan.so)")
    # Debian 12's postgres hangs at startup with libasan preloaded (a
    # corrupted glibc _nl_state_lock in bindtextdomain(), before main() does
    # anything of ours; even "postgres --version" hangs).  Probe for it; when
    # it hangs, build with UBSan only, whose runtime rowkeeper.so loads
    # itself, and say so.
    if timeout 20 env LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 "$PG_BINDIR/postgres" --version >/dev/null 2>&1; then
        sanitizers=address,undefined
        env_vars=(LD_PRELOAD="$asan $ubsan")
    else
        echo "NOTE: postgres does not start with libasan preloaded (it hangs in bindtextdomain()): AddressSanitizer cannot run on this server; UndefinedBehaviorSanitizer only"
        sanitizers=undefined
        env_vars=()
    fi
    # -Wno-error=stringop-overread: GCC 12 with -fsanitize=undefined warns
    # falsely on strchr() after a strncmp() that proved the prefix (tenant.c)
    rk_build ROWKEEPER_CFLAGS="-fsanitize=$sanitizers -fno-omit-frame-pointer -Wno-error=stringop-overread"
    nm -D "$ROOT/rowkeeper.so" >"$RK_WORK/nm.txt"
    grep -q __ubsan_handle "$RK_WORK/nm.txt" || { echo "rowkeeper.so is not instrumented"; exit 1; }
    rm -rf "$RK_WORK/src"; rk_copy_tree "$RK_WORK/src"
    start_server asan "${env_vars[@]}" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:print_summary=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
    # the backend that loads rowkeeper.so maps the sanitizer runtime(s)
    rk_as_pg env PGHOST="$PGHOST" "$PG_BINDIR/psql" -X -Atc "LOAD 'rowkeeper'; SELECT 'backend maps: ' || string_agg(DISTINCT m[1], ', ') FROM regexp_matches(pg_read_file('/proc/' || pg_backend_pid() || '/maps'), '(libasan[^ ]*|libubsan[^ ]*)\n', 'g') m" postgres || true
    run_suite sanitize-regress ISOLATION= TAP_TESTS=
    run_suite sanitize-isolation REGRESS= TAP_TESTS=
    rk_stop_clusters
    asan_reports=$(grep -cE 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$RK_WORK/asan.log" || true)
    crashes=$(grep -cE 'terminated by signal|was terminated by|PANIC|TRAP:' "$RK_WORK/asan.log" || true)
    summary+=("-fsanitize=$sanitizers: $asan_reports sanitizer reports, $crashes crashes in the server log")
    if [ "$asan_reports" != 0 ] || [ "$crashes" != 0 ]; then
        status=1
        grep -nE -A30 'ERROR: AddressSanitizer|runtime error:' "$RK_WORK/asan.log" | head -n 120
    fi
fi

if [ "$MODE" = valgrind ] || [ "$MODE" = all ]; then
    rk_build
    rm -rf "$RK_WORK/src"; rk_copy_tree "$RK_WORK/src"
    cp "$ROOT/test/valgrind.supp" "$RK_WORK/" && chown postgres: "$RK_WORK/valgrind.supp"
    start=$(date +%s)
    VALGRIND=1 start_server vg
    run_suite valgrind-regress REGRESS="$MEMCHECK_REGRESS" ISOLATION= TAP_TESTS=
    [ -z "$MEMCHECK_ISOLATION" ] || run_suite valgrind-isolation REGRESS= ISOLATION="$MEMCHECK_ISOLATION" TAP_TESTS=
    rk_stop_clusters
    # one error block per "==pid== <kind>" line up to the next blank line;
    # a block with a rowkeeper.so frame is ours
    awk -v ours="$RK_WORK/vg-rowkeeper.txt" -v theirs="$RK_WORK/vg-server.txt" '
        function flush() { if (blk != "") { print blk > (mine ? ours : theirs); n[mine]++ } blk = ""; mine = 0 }
        /^==[0-9]+== [A-Z].*(Invalid|uninitialised|Conditional jump|Syscall param|Mismatched|overlap|Source and destination|Use of)/ { flush(); inblk = 1 }
        inblk && /^==[0-9]+== *$/ { flush(); inblk = 0; next }
        inblk { blk = blk $0 "\n"; if ($0 ~ /rowkeeper\.so/) mine = 1 }
        END { flush(); printf "%d %d\n", n[1] + 0, n[0] + 0 > "/dev/stderr" }
    ' "$RK_WORK"/vg/*.log 2>"$RK_WORK/vg-counts.txt" || true
    read -r vg_ours vg_theirs <"$RK_WORK/vg-counts.txt"
    procs=$(ls "$RK_WORK"/vg/*.log | wc -l)
    summary+=("valgrind: $(echo "$MEMCHECK_REGRESS" | wc -w) regress files and $(echo "$MEMCHECK_ISOLATION" | wc -w) isolation specs in $(( $(date +%s) - start ))s, $procs processes traced; errors with a rowkeeper.so frame: $vg_ours; server-only errors (not ours, not fatal): $vg_theirs")
    if [ "$vg_theirs" != 0 ]; then
        echo "server-only valgrind errors, by first frame:"
        grep -hE '^==[0-9]+== +at ' "$RK_WORK/vg-server.txt" | sed -E 's/^==[0-9]+== +at 0x[0-9A-F]+: //' \
            | sort | uniq -c | sort -rn | head -n 10
    fi
    if [ "$vg_ours" != 0 ]; then
        status=1
        head -n 150 "$RK_WORK/vg-rowkeeper.txt"
    fi
fi

rk_say "summary"
printf '%s\n' "${summary[@]}"
[ "$status" = 0 ] && echo PASS || echo FAIL
exit $status
