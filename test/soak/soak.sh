#!/usr/bin/env bash
# test/soak/soak.sh: a bounded soak.  SOAK_CLIENTS pgbench sessions, as the
# application role, mix audited UPDATEs, INSERTs, soft DELETEs, restores and
# tenant switches (rowkeeper.set_context() in every transaction, and a
# transaction that switches tenant twice) on two tables with every
# capability (soak.acct: audit row mode; soak.item: statement mode), while
# one more session, as a superuser, runs purge_soft_deleted() on both (rows
# soft-deleted over 2 s ago) and seals the audit log every half second.
#
#   SOAK_CLIENTS=4     application sessions
#   SOAK_SECONDS=180   duration
#   SOAK_ROWS=2000     rows per table at the start (few rows: contention)
#   SOAK_TENANTS=4     tenants
#   SOAK_NO_BUILD=1    use the installed build;  SOAK_TAMPER=1  falsify the
#                      ledger before verifying (the run must then fail)
#
# Every client transaction writes its change and, in the same statement, a
# row of soak.ledger; so the ledger is exactly the committed changes.
# Afterwards test/soak/verify.sql checks that the audit log holds exactly one
# entry per ledger row (per table, key and operation), one DELETE per purge
# (a key lives again when re-inserted), entries under the key's tenant
# only, committed UPDATEs equal to the live balance plus the balances the
# purges logged, soft deletes minus restores equal to purges plus the
# current deleted state, and a hash chain that verifies.  pgbench retries
# serialization failures and deadlocks (--max-tries); any other error aborts
# a client, and that fails the soak.  Exit status non-zero on any violation.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

SOAK_CLIENTS=${SOAK_CLIENTS:-4}
SOAK_SECONDS=${SOAK_SECONDS:-180}
SOAK_ROWS=${SOAK_ROWS:-2000}
SOAK_TENANTS=${SOAK_TENANTS:-4}
HERE=$ROOT/test/soak

rk_install_deps
[ -n "${SOAK_NO_BUILD:-}" ] || rk_build
rk_workdir soak
trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
rk_start_cluster soak "log_line_prefix='%m [%p] %e %u@%d '" "max_connections=40" \
    "synchronous_commit=off" "deadlock_timeout=50ms"
