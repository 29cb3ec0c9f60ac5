#!/usr/bin/env bash
# test/bench/audit.sh: what the rowkeeper audit trigger costs, next to the
# usual hand-written PL/pgSQL jsonb audit trigger and to no trigger at all.
#
# What is measured
#   Throughput (pgbench TPS) of single-row INSERT, UPDATE and DELETE
#   transactions, and of a bulk UPDATE of BULK_ROWS rows in one statement,
#   on one table per (operation, variant):
#     none       no trigger (the baseline)
#     plpgsql    AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW PL/pgSQL
#                trigger inserting to_jsonb(OLD)/to_jsonb(NEW) into a plain
#                log table audit_plpgsql (the reference)
#     rowkeeper  SELECT rowkeeper.enable_audit('<table>')  (row mode)
#     statement  SELECT rowkeeper.enable_audit('<table>', mode => 'statement')
#   and, after the runs, the size of one audited UPDATE: bytes per log row
#   (pg_column_size of the row) and on-disk growth of the log (heap, TOAST
#   and indexes) per UPDATE entry, plus WAL per UPDATE transaction.
#
# How
#   PostgreSQL 15, one throwaway cluster (test/lib.sh): synchronous_commit=off,
#   shared_buffers=256MB, fsync=off (lib.sh's default), autovacuum off and
#   no timed or size-triggered checkpoint, so that neither lands in the
#   middle of a run: every run starts after VACUUM ANALYZE of its table and a
#   CHECKPOINT instead.  Tables (id int primary key, val int, doc jsonb of
#   about 200 bytes, updated text) hold ROWS rows (DEL_ROWS for the DELETE
#   tables, so every DELETE finds its row).  pgbench -n -c 2 -j 2 -T DURATION,
#   scripts in test/bench/audit/:
#     insert   INSERT of a new id from a sequence
#     update   UPDATE t SET val = val + 1 WHERE id = <random id>
#     delete   DELETE of an existing id (a sequence mapped onto a
#              permutation of the ids: exactly one row per transaction)
#     bulk     UPDATE t SET val = val + 1 WHERE id BETWEEN lo AND lo+BULK_ROWS-1,
#              the two clients on disjoint ranges (no lock waits)
#   rowkeeper is built from this checkout and installed, and its C functions
#   are then pinned to a private copy of the build (see install_extension).
#   ROUNDS rounds; each round runs every (operation, variant) once, the
#   variant order rotated from round to round, and VACUUM ANALYZEs the whole
#   database first.  The table reports the median TPS per (operation,
#   variant) and its ratio to none of the same operation.  All sessions set
#   rowkeeper.actor (both audit variants record it).
#
# Usage (root; installs what is missing, builds and installs rowkeeper from
# this checkout):
#   test/bench/audit.sh
#   ROUNDS=5 DURATION=15 test/bench/audit.sh
# The machine's other load shows in the figures: compare ratios, not TPS
# across machines, and look at the spread of the runs.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-3}                     # rounds of every (operation, variant)
DURATION=${DURATION:-8}                 # seconds per pgbench run
ROWS=${ROWS:-100000}                    # rows of each table
DEL_ROWS=${DEL_ROWS:-1000000}           # rows of each DELETE table
BULK_ROWS=${BULK_ROWS:-10000}           # rows per bulk UPDATE statement
MEASURE_UPDATES=${MEASURE_UPDATES:-20000}   # UPDATEs for the size figures

OPS=(insert update delete bulk)
VARIANTS=(none plpgsql rowkeeper statement)
BENCH=$ROOT/test/bench/audit

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
(( DEL_ROWS % 7919 != 0 )) || { echo "DEL_ROWS must not be a multiple of 7919"; exit 2; }
(( BULK_ROWS <= ROWS / 2 )) || { echo "BULK_ROWS must be at most ROWS/2"; exit 2; }

# --- helpers ----------------------------------------------------------------

sql() {     # sql [psql args...]: psql on the bench database, as postgres
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}
sql_value() { sql -At -c "$1"; }

