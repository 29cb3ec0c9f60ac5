#!/usr/bin/env bash
# test/bench/audit_callgrind.sh: instructions per audited statement, counted
# by valgrind --tool=callgrind, so the figures do not depend on the machine's
# load (test/bench/audit.sh measures throughput with pgbench, which does).
#
# What is measured
#   The same tables, triggers and statements as test/bench/audit.sh (its
#   setup.sql: none / plpgsql / rowkeeper / statement variants), and the
#   same operations: single-row INSERT, UPDATE and DELETE statements, and a
#   BULK_ROWS-row UPDATE in one statement.  For each (operation, variant) a
#   single-user backend (postgres --single: one transaction per statement,
#   simple protocol, parse and plan included) runs WARM statements, then N
#   more, under callgrind, on a fresh copy of the database; a second copy
#   runs only the WARM ones.  (all - warm) / N is the cost of one statement.
#   The log is filled with PREFILL entries first, so that the measured rows
#   land in a steady state (past the BRIN range summarized when a partition
#   is created, on btrees of some depth).
#
# Output: a markdown table, instructions per statement and the ratio
# none / variant (1.00 = free; the throughput ratio pgbench would show on
# an unloaded machine where CPU is the limit, before client overhead).
#
# Usage (root): test/bench/audit_callgrind.sh
#   N=500 BULK_N=3 test/bench/audit_callgrind.sh
#   FILLED=1 test/bench/audit_callgrind.sh   (request metadata set: client
#   address, a browser's user agent, a 3-key metadata object)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROWS=${ROWS:-20000}             # rows of the insert/update/bulk tables
DEL_ROWS=${DEL_ROWS:-20011}     # rows of the delete tables (not a multiple of 7919)
BULK_ROWS=${BULK_ROWS:-10000}   # rows per bulk UPDATE
PREFILL=${PREFILL:-100000}      # log entries written before measuring
N=${N:-1000}                    # measured statements (single-row operations)
WARM=${WARM:-100}
BULK_N=${BULK_N:-4}             # measured bulk statements
BULK_WARM=${BULK_WARM:-1}
OPS=(${OPS:-insert update delete bulk})
VARIANTS=(${VARIANTS:-none plpgsql rowkeeper statement})
BENCH=$ROOT/test/bench/audit

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
(( BULK_ROWS <= ROWS / 2 )) || { echo "BULK_ROWS must be at most ROWS/2"; exit 2; }

sql() {
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

prefix_of() {   # prefix_of OP: the table name prefix in setup.sql
    case $1 in insert) echo ins ;; update) echo upd ;; delete) echo del ;; bulk) echo bulk ;; esac
}

# statements OP TABLE FIRST COUNT: COUNT statements of OP, the k-th one
# from FIRST on (deterministic, so warm and all runs see the same ones)
statements() {
    local op=$1 tbl=$2 first=$3 count=$4
    awk -v op="$op" -v tbl="$tbl" -v first="$first" -v count="$count" \
        -v rows="$ROWS" -v del_rows="$DEL_ROWS" -v bulk="$BULK_ROWS" 'BEGIN {
        for (k = first; k < first + count; k++) {
            if (op == "insert")
                printf "INSERT INTO %s (id, val, doc, updated) VALUES (%d, %d, bench_doc(%d), '\''bench'\'');\n",
                       tbl, 1000000 + k, k % 1000, k
            else if (op == "update")
                printf "UPDATE %s SET val = val + 1 WHERE id = %d;\n", tbl, 1 + (k * 7919) % rows
            else if (op == "delete")
                printf "DELETE FROM %s WHERE id = %d;\n", tbl, 1 + (k * 7919) % del_rows
            else {
                lo = 1 + (k % 2) * (rows / 2)
                printf "UPDATE %s SET val = val + 1 WHERE id BETWEEN %d AND %d;\n", tbl, lo, lo + bulk - 1
            }
        } }'
}

rk_install_deps valgrind
rk_build
rk_workdir bench-audit-cg
trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
rk_start_cluster bench shared_buffers=256MB autovacuum=off
sql -d postgres -c "CREATE EXTENSION rowkeeper"
rk_say "loading the tables of test/bench/audit/setup.sql ($ROWS rows, $DEL_ROWS for DELETE)"
sql -d postgres -v rows="$ROWS" -v del_rows="$DEL_ROWS" -f - < "$BENCH/setup.sql"
rk_say "prefilling both logs with $PREFILL entries"
sql -d postgres <<SQL
SET rowkeeper.actor = 'prefill';
CREATE TABLE prefill_rk (id int PRIMARY KEY, val int, doc jsonb, updated text);
CREATE TABLE prefill_pl (LIKE prefill_rk INCLUDING ALL);
SELECT rowkeeper.enable_audit('prefill_rk');
CREATE TRIGGER audit_plpgsql AFTER INSERT OR UPDATE OR DELETE ON prefill_pl
    FOR EACH ROW EXECUTE FUNCTION audit_plpgsql_trigger();
