#!/usr/bin/env bash
# test/bench/purge.sh: purging soft-deleted rows next to a live workload.
#
# What is measured, in one run on one throwaway cluster (test/lib.sh;
# synchronous_commit=off, shared_buffers=256MB, autovacuum off):
#   table items: ROWS rows, the upper half soft-deleted 40 days ago, an index
#   on deleted_at; the workload: pgbench, CLIENTS clients, single-row
#   UPDATEs of random live rows (test/bench/purge/update.pgbench), every
#   transaction logged (pgbench -l) so that throughput and p99 latency are
#   computed over exactly the window of each purge.
#     baseline  the workload alone, for BASE_SECONDS
#     delete    one plain DELETE FROM items WHERE deleted_at < now() - '30 days'
#     purge     CALL rowkeeper.purge_expired('items', 'deleted_at', '30 days',
#               batch_size => BATCH)
#   The table is rebuilt before each.  Reported: purge rows/s (and its ratio
#   to the plain DELETE), workload tps and p99 latency during each (and
#   their ratios to the baseline), WAL bytes per purged row.
#
# Usage (root): test/bench/purge.sh    ROWS=200000 test/bench/purge.sh
# The machine's other load shows in the figures: compare ratios.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROWS=${ROWS:-2000000}
CLIENTS=${CLIENTS:-2}
BATCH=${BATCH:-5000}
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

load() { sql -v rows="$ROWS" -f "$BENCH/setup.sql"; }

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

rk_say "baseline: the workload alone (${BASE_SECONDS}s)"
load
workload base $((BASE_SECONDS + 4))
T0=$(now_s); sleep "$BASE_SECONDS"; T1=$(now_s)
wait "$WORKLOAD_PID"
read -r BASE_TPS BASE_P99 < <(window base "$T0" "$T1")

run_purge() {   # run_purge NAME SQL
    load
    local w0 t0 t1 w1 n
    n=$(val "SELECT count(*) FROM items WHERE deleted_at < now() - interval '30 days'")
    workload "$1" 3600
    w0=$(val "SELECT pg_current_wal_insert_lsn()")
    t0=$(now_s)
    sql -c "$2" > /dev/null
    t1=$(now_s)
    w1=$(val "SELECT pg_current_wal_insert_lsn()")
    stop_workload "$1"
    local left
    left=$(val "SELECT count(*) FROM items WHERE deleted_at < now() - interval '30 days'")
    [ "$left" = 0 ] || { echo "FAIL: $1 left $left rows"; exit 1; }
    read -r tps p99 < <(window "$1" "$t0" "$t1")
    printf '%s %s %s %s %s\n' "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$tps" "$p99" \
        "$(val "SELECT round(pg_wal_lsn_diff('$w1', '$w0') / $n)")"
}

rk_say "one plain DELETE, with the workload running"
run_purge delete "DELETE FROM items WHERE deleted_at < now() - interval '30 days'" > "$RK_WORK/delete.out"
read -r D_ROWS D_SECS D_TPS D_P99 D_WAL < "$RK_WORK/delete.out"
rk_say "rowkeeper.purge_expired (batch_size $BATCH), with the workload running"
run_purge purge "CALL rowkeeper.purge_expired('items', 'deleted_at', '30 days', batch_size => $BATCH)" > "$RK_WORK/purge.out"
read -r P_ROWS P_SECS P_TPS P_P99 P_WAL < "$RK_WORK/purge.out"

rk_say "results ($ROWS rows, $((ROWS / 2)) purged; workload: $CLIENTS clients of single-row UPDATEs)"
echo
echo "| | rows/s | vs DELETE | workload tps | vs alone | workload p99 | vs alone | WAL per row |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '| workload alone | - | - | %s | 1.00 | %s ms | 1.00 | - |\n' "$BASE_TPS" "$BASE_P99"
awk -v n="$D_ROWS" -v s="$D_SECS" -v t="$D_TPS" -v p="$D_P99" -v w="$D_WAL" -v bt="$BASE_TPS" -v bp="$BASE_P99" \
    'BEGIN { printf "| plain DELETE | %.0f | 1.00 | %s | %.2f | %s ms | %.2f | %s B |\n", n / s, t, t / bt, p, p / bp, w }'
awk -v n="$P_ROWS" -v s="$P_SECS" -v t="$P_TPS" -v p="$P_P99" -v w="$P_WAL" -v bt="$BASE_TPS" -v bp="$BASE_P99" \
    -v dn="$D_ROWS" -v ds="$D_SECS" \
    'BEGIN { printf "| purge_expired | %.0f | %.2f | %s | %.2f | %s ms | %.2f | %s B |\n", n / s, (n / s) / (dn / ds), t, t / bt, p, p / bp, w }'
rk_say "bench finished; cluster stopped and removed"
