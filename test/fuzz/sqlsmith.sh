#!/usr/bin/env bash
# test/fuzz/sqlsmith.sh: SQLsmith against a database where every rowkeeper
# capability is on (test/fuzz/schema.sql), then the invariants.
#
#   FUZZ_SECONDS=120  how long SQLsmith runs (per client, clients in parallel)
#   FUZZ_CLIENTS=1    SQLsmith processes, seeds FUZZ_SEED, FUZZ_SEED+1, ...
#   FUZZ_SEED=1       first seed (a run is reproducible up to timing)
#   FUZZ_TAMPER=1     change a row of tenant 2 before the checks (the run
#                     must then fail: the checks can fail)
#
# SQLsmith connects as rk_app (LOGIN, not superuser, no BYPASSRLS, not an
# auditor) with rowkeeper.tenant=1 in its connection options, and generates
# random SELECT / INSERT / UPDATE / DELETE / MERGE statements over the
# tables, views and functions it can see (--exclude-catalog: ours, not the
# system catalogs).  It rolls every statement back, so the fuzz exercises
# the triggers and functions but commits nothing; the checks below do not
# rely on that.
#
# Fails (exit 1) on: a backend crash, assertion failure or PANIC in the
# server log; SQLsmith losing its connection; a hash chain that does not
# verify after sealing; any change to tenant 2's rows (counted and hashed
# before and after, deleted rows included) or a row of an unknown tenant;
# an audit entry committed while fuzzing under another tenant; an orphan
# row (every foreign key re-checked by query); amcheck findings
# (bt_index_check with heapallindexed on every btree, verify_heapam on every
# heap of the schema, the audit log's partitions and the seal table);
# rowkeeper.assert_isolated() failing for any table; rk_app seeing a row of
# tenant 2.  Prints queries run and errors by SQLSTATE class.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

FUZZ_SECONDS=${FUZZ_SECONDS:-120}
FUZZ_CLIENTS=${FUZZ_CLIENTS:-1}
FUZZ_SEED=${FUZZ_SEED:-1}
HERE=$ROOT/test/fuzz