table_of() {    # table_of OP VARIANT
    local prefix
    case $1 in insert) prefix=ins ;; update) prefix=upd ;; delete) prefix=del ;; bulk) prefix=bulk ;; esac
    echo "${prefix}_$2"
}

# run_pgbench OUTFILE OP TABLE pgbench-args...: one pgbench run of OP's script
run_pgbench() {
    local out=$1 op=$2 tbl=$3; shift 3
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        PGOPTIONS="-c rowkeeper.actor=bench" \
        "$PG_BINDIR/pgbench" -n -M simple -f "$RK_WORK/scripts/$op.pgbench" \
        -D tbl="$tbl" -D seq="${tbl}_seq" -D rows="$ROWS" \
        -D del_rows="$DEL_ROWS" -D bulk_rows="$BULK_ROWS" \
        "$@" postgres >"$out" 2>&1 \
        || { cat "$out"; return 1; }
}

# check_installed_scripts WHEN: are the extension's installed control and
# SQL scripts still this checkout's?  The install is machine-wide and
# another checkout may install its own build while the bench runs.
check_installed_scripts() {
    local dir f
    dir=$("$PG_CONFIG" --sharedir)/extension
    for f in "$ROOT/rowkeeper.control" "$ROOT"/src/sql/released/rowkeeper--*.sql "$ROOT"/rowkeeper--*.sql; do
        cmp -s "$f" "$dir/$(basename "$f")" && continue
        echo "$dir/$(basename "$f") is not this checkout's ($1):"
        echo "another checkout installed rowkeeper meanwhile; run the bench again."
        exit 1
    done
}

# --- steps ------------------------------------------------------------------