INSERT INTO prefill_rk SELECT g, g, bench_doc(g), 'p' FROM generate_series(1, $PREFILL) g;
INSERT INTO prefill_pl SELECT g, g, bench_doc(g), 'p' FROM generate_series(1, $PREFILL) g;
SELECT rowkeeper.disable_audit('prefill_rk');
DROP TABLE prefill_rk, prefill_pl;
ALTER SYSTEM SET rowkeeper.actor = 'bench';
$(if [ -n "${FILLED:-}" ]; then cat <<'FILL'
ALTER SYSTEM SET rowkeeper.client_addr = '203.0.113.7';
ALTER SYSTEM SET rowkeeper.user_agent = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
ALTER SYSTEM SET rowkeeper.metadata = '{"session": "s-5f2a9c", "mfa": true, "locale": "en-GB"}';
FILL
fi)
VACUUM ANALYZE;
CHECKPOINT;
SQL
sql -d template1 -c "CREATE DATABASE cg_template TEMPLATE postgres"

dir=$RK_WORK/cg
rk_as_pg mkdir -p "$dir"
for op in "${OPS[@]}"; do
    n=$N; w=$WARM
    [ "$op" = bulk ] && { n=$BULK_N; w=$BULK_WARM; }
    for v in "${VARIANTS[@]}"; do
        tbl=$(prefix_of "$op")_$v
        statements "$op" "$tbl" 1 "$w" > "$dir/$op-$v-warm.sql"
        { statements "$op" "$tbl" 1 "$w"; statements "$op" "$tbl" $((w + 1)) "$n"; } > "$dir/$op-$v-all.sql"
    done
done
chown -R postgres: "$dir"
rk_stop_clusters

rk_say "callgrind runs (a single-user backend per operation, variant and run)"
results=$dir/per-statement.txt
: > "$results"
for op in "${OPS[@]}"; do
    n=$N
    [ "$op" = bulk ] && n=$BULK_N
    for v in "${VARIANTS[@]}"; do
        counts=()
        for m in warm all; do
            # a fresh copy of the template for every run
            rk_as_pg "$PG_BINDIR/postgres" --single -D "$RK_WORK/bench" template1 \
                <<< "CREATE DATABASE cg_run TEMPLATE cg_template;" >/dev/null 2>&1
            rk_as_pg env TMPDIR="$dir" valgrind --tool=callgrind \
                --callgrind-out-file="$dir/$op-$v-$m.out" \
                "$PG_BINDIR/postgres" --single -D "$RK_WORK/bench" -c fsync=off \
                -c synchronous_commit=off -c shared_buffers=256MB cg_run \
                < "$dir/$op-$v-$m.sql" > "$dir/$op-$v-$m.log" 2> "$dir/$op-$v-$m.err" || true
            grep -q 'Collected :' "$dir/$op-$v-$m.err" \
                || { echo "$op $v $m: valgrind failed:"; tail "$dir/$op-$v-$m.err"; exit 1; }
            if grep -q ERROR "$dir/$op-$v-$m.log" "$dir/$op-$v-$m.err"; then
                echo "$op $v $m failed:"; grep ERROR "$dir/$op-$v-$m.log" "$dir/$op-$v-$m.err" | head; exit 1
            fi
            counts+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/$op-$v-$m.err")")
            rk_as_pg "$PG_BINDIR/postgres" --single -D "$RK_WORK/bench" template1 \
                <<< "DROP DATABASE cg_run;" >/dev/null 2>&1
        done
        echo "$op $v $(( (counts[1] - counts[0]) / n ))" | tee -a "$results"
    done
done

rk_say "results: instructions per statement (callgrind), ratio to none"
echo
echo "| operation | variant | instructions per statement | vs none |"
echo "|---|---|---:|---:|"
awk -v bulk="$BULK_ROWS" '{ n[$1 " " $2] = $3; ops[$1] = 1; order[NR] = $1 " " $2 }
    END { for (i = 1; i <= NR; i++) { split(order[i], f, " ")
              label = (f[1] == "bulk") ? "bulk UPDATE (" bulk " rows)" : f[1]
              printf "| %s | %s | %d | %.2f |\n", label, f[2], n[order[i]], n[f[1] " none"] / n[order[i]] } }' "$results"
if [ -n "${CG_KEEP:-}" ]; then      # keep the profiles for callgrind_annotate
    mkdir -p "$CG_KEEP" && cp "$dir"/*.out "$results" "$CG_KEEP"/
    echo "callgrind files kept in $CG_KEEP"
fi
rk_say "bench finished; cluster stopped and removed"