rk_install_deps sqlsmith
rk_build
rk_workdir fuzz
trap 'rk_stop_clusters; rk_kill_postmasters "$RK_WORK"' EXIT
cp "$HERE"/*.sql "$RK_WORK"/ && chown postgres: "$RK_WORK"/*.sql
# rowkeeper preloaded, as README recommends: the soft-delete fast paths
# (parse-time rewriting of DELETE and SELECT on soft-delete views) see every
# statement SQLsmith makes up
rk_start_cluster fuzz "log_line_prefix='%m [%p] %e %u@%d '" "log_min_messages=warning" \
    "log_min_error_statement=error" "max_connections=30" "shared_preload_libraries=rowkeeper"
LOG=$RK_WORK/fuzz.log
psql_su() { rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$PG_BINDIR/psql" -X -q -U postgres "$@"; }

rk_say "schema and data (test/fuzz/schema.sql)"
psql_su -d postgres -c 'CREATE DATABASE fuzz'
psql_su -d fuzz -f "$RK_WORK/schema.sql" >/dev/null
psql_su -d fuzz -v phase=before -f "$RK_WORK/state.sql" >/dev/null
audit_max=$(psql_su -d fuzz -Atc 'SELECT coalesce(max(id), 0) FROM rowkeeper.audit_log')
psql_su -d fuzz -Atc "SELECT 'tables: ' || count(*) FROM rowkeeper.audited_tables" 
echo "audit entries before fuzzing: $audit_max"
xacts_before=$(psql_su -d fuzz -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'fuzz'")
log_offset=$(stat -c %s "$LOG")

rk_say "sqlsmith: $FUZZ_CLIENTS client(s) x ${FUZZ_SECONDS}s, seeds from $FUZZ_SEED"
conninfo="host=$PGHOST port=$PGPORT dbname=fuzz user=rk_app application_name=sqlsmith options='-c rowkeeper.tenant=1 -c rowkeeper.actor=sqlsmith'"
pids=()
for i in $(seq 0 $((FUZZ_CLIENTS - 1))); do
    seed=$((FUZZ_SEED + i))
    timeout -s INT "$FUZZ_SECONDS" runuser -u postgres -- \
        sqlsmith --target="$conninfo" --exclude-catalog --seed="$seed" --verbose \
        >"$RK_WORK/sqlsmith.$seed.out" 2>"$RK_WORK/sqlsmith.$seed.err" &
    pids+=($!)
done
status=0
broken=0
for p in "${pids[@]}"; do
    rc=0; wait "$p" || rc=$?
    # 124: stopped by timeout, as intended; anything else is SQLsmith giving up
    [ "$rc" = 124 ] || [ "$rc" = 0 ] || { echo "sqlsmith exited with $rc"; broken=$((broken + 1)); }
done
sleep 1   # let the server log the last statements

rk_say "results"
tail -c +$((log_offset + 1)) "$LOG" >"$RK_WORK/fuzz-run.log"
xacts_after=$(psql_su -d fuzz -Atc "SELECT pg_stat_force_next_flush(); SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'fuzz'" | tail -n 1)
queries=0
for f in "$RK_WORK"/sqlsmith.*.err; do
    # SQLsmith's --verbose progress lines: one character per query
    # ('.' ok, 'e' error, 't' timeout, 'C' connection lost, 'S' syntax)
    n=$(grep -E '^[.a-zA-Z]+$' "$f" | grep -vE '[^.eStC]' | tr -d '\n' | wc -c); queries=$((queries + n))
done
errors=$(grep -cE '^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] [0-9A-Z]{5} rk_app@fuzz ERROR:' "$RK_WORK/fuzz-run.log" || true)
echo "transactions in the fuzz database while fuzzing: $((xacts_after - xacts_before))"
echo "errors raised to SQLsmith (server log): $errors"
echo "errors by SQLSTATE class:"
grep -oE '\] [0-9A-Z]{5} rk_app@fuzz ERROR:' "$RK_WORK/fuzz-run.log" | cut -c3-4 | sort | uniq -c | sort -rn \
    | while read -r n cls; do printf '  %7d  class %s\n' "$n" "$cls"; done || true
echo "most frequent error messages (numbers and quoted names folded):"
grep -E '\] [0-9A-Z]{5} rk_app@fuzz ERROR:' "$RK_WORK/fuzz-run.log" \
    | sed -E 's/.* ([0-9A-Z]{5}) rk_app@fuzz ERROR:  /\1 /; s/"[^"]*"/"…"/g; s/[0-9]+/N/g' \
    | cut -c1-90 | sort | uniq -c | sort -rn | head -n 15 || true
echo "internal errors (class XX), by message:"
grep -E '\] XX[0-9A-Z]{3} rk_app@fuzz ERROR:' "$RK_WORK/fuzz-run.log" \
    | sed -E 's/.* rk_app@fuzz ERROR:  //' | sort | uniq -c | sort -rn | head -n 10 || true
echo "errors that name rowkeeper:"
grep -E 'rk_app@fuzz ERROR:.*(rowkeeper|rk_)' "$RK_WORK/fuzz-run.log" \
    | sed -E 's/.* ([0-9A-Z]{5}) rk_app@fuzz ERROR:  /\1 /; s/[0-9]+/N/g' | cut -c1-120 \
    | sort | uniq -c | sort -rn | head -n 15 || true

crashes=$(grep -cE 'terminated by signal|server process .* was terminated|exited with exit code [1-9]|PANIC|TRAP:|Assertion|stuck spinlock|could not (read|write) block' "$LOG" || true)
echo "crashes / PANIC / assertion failures in the server log: $crashes"
if [ "$crashes" != 0 ]; then
    grep -nE 'terminated by signal|server process .* was terminated|exited with exit code [1-9]|PANIC|TRAP:|Assertion|stuck spinlock|could not (read|write) block' "$LOG" | head -n 20
    grep -B2 -A8 'terminated by signal' "$LOG" | head -n 60 || true
    status=1
fi
[ "$broken" = 0 ] || { echo "FAIL: $broken SQLsmith process(es) lost their connection or failed"; status=1;
                       tail -n 20 "$RK_WORK"/sqlsmith.*.err; }
echo "queries generated by SQLsmith (its --verbose progress): $queries"
for f in "$RK_WORK"/sqlsmith.*.err; do grep 'error rate' "$f" | tail -n 1; done

rk_say "invariants"
if [ -n "${FUZZ_TAMPER:-}" ]; then
    # prove the checks can fail: a write to tenant 2 behind the fuzzer's back
    echo "FUZZ_TAMPER: changing a row of tenant 2"
    psql_su -d fuzz -c "UPDATE app.orders SET amount = amount + 1 WHERE tenant_id = 2 AND id = (SELECT min(id) FROM app.orders WHERE tenant_id = 2)"
fi
psql_su -d fuzz -v phase=after -f "$RK_WORK/state.sql" >/dev/null
psql_su -d fuzz -v audit_max="$audit_max" -f "$RK_WORK/invariants.sql" | tee "$RK_WORK/invariants.out"
grep -q 'FAILED CHECK' "$RK_WORK/invariants.out" && status=1
# what the application role sees as tenant 1 through every table and view
probe=$(rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGOPTIONS='-c rowkeeper.tenant=1' \
    "$PG_BINDIR/psql" -X -At -U rk_app -d fuzz -v ON_ERROR_STOP=1 -c "
    SELECT string_agg(format('%s:%s', r, n), ' ' ORDER BY r) FROM (
      SELECT 'tenants' r, count(*) FILTER (WHERE tenant_id <> 1) n FROM app.tenants
      UNION ALL SELECT 'users', count(*) FILTER (WHERE tenant_id <> 1) FROM app.users
      UNION ALL SELECT 'posts', count(*) FILTER (WHERE tenant_id <> 1) FROM app.posts
      UNION ALL SELECT 'comments', count(*) FILTER (WHERE tenant_id <> 1) FROM app.comments
      UNION ALL SELECT 'orders', count(*) FILTER (WHERE tenant_id <> 1) FROM app.orders
      UNION ALL SELECT 'sessions', count(*) FILTER (WHERE tenant_id <> 1) FROM app.sessions) s")
echo "rows of another tenant rk_app sees as tenant 1: $probe"
echo "$probe" | grep -qE ':[1-9]' && { echo "FAIL: rk_app sees another tenant's rows"; status=1; }

echo
echo "sqlsmith: ${queries} queries, ${errors} errors, ${crashes} crashes; invariants $(grep -q 'FAILED CHECK' "$RK_WORK/invariants.out" && echo FAILED || echo hold)"
[ "$status" = 0 ] && echo "PASS" || echo "FAIL"
exit $status
