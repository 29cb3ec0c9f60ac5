#!/usr/bin/env bash
# test/bench/purge.sh: purging soft-deleted rows next to a live workload.
#
# What is measured, on one throwaway cluster (test/lib.sh;
# synchronous_commit=off, shared_buffers=256MB, autovacuum off):
#   table items: ROWS rows, the upper half soft-deleted 40 days ago (SPREAD=1:
#   one deletion time per row, a millisecond apart; SPREAD=0: one for all,
#   as after one mass soft delete), an index on deleted_at; the workload: pgbench, CLIENTS clients, single-row
#   UPDATEs of random live rows (test/bench/purge/update.pgbench), every
#   transaction logged (pgbench -l) so that throughput and p99 latency are
#   computed over exactly the window of each purge.
#     baseline  the workload alone, for BASE_SECONDS
#     delete    one plain DELETE FROM items WHERE deleted_at < now() - '30 days'
#     purge     CALL rowkeeper.purge_expired('items', 'deleted_at', '30 days'
#               <, options>) for each entry of PURGES ('|'-separated option
#               lists; the empty entry is the defaults: adaptive batch size,
#               no pause)
#   The table is rebuilt before each.  ROUNDS rounds of all of them,
#   interleaved; each round's ratios are taken against that round's
#   baseline and DELETE, and the medians over the rounds are reported:
#   purge rows/s (and its ratio to the plain DELETE), workload tps and p99
#   latency during each (and their ratios to the workload alone), WAL bytes
#   per purged row, and the purge backend's CPU share (its CPU seconds over
#   its wall-clock seconds, /proc).
#
# Usage (root): test/bench/purge.sh    ROWS=200000 ROUNDS=1 SPREAD=0 test/bench/purge.sh
#   PURGES="|pause => '20 ms'|batch_size => 5000" test/bench/purge.sh
# The machine's other load shows in the figures: compare ratios.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROWS=${ROWS:-2000000}
CLIENTS=${CLIENTS:-2}
ROUNDS=${ROUNDS:-3}
SPREAD=${SPREAD:-1}
PURGES=${PURGES:-"|pause => '10 ms'|pause => '50 ms'"}
BASE_SECONDS=${BASE_SECONDS:-20}
BENCH=$ROOT/test/bench/purge

rk_install_deps
rk_build
rk_workdir bench-purge
trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
rk_start_cluster c "shared_buffers=256MB" "synchronous_commit=off" "autovacuum=off" \
    "max_wal_size=8GB" "checkpoint_timeout=1h"