LOG=$RK_WORK/soak.log
as_pg() { rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$@"; }

# scripts for both tables from the templates (@T@ is the table)
for t in acct item; do
    for s in update insert soft_delete restore switch; do
        sed "s/@T@/$t/g" "$HERE/$s.sql" >"$RK_WORK/${s}_$t.sql"
    done
done
cp "$HERE"/{setup,verify,purge}.sql "$RK_WORK"/
chown postgres: "$RK_WORK"/*.sql

rk_say "setup: 2 tables x $SOAK_ROWS rows, $SOAK_TENANTS tenants"
as_pg "$PG_BINDIR/psql" -X -q -U postgres -d postgres -c 'CREATE DATABASE soak'
as_pg "$PG_BINDIR/psql" -X -q -U postgres -d soak -v rows="$SOAK_ROWS" -v tenants="$SOAK_TENANTS" \
    -f "$RK_WORK/setup.sql" >/dev/null
audit_max=$(as_pg "$PG_BINDIR/psql" -X -At -U postgres -d soak -c 'SELECT coalesce(max(id), 0) FROM rowkeeper.audit_log')

rk_say "soak: $SOAK_CLIENTS clients + 1 purging, ${SOAK_SECONDS}s"
scripts=()
for t in acct item; do
    scripts+=(-f "$RK_WORK/update_$t.sql@40" -f "$RK_WORK/insert_$t.sql@10"
              -f "$RK_WORK/soft_delete_$t.sql@15" -f "$RK_WORK/restore_$t.sql@10"
              -f "$RK_WORK/switch_$t.sql@10")
done
pgopts=(-n --max-tries=50 --failures-detailed --verbose-errors -D rows="$SOAK_ROWS" -D tenants="$SOAK_TENANTS")
as_pg "$PG_BINDIR/pgbench" -U postgres -d soak -c 1 -T "$SOAK_SECONDS" -n -f "$RK_WORK/purge.sql" \
    >"$RK_WORK/purge.out" 2>&1 &
purge_pid=$!
rc=0
as_pg "$PG_BINDIR/pgbench" -U soak_app -d soak -c "$SOAK_CLIENTS" -j "$SOAK_CLIENTS" -T "$SOAK_SECONDS" \
    "${pgopts[@]}" "${scripts[@]}" >"$RK_WORK/pgbench.out" 2>&1 || rc=$?
prc=0; wait "$purge_pid" || prc=$?

status=0
grep -E '^(number of|latency average|tps|total number of retries)' \
    "$RK_WORK/pgbench.out" || true
# errors other than the retried ones abort a client
if [ "$rc" != 0 ] || grep -qE 'aborted|ERROR' "$RK_WORK/pgbench.out"; then
    echo "FAIL: pgbench exited with $rc or a client hit an unexpected error:"
    grep -E 'aborted|ERROR' "$RK_WORK/pgbench.out" | grep -vE 'deadlock detected|could not serialize' \
        | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 20
    status=1
fi
echo "purge session: $(grep -E '^number of transactions actually processed' "$RK_WORK/purge.out" || true)"
if [ "$prc" != 0 ] || grep -qE 'aborted|ERROR' "$RK_WORK/purge.out"; then
    echo "FAIL: the purge session failed ($prc):"; grep -E 'aborted|ERROR' "$RK_WORK/purge.out" | head -n 5; status=1
fi
echo "server log, errors by SQLSTATE (retried ones included):"
grep -oE '\] [0-9A-Z]{5} [a-z_]+@soak (ERROR|FATAL|PANIC)' "$LOG" | cut -d' ' -f2,4 | sort | uniq -c | sort -rn || true
unexpected=$(grep -E '\] [0-9A-Z]{5} [a-z_]+@soak (ERROR|FATAL|PANIC)' "$LOG" | grep -vcE '\] (40001|40P01) ' || true)
crashes=$(grep -cE 'terminated by signal|server process .* was terminated|PANIC|TRAP:' "$LOG" || true)
echo "unexpected errors in the server log: $unexpected; crashes: $crashes"
[ "$unexpected" = 0 ] || { grep -E '\] [0-9A-Z]{5} [a-z_]+@soak (ERROR|FATAL|PANIC)' "$LOG" \
                             | grep -vE '\] (40001|40P01) ' | head -n 10; status=1; }
[ "$crashes" = 0 ] || status=1

rk_say "verify"
if [ -n "${SOAK_TAMPER:-}" ]; then
    # prove the checks can fail: a committed change the log does not have
    echo "SOAK_TAMPER: adding a ledger row no audit entry matches"
    as_pg "$PG_BINDIR/psql" -X -q -U postgres -d soak -c "INSERT INTO soak.ledger (tbl, id, op, tenant) VALUES ('acct', 1, 'UPDATE', 2)"
fi
as_pg "$PG_BINDIR/psql" -X -q -U postgres -d soak -v audit_max="$audit_max" -v rows="$SOAK_ROWS" -v tenants="$SOAK_TENANTS" \
    -f "$RK_WORK/verify.sql" | tee "$RK_WORK/verify.out"
grep -q 'FAILED CHECK *|' "$RK_WORK/verify.out" && status=1
committed=$(grep -E '^number of transactions actually processed' "$RK_WORK/pgbench.out" | grep -oE '[0-9]+' | head -n 1 || true)
changes=$(as_pg "$PG_BINDIR/psql" -X -At -U postgres -d soak -c "SELECT (SELECT count(*) FROM soak.ledger) || ' changes committed (' || (SELECT string_agg(op || ' ' || n, ', ' ORDER BY op) FROM (SELECT op, count(*) n FROM soak.ledger GROUP BY op) s) || '), ' || (SELECT count(*) FROM rowkeeper.audit_log WHERE op = 'DELETE' AND schema_name = 'soak') || ' rows purged'")
echo
echo "soak: $SOAK_CLIENTS clients x ${SOAK_SECONDS}s, ${committed:-?} transactions, $changes; $(grep -q 'FAILED CHECK *|' "$RK_WORK/verify.out" && echo 'accounting FAILED' || echo 'audit log accounts for every change exactly once')"
[ "$status" = 0 ] && echo PASS || echo FAIL
exit $status
