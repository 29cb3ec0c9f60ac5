#!/usr/bin/env bash
# test/bench/audit_queries.sh: the audit query functions and the hash chain
# on a log of more than a million entries.
#
# What it shows
#   - the plans of the lookups behind row_history / row_as_of / undo (one
#     row's entries: index scan on (row_ref, id) per partition), changes()
#     (BRIN on (logged_at, id, txid)) and transaction_changes() (the same),
#     read with EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON): a
#     "Seq Scan" on a log partition that holds entries is a failure;
#   - how long each function takes (median of RUNS calls);
#   - the cost of sealing: seal_audit_log() over all entries, in entries
#     per second, and of verify_audit_chain() over them.  Writers pay
#     nothing for the chain (they never touch it).
#
# How: one throwaway cluster (test/lib.sh), a table of ROWS rows inserted in
# one statement under statement-mode audit (ROWS INSERT entries), then
# UPDATES random single-row updates in batches.  Usage (root):
#   test/bench/audit_queries.sh
#   ROWS=2000000 test/bench/audit_queries.sh
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROWS=${ROWS:-1000000}
UPDATES=${UPDATES:-200000}
RUNS=${RUNS:-5}

rk_install_deps
rk_build
rk_workdir bench-audit-queries
trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
rk_start_cluster c "shared_buffers=256MB" "synchronous_commit=off" "max_wal_size=4GB"
sql() { rk_as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
val() { sql -Atc "$1"; }

rk_say "loading $ROWS rows (audited) and $UPDATES updates"
sql <<SQL
CREATE EXTENSION rowkeeper;
CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric NOT NULL, note text);
SELECT rowkeeper.enable_audit('orders', mode => 'statement');
INSERT INTO orders SELECT g, 'new', g % 1000, 'order ' || g FROM generate_series(1, $ROWS) g;
SELECT rowkeeper.enable_audit('orders');
DO \$\$
BEGIN
    FOR i IN 1 .. $UPDATES / 1000 LOOP
        UPDATE orders SET status = 'paid', total = total + 1
         WHERE id IN (SELECT 1 + (random() * ($ROWS - 1))::int FROM generate_series(1, 1000));
        COMMIT;
    END LOOP;
END
\$\$;
UPDATE orders SET status = 'shipped' WHERE id = 4242;
UPDATE orders SET id = 4243000 WHERE id = 4242;
VACUUM ANALYZE;
SQL
echo "  log entries: $(val "SELECT count(*) FROM rowkeeper.audit_log")"

TX=$(val "SELECT txid FROM rowkeeper.audit_log WHERE row_key = '{\"id\": 4243000}'")
SINCE=$(val "SELECT max(logged_at) - interval '1 second' FROM rowkeeper.audit_log")

plan() {    # plan LABEL QUERY
    local out
    out=$(val "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $2")
    printf '\n-- %s\n%s\n' "$1" "$(echo "$out" | grep -E 'Scan|Execution Time' | sed 's/^/   /' | sort | uniq -c | sed 's/^ *//')"
    # a sequential scan is a failure on a partition that holds entries
    # (on an empty one it is the cheapest plan, and costs nothing)
    local part
    for part in $(echo "$out" | sed -n 's/.*Seq Scan on \(audit_log_[a-z0-9_]*\).*/\1/p'); do
        if [ "$(val "SELECT relpages > 0 FROM pg_class WHERE oid = 'rowkeeper.$part'::regclass")" = t ]; then
            echo "FAIL: $1 scans $part, which holds entries"; exit 1
        fi
    done
}
rk_say "plans (scan nodes, counted over partitions)"
plan "one row's entries (row_history, row_as_of, undo)" \
    "SELECT * FROM rowkeeper.audit_log l WHERE l.row_ref = rowkeeper.row_ref(rowkeeper._audit_table_id('orders'), '{\"id\": 4243000}')
       AND l.table_id = rowkeeper._audit_table_id('orders') AND l.row_key = '{\"id\": 4243000}' ORDER BY l.id"
plan "a time window (changes, changes_by)" \
    "SELECT * FROM rowkeeper.audit_log l WHERE l.logged_at >= '$SINCE' AND l.table_id = rowkeeper._audit_table_id('orders')"
plan "one transaction (transaction_changes, undo_transaction)" \
    "SELECT * FROM rowkeeper.audit_log l WHERE l.txid = '$TX' ORDER BY l.id"

timed() {   # timed LABEL QUERY: median wall time of RUNS calls, in ms
    local i t times=()
    for (( i = 0; i < RUNS; i++ )); do
        t=$(sql -c '\timing on' -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
        times+=("$t")
    done
    printf '| %s | %s ms |\n' "$1" "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
}
rk_say "function times (median of $RUNS)"
echo "| call | time |"
echo "|---|---:|"
timed "row_history (one row, key changed once)" "SELECT count(*) FROM rowkeeper.row_history('orders', '{\"id\": 4243000}')"
timed "row_as_of" "SELECT rowkeeper.row_as_of('orders', '{\"id\": 4243000}', '$SINCE')"
timed "diff" "SELECT count(*) FROM rowkeeper.diff('orders', '{\"id\": 4243000}', '$SINCE', now())"
timed "changes (last second of writes)" "SELECT count(*) FROM rowkeeper.changes('orders', '$SINCE')"
timed "transaction_changes" "SELECT count(*) FROM rowkeeper.transaction_changes('$TX')"

rk_say "hash chain"
N=$(val "SELECT count(*) FROM rowkeeper.audit_log")
T0=$(date +%s.%N)
val "SELECT entries FROM rowkeeper.seal_audit_log()" >/dev/null
T1=$(date +%s.%N)
val "SELECT verified || ' verified, problem: ' || coalesce(problem, 'none') FROM rowkeeper.verify_audit_chain()"
T2=$(date +%s.%N)
awk -v n="$N" -v a="$T0" -v b="$T1" -v c="$T2" 'BEGIN {
    printf "  seal:   %d entries in %.1f s (%.0f entries/s)\n", n, b - a, n / (b - a)
    printf "  verify: %d entries in %.1f s (%.0f entries/s)\n", n, c - b, n / (c - b) }'
rk_say "bench finished; cluster stopped and removed"
