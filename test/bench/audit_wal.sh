#!/usr/bin/env bash
# test/bench/audit_wal.sh: WAL written by one bulk UPDATE (BULK_ROWS rows in
# one statement) with no trigger, row-mode audit and statement-mode audit,
# right after a CHECKPOINT (as every test/bench/audit.sh run starts) and
# again without one, with each wal_compression setting in COMPRESSION.
#
# Why: callgrind (test/bench/audit_callgrind.sh) counts the instructions of
# many statements in one single-user session, where a page's full-page
# image is written once, at its first change after the session's starting
# checkpoint, and so falls almost entirely in the warm-up statements it
# subtracts.  pgbench runs start after a CHECKPOINT, so each run pays a
# full-page image for every page it changes first: the table's, and, when
# audited, the log's heap pages (new, so small records) and the leaf pages of
# the log's history btree, which random row_ref keys spread over the whole
# index.  This prints, per statement: WAL records, full-page images, WAL
# bytes and the elapsed time (noisy on a shared machine; the WAL is not).
#
# Usage (root): test/bench/audit_wal.sh
#   PREFILL=1000000 COMPRESSION="off lz4" test/bench/audit_wal.sh
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROWS=${ROWS:-100000}            # rows of each bulk table (as audit.sh)
BULK_ROWS=${BULK_ROWS:-10000}
PREFILL=${PREFILL:-300000}      # log entries before measuring
VARIANTS=(${VARIANTS:-none rowkeeper statement})
COMPRESSION=(${COMPRESSION:-off pglz lz4})   # wal_compression settings
BENCH=$ROOT/test/bench/audit

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

rk_install_deps
rk_build
rk_workdir bench-audit-wal
trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
rk_start_cluster wal shared_buffers=256MB synchronous_commit=off autovacuum=off \
    max_wal_size=20GB checkpoint_timeout=1h
sql() {
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}
sql -c "CREATE EXTENSION rowkeeper"
rk_say "loading test/bench/audit/setup.sql ($ROWS rows) and $PREFILL log entries"
sql -v rows="$ROWS" -v del_rows=1000 -f - < "$BENCH/setup.sql"
sql <<SQL
SET rowkeeper.actor = 'prefill';
CREATE TABLE prefill (id int PRIMARY KEY, val int, doc jsonb, updated text);
SELECT rowkeeper.enable_audit('prefill', mode => 'statement');
INSERT INTO prefill SELECT g, g, bench_doc(g), 'p' FROM generate_series(1, $PREFILL) g;
SELECT rowkeeper.disable_audit('prefill');
DROP TABLE prefill;
ALTER SYSTEM SET rowkeeper.actor = 'bench';
SELECT pg_reload_conf();
VACUUM ANALYZE;
SQL

# measure LABEL TABLE LO CHECKPOINT(yes|no): one bulk UPDATE, its WAL
# (pg_waldump --stats over the statement's LSN range: record and FPI bytes)
measure() {
    local label=$1 tbl=$2 lo=$3 ckpt=$4 start end ms stats
    if [ "$ckpt" = yes ]; then sql -c "CHECKPOINT"; fi
    start=$(sql -At -c "SELECT pg_current_wal_insert_lsn()")
    ms=$(sql -c '\timing on' \
             -c "UPDATE $tbl SET val = val + 1 WHERE id BETWEEN $lo AND $lo + $BULK_ROWS - 1" \
         | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    end=$(sql -At -c "SELECT pg_current_wal_insert_lsn()")
    sql -c "SELECT pg_switch_wal()" >/dev/null     # flushed, for pg_waldump
    # Total line: N, record size, (%), FPI size, (%), combined size, (%)
    stats=$(rk_as_pg "$PG_BINDIR/pg_waldump" -p "$RK_WORK/wal/pg_wal" -s "$start" -e "$end" --stats 2>/dev/null \
            | awk '$1 == "Total" { print $2, $3, $5, $7 }' || true)
    [ -n "$stats" ] || { echo "pg_waldump failed for $start..$end"; exit 1; }
    read -r n rec fpi all <<< "$stats"
    awk -v l="$label" -v c="$ckpt" -v n="$n" -v r="$rec" -v f="$fpi" -v a="$all" -v ms="$ms" -v rows="$BULK_ROWS" 'BEGIN {
        printf "| %s | %s | %d | %.1f MB | %.1f MB | %.1f MB | %.0f ms |\n", l,
               (c == "yes") ? "after CHECKPOINT" : "no checkpoint", n, r / 1048576, f / 1048576, a / 1048576, ms }'
}

i=0
for comp in "${COMPRESSION[@]}"; do
    sql -c "ALTER SYSTEM SET wal_compression = $comp" -c "SELECT pg_reload_conf()" >/dev/null
    rk_say "wal_compression = $comp"
    echo "| variant | | WAL records | record bytes | full-page images | WAL | time |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for v in "${VARIANTS[@]}"; do
        tbl=bulk_$v
        sql -c "VACUUM ANALYZE $tbl" >/dev/null
        lo=$(( 1 + (i++ % 5) * BULK_ROWS ))     # a fresh range each time
        measure "$v" "$tbl" "$lo" yes
        measure "$v" "$tbl" "$lo" no
    done
done
rk_say "bench finished; cluster stopped and removed"