cp "$BENCH/update.pgbench" "$RK_WORK/" && chown postgres "$RK_WORK/update.pgbench"
sql() { rk_as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
val() { sql -Atc "$1"; }
sql -c "CREATE EXTENSION rowkeeper"

load() { sql -v rows="$ROWS" -v spread="$SPREAD" -f "$BENCH/setup.sql"; }

# workload NAME SECONDS: pgbench in the background, per-transaction log
workload() {
    rm -rf "$RK_WORK/log-$1"; rk_as_pg mkdir -p "$RK_WORK/log-$1"
    rk_as_pg "$PG_BINDIR/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$2" \
        -D live=$((ROWS / 2)) -f "$RK_WORK/update.pgbench" \
        -l --log-prefix="$RK_WORK/log-$1/pgbench_log" postgres > "$RK_WORK/pgbench-$1.txt" 2>&1 &
    WORKLOAD_PID=$!
    sleep 2     # let it reach a steady state before the window opens
}

# stop_workload NAME: end the pgbench of NAME (after the window closed)
stop_workload() {
    sleep 1
    pkill -INT -f -- "--log-prefix=$RK_WORK/log-$1/" 2>/dev/null || true
    wait "$WORKLOAD_PID" 2>/dev/null || true
}

# window NAME FROM TO: "tps p99_ms" of the transactions that ended in [FROM, TO] (epoch s)
window() {
    local lats n tps p99
    lats=$(cat "$RK_WORK/log-$1"/pgbench_log.* | awk -v a="$2" -v b="$3" \
           '{ t = $5 + $6 / 1e6; if (t >= a && t <= b) print $3 }' | sort -n)
    n=$(printf '%s\n' "$lats" | grep -c . || true)
    if [ "$n" = 0 ]; then echo "0 0"; return; fi
    tps=$(awk -v n="$n" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }')
    p99=$(printf '%s\n' "$lats" | sed -n "$(( (n * 99 + 99) / 100 ))p" | awk '{ printf "%.2f", $1 / 1000 }')
    echo "$tps $p99"
}

now_s() { date +%s.%N; }

# baseline ROUND: "tps p99" of the workload alone
baseline() {
    load
    workload "base$1" $((BASE_SECONDS + 4))
    local t0 t1
    t0=$(now_s); sleep "$BASE_SECONDS"; t1=$(now_s)
    wait "$WORKLOAD_PID"
    window "base$1" "$t0" "$t1"
}

# run_purge NAME SQL: "rows seconds tps p99 wal_per_row cpu_share"
run_purge() {
    load
    local w0 t0 t1 w1 n c0 c1
    n=$(val "SELECT count(*) FROM items WHERE deleted_at < now() - interval '30 days'")
    workload "$1" 3600
    w0=$(val "SELECT pg_current_wal_insert_lsn()")
    # one session: clock and the backend's CPU time (utime + stime of
    # /proc/self/stat, in ticks) before and after the purge
    local clk="SELECT extract(epoch FROM clock_timestamp()), split_part(pg_read_file('/proc/self/stat'), ' ', 14)::int + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::int"
    sql -At -F ' ' -c "$clk" -c "$2" -c "$clk" > "$RK_WORK/$1.out"
    read -r t0 c0 < <(head -n 1 "$RK_WORK/$1.out")
    read -r t1 c1 < <(tail -n 1 "$RK_WORK/$1.out")
    w1=$(val "SELECT pg_current_wal_insert_lsn()")
    stop_workload "$1"
    local left
    left=$(val "SELECT count(*) FROM items WHERE deleted_at < now() - interval '30 days'")
    [ "$left" = 0 ] || { echo "FAIL: $1 left $left rows" >&2; exit 1; }
    read -r tps p99 < <(window "$1" "$t0" "$t1")
    printf '%s %s %s %s %s %s\n' "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$tps" "$p99" \
        "$(val "SELECT round(pg_wal_lsn_diff('$w1', '$w0') / $n)")" \
        "$(awk -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c / hz / (b - a) }')"
}

IFS='|' read -r -a CONFIGS <<< "$PURGES|"
[ "${#CONFIGS[@]}" -gt 0 ] || CONFIGS=("")
: > "$RK_WORK/results"
for r in $(seq 1 "$ROUNDS"); do
    rk_say "round $r/$ROUNDS: the workload alone (${BASE_SECONDS}s)"
    read -r B_TPS B_P99 < <(baseline "$r")
    rk_say "round $r/$ROUNDS: one plain DELETE, with the workload running"
    D=$(run_purge "delete$r" "DELETE FROM items WHERE deleted_at < now() - interval '30 days'")
    [ -n "$D" ] || exit 1
    read -r D_ROWS D_SECS D_TPS D_P99 D_WAL D_CPU <<< "$D"
    echo "alone|$r|0 0 $B_TPS $B_P99 0 0|$B_TPS $B_P99 $D_ROWS $D_SECS" >> "$RK_WORK/results"
    echo "plain DELETE|$r|$D_ROWS $D_SECS $D_TPS $D_P99 $D_WAL $D_CPU|$B_TPS $B_P99 $D_ROWS $D_SECS" >> "$RK_WORK/results"
    i=0
    for c in "${CONFIGS[@]}"; do
        i=$((i + 1))
        rk_say "round $r/$ROUNDS: rowkeeper.purge_expired(${c:-defaults}), with the workload running"
        P=$(run_purge "purge$r-$i" "CALL rowkeeper.purge_expired('items', 'deleted_at', '30 days'${c:+, $c})")
        [ -n "$P" ] || exit 1
        echo "purge_expired(${c:-})|$r|$P|$B_TPS $B_P99 $D_ROWS $D_SECS" >> "$RK_WORK/results"
    done
done

rk_say "results ($ROWS rows, $((ROWS / 2)) purged, SPREAD=$SPREAD; workload: $CLIENTS clients of single-row UPDATEs; medians of $ROUNDS rounds)"
echo
echo "| | rows/s | vs DELETE | workload tps | vs alone | workload p99 | vs alone | WAL per row | purge CPU share |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
# per round: ratios against that round's baseline and DELETE; medians per line
awk -F'|' '
    function median(list,   a, n, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        name = $1; split($3, p, " "); split($4, b, " ")
        if (!(name in seen)) { seen[name] = 1; order[++k] = name }
        rate = p[2] > 0 ? p[1] / p[2] : 0; drate = b[3] / b[4]
        R[name] = R[name] " " rate; RR[name] = RR[name] " " rate / drate
        T[name] = T[name] " " p[3]; TR[name] = TR[name] " " p[3] / b[1]
        L[name] = L[name] " " p[4]; LR[name] = LR[name] " " p[4] / b[2]
        W[name] = W[name] " " p[5]; C[name] = C[name] " " p[6]
    }
    END {
        for (i = 1; i <= k; i++) {
            n = order[i]
            if (n == "alone")
                printf "| workload alone | - | - | %.0f | 1.00 | %.2f ms | 1.00 | - | - |\n", median(T[n]), median(L[n])
            else
                printf "| %s | %.0f | %.2f | %.0f | %.2f | %.2f ms | %.2f | %.0f B | %.2f |\n", n, median(R[n]), median(RR[n]),
                    median(T[n]), median(TR[n]), median(L[n]), median(LR[n]), median(W[n]), median(C[n])
        }
    }' "$RK_WORK/results"
echo
echo "rounds (name|round|rows seconds tps p99 wal cpu|baseline tps, p99, DELETE rows, seconds):"
cat "$RK_WORK/results"
rk_say "bench finished; cluster stopped and removed"