start_cluster() {
    rk_workdir bench-audit
    trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
    rk_start_cluster bench synchronous_commit=off shared_buffers=256MB \
        autovacuum=off max_wal_size=32GB checkpoint_timeout=1d
    rk_as_pg mkdir -p "$RK_WORK/scripts" "$RK_WORK/runs"
    cp "$BENCH"/*.pgbench "$RK_WORK/scripts/"
    chown -R postgres: "$RK_WORK/scripts"
}

# install_extension: CREATE EXTENSION from this checkout's scripts, then pin
# its C functions to a private copy of this checkout's rowkeeper.so, so that
# an install from another checkout during the runs cannot swap the module
# under the backends (pg_proc.probin '$libdir/rowkeeper' -> the copy).
install_extension() {
    local pinned
    check_installed_scripts "before CREATE EXTENSION"
    sql -c "CREATE EXTENSION rowkeeper"
    check_installed_scripts "after CREATE EXTENSION"
    rk_as_pg mkdir -p "$RK_WORK/lib"
    install -o postgres -g postgres -m 755 "$ROOT/rowkeeper.so" "$RK_WORK/lib/rowkeeper.so"
    pinned=$(sql_value "WITH p AS (UPDATE pg_catalog.pg_proc SET probin = '$RK_WORK/lib/rowkeeper'
                                    WHERE probin = '\$libdir/rowkeeper' RETURNING 1)
                        SELECT count(*) FROM p")
    echo "  $pinned C functions use $RK_WORK/lib/rowkeeper.so (this checkout's build)"
}

setup_schema() {
    rk_say "loading $(( ${#VARIANTS[@]} * (3 * ROWS + DEL_ROWS) )) rows into $(( ${#OPS[@]} * ${#VARIANTS[@]} )) tables"
    sql -v rows="$ROWS" -v del_rows="$DEL_ROWS" -f - < "$BENCH/setup.sql"
    sql_value "SELECT 'doc jsonb: ' || round(avg(pg_column_size(doc))) || ' bytes, row: '
                      || round(avg(pg_column_size(t.*))) || ' bytes'
                 FROM upd_none t" | sed 's/^/  /'
}

# run_one ROUND OP VARIANT: one timed run, appended to $RESULTS
run_one() {
    local round=$1 op=$2 v=$3 tbl out tps n
    tbl=$(table_of "$op" "$v")
    out=$RK_WORK/runs/r$round-$op-$v.txt
    sql -c "VACUUM ANALYZE $tbl" -c "CHECKPOINT"
    run_pgbench "$out" "$op" "$tbl" -c 2 -j 2 -T "$DURATION"
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    [ -n "$tps" ] && [ -n "$n" ] || { echo "cannot read pgbench output:"; cat "$out"; return 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$op" "$v" "$tps" "$n" >> "$RESULTS"
    printf '  round %s  %-6s  %-9s  %10.1f tps  (%s transactions)\n' "$round" "$op" "$v" "$tps" "$n"
}

run_rounds() {
    local r op i k
    RESULTS=$RK_WORK/results.tsv
    : > "$RESULTS"
    for (( r = 1; r <= ROUNDS; r++ )); do
        rk_say "round $r of $ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        sql -c "VACUUM ANALYZE"
        for op in "${OPS[@]}"; do
            for (( k = 0; k < ${#VARIANTS[@]}; k++ )); do
                i=$(( (k + r - 1) % ${#VARIANTS[@]} ))
                run_one "$r" "$op" "${VARIANTS[$i]}"
            done
        done
    done
}

# median OP VARIANT: median TPS of the runs; also prints the runs
median() {
    awk -F'\t' -v op="$1" -v v="$2" '$2 == op && $3 == v { print $4 }' "$RESULTS" \
        | sort -g | awk '{ x[NR] = $1 } END {
              m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
              runs = ""; for (i = 1; i <= NR; i++) runs = runs (i > 1 ? ", " : "") sprintf("%.0f", x[i])
              printf "%.1f\t%s\n", m, runs }'
}

report_tps() {
    local op v base m runs label
    rk_say "results: median of $ROUNDS runs of ${DURATION}s, pgbench -c 2 -j 2"
    echo
    echo "| op | variant | median tps | vs none | runs (tps, sorted) |"
    echo "|---|---|---:|---:|---|"
    for op in "${OPS[@]}"; do
        label=$op
        [ "$op" = bulk ] && label="bulk ($BULK_ROWS rows/stmt)"
        base=$(median "$op" none | cut -f1)
        for v in "${VARIANTS[@]}"; do
            IFS=$'\t' read -r m runs < <(median "$op" "$v")
            printf '| %s | %s | %.1f | %.2f | %s |\n' "$label" "$v" "$m" \
                "$(awk -v a="$m" -v b="$base" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$runs"
        done
    done
}

# check_log_counts: every committed transaction left its log entries, and
# the DELETE tables were large enough.
check_log_counts() {
    local op v tbl want got logop per
    rk_say "log entries against committed transactions"
    for op in "${OPS[@]}"; do
        case $op in insert) logop=INSERT; per=1 ;; delete) logop=DELETE; per=1 ;;
                    update) logop=UPDATE; per=1 ;; bulk) logop=UPDATE; per=$BULK_ROWS ;; esac
        for v in plpgsql rowkeeper statement; do
            tbl=$(table_of "$op" "$v")
            want=$(awk -F'\t' -v op="$op" -v v="$v" -v per="$per" \
                   '$2 == op && $3 == v { s += $5 * per } END { print s + 0 }' "$RESULTS")
            if [ "$v" = plpgsql ]; then
                got=$(sql_value "SELECT count(*) FROM audit_plpgsql WHERE tbl = 'public.$tbl' AND op = '$logop'")
            else
                got=$(sql_value "SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = '$tbl' AND op = '$logop'")
            fi
            printf '  %-15s %-7s pgbench: %8s  log: %8s  %s\n' "$tbl" "$logop" "$want" "$got" \
                "$([ "$want" = "$got" ] && echo ok || echo 'MISMATCH')"
        done
    done
    for v in "${VARIANTS[@]}"; do
        tbl=$(table_of delete "$v")
        got=$(sql_value "SELECT last_value FROM ${tbl}_seq")
        (( got < DEL_ROWS )) || echo "  WARNING: $tbl drew $got ids, more than its $DEL_ROWS rows: raise DEL_ROWS"
    done
}

# log_stats VARIANT: "bytes entries" of the variant's log (all partitions,
# heap + TOAST + indexes; rowkeeper.audit_log is partitioned)
log_stats() {
    case $1 in
        none)      echo "0 0" ;;
        plpgsql)   sql_value "SELECT pg_total_relation_size('audit_plpgsql') || ' ' || count(*) FROM audit_plpgsql" ;;
        rowkeeper|statement) sql_value "SELECT (SELECT sum(pg_total_relation_size(relid))
                                        FROM pg_partition_tree('rowkeeper.audit_log') WHERE isleaf)
                                     || ' ' || count(*) FROM rowkeeper.audit_log" ;;
    esac
}

# entry_size VARIANT TABLE: average sizes of the log rows of TABLE's UPDATEs
entry_size() {
    case $1 in
        none)      echo "-|-" ;;   # no log
        plpgsql)   sql_value "SELECT round(avg(pg_column_size(l.*))) || ' B|'
                                     || round(avg(coalesce(pg_column_size(old), 0) + coalesce(pg_column_size(new), 0))) || ' B'
                                FROM audit_plpgsql l WHERE tbl = 'public.$2' AND op = 'UPDATE'" ;;
        rowkeeper|statement) sql_value "SELECT round(avg(pg_column_size(l.*))) || ' B|'
                                     || round(avg(coalesce(pg_column_size(old_row), 0) + coalesce(pg_column_size(new_row), 0)
                                                  + coalesce(pg_column_size(row_key), 0))) || ' B'
                                FROM rowkeeper.audit_log l WHERE table_name = '$2' AND op = 'UPDATE'" ;;
    esac
}

# report_update_size: MEASURE_UPDATES single-row UPDATEs on one client per
# variant (after as many unmeasured ones, so that few pages still need a
# full-page image in the WAL); log growth and WAL per UPDATE.
report_update_size() {
    local v tbl b0 e0 b1 e1 w0 w1 sizes
    rk_say "size of one audited UPDATE ($MEASURE_UPDATES UPDATEs per variant, 1 client)"
    echo
    echo "| variant | log row (pg_column_size) | of which jsonb (old + new images, + key for rowkeeper) | log growth on disk per entry (heap+toast+indexes) | WAL per UPDATE transaction |"
    echo "|---|---:|---:|---:|---:|"
    sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    for v in "${VARIANTS[@]}"; do
        tbl=$(table_of update "$v")
        # each variant starts after its own checkpoint: the full-page images
        # that follow one are not charged to whichever variant runs first
        sql -c "CHECKPOINT"
        run_pgbench "$RK_WORK/runs/size-warmup-$v.txt" update "$tbl" -c 1 -j 1 -t "$MEASURE_UPDATES"
        read -r b0 e0 < <(log_stats "$v")
        w0=$(sql_value "SELECT pg_current_wal_insert_lsn()")
        run_pgbench "$RK_WORK/runs/size-$v.txt" update "$tbl" -c 1 -j 1 -t "$MEASURE_UPDATES"
        w1=$(sql_value "SELECT pg_current_wal_insert_lsn()")
        read -r b1 e1 < <(log_stats "$v")
        sizes=$(entry_size "$v" "$tbl")
        printf '| %s | %s | %s | %s | %s B |\n' "$v" "${sizes%%|*}" "${sizes##*|}" \
            "$(awk -v b="$((b1 - b0))" -v e="$((e1 - e0))" 'BEGIN { print (e > 0 ? sprintf("%.0f B (%d entries)", b / e, e) : "-") }')" \
            "$(sql_value "SELECT round(pg_wal_lsn_diff('$w1', '$w0') / $MEASURE_UPDATES)")"
    done
}

# --- main -------------------------------------------------------------------

rk_install_deps
rk_build
start_cluster
install_extension
setup_schema
run_rounds
report_tps
check_log_counts
report_update_size
rk_say "bench finished; cluster stopped and removed"
