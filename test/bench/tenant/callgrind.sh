#!/usr/bin/env bash
# test/bench/tenant/callgrind.sh: instructions per statement of each tenant
# isolation variant (base / rowkeeper / hand, as in test/bench/tenant.sh),
# counted by callgrind in a single-user backend: deterministic, so it shows
# differences that pgbench on a shared 2-core machine cannot.
#
#   in-backend   N executions of the statement inside one PL/pgSQL loop
#                (cpu_loop() in setup.sql: plan cached, no parse, no
#                commit): the executor's own cost
#   transaction  N statements, each its own transaction as the single-user
#                backend reads them (parse, plan, execute, commit): close to
#                what pgbench -M simple pays per transaction, minus the
#                network protocol
# Each figure is (count(N2) - count(N1)) / (N2 - N1), so start-up cancels.
#
# Usage (root; needs valgrind, installs it if missing):
#   PG_CONFIG=... test/bench/tenant/callgrind.sh
set -euo pipefail
. "$(dirname "$0")/../../lib.sh"

ROWS=${ROWS:-200000}
TENANTS=${TENANTS:-100}
TENANT_K=7
TENANT=$(printf '00000000-0000-0000-0000-%012x' "$TENANT_K")
PER_TENANT=$((ROWS / TENANTS))
VARIANTS=(base rowkeeper hand)

[ "$(id -u)" = 0 ] || { echo "run as root"; exit 2; }
rk_install_deps valgrind
rk_build
rk_workdir bench-tenant-callgrind
trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
rk_start_cluster cg
rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
    -v rows="$ROWS" -v tenants="$TENANTS" -f - < "$ROOT/test/bench/tenant/setup.sql" >/dev/null
rk_stop_clusters
DATA=$RK_WORK/cg

# run NAME < sql: total instructions of a single-user backend reading sql
run() {
    local out=$RK_WORK/$1.callgrind
    (cd "$RK_WORK" && rk_as_pg env TMPDIR="$RK_WORK" valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$PG_BINDIR/postgres" --single -c synchronous_commit=off -D "$DATA" postgres \
        > "$RK_WORK/$1.log" 2>&1)
    if grep -q ERROR "$RK_WORK/$1.log"; then grep ERROR "$RK_WORK/$1.log" | head -3; exit 1; fi
    sed -n 's/^summary: //p; s/^totals: //p' "$out" | head -n 1
}

loop_sql() {    # op variant n
    printf "SET ROLE bench_app;\nSET rowkeeper.tenant = '%s';\n" "$TENANT"
    printf "SELECT cpu_loop('%s', '%s', %s, '%s', %s, %s, %s);\n" "$1" "$2" "$3" "$TENANT" \
        "$TENANT_K" "$TENANTS" "$PER_TENANT"
}

tx_sql() {      # op variant n
    local i k
    printf "SET ROLE bench_app;\nSET rowkeeper.tenant = '%s';\n" "$TENANT"
    for (( i = 1; i <= $3; i++ )); do
        k=$(( TENANT_K + ((i * 7919) % PER_TENANT) * TENANTS ))
        case $1/$2 in
            lookup/base) echo "SELECT val FROM t_base WHERE id = $k AND tenant_id = '$TENANT';" ;;
            lookup/rowkeeper) echo "SELECT val FROM t_rk WHERE id = $k;" ;;
            lookup/hand) echo "SELECT val FROM t_hand WHERE id = $k;" ;;
            count/base) echo "SELECT count(*) FROM t_base WHERE tenant_id = '$TENANT';" ;;
            count/rowkeeper) echo "SELECT count(*) FROM t_rk;" ;;
            count/hand) echo "SELECT count(*) FROM t_hand;" ;;
            insert/base) echo "INSERT INTO i_base (id, tenant_id, val, note) VALUES (-nextval('i_base_seq'), '$TENANT', 1, 'new row');" ;;
            insert/rowkeeper) echo "INSERT INTO i_rk (id, val, note) VALUES (-nextval('i_rk_seq'), 1, 'new row');" ;;
            insert/hand) echo "INSERT INTO i_hand (id, val, note) VALUES (-nextval('i_hand_seq'), 1, 'new row');" ;;
        esac
    done
}

per_statement() {   # kind op variant n1 n2
    local a b
    a=$(run "$1-$2-$3-$4" < <("$1_sql" "$2" "$3" "$4"))
    b=$(run "$1-$2-$3-$5" < <("$1_sql" "$2" "$3" "$5"))
    echo $(( (b - a) / ($5 - $4) ))
}

rk_say "instructions per statement (callgrind, single-user backend)"
echo
echo "| op | kind | base | rowkeeper | hand | rowkeeper: base/variant | hand: base/variant |"
echo "|---|---|---:|---:|---:|---:|---:|"
for op in lookup count insert; do
    for kind in loop tx; do
        case $op in count) n1=100; n2=600 ;; *) n1=1000; n2=6000 ;; esac
        [ "$kind" = tx ] && { n1=$((n1 / 2)); n2=$((n2 / 2)); }
        declare -A ins=()
        for v in "${VARIANTS[@]}"; do ins[$v]=$(per_statement "$kind" "$op" "$v" "$n1" "$n2"); done
        printf '| %s | %s | %d | %d | %d | %.3f | %.3f |\n' "$op" \
            "$([ "$kind" = loop ] && echo in-backend || echo transaction)" \
            "${ins[base]}" "${ins[rowkeeper]}" "${ins[hand]}" \
            "$(awk -v a="${ins[base]}" -v b="${ins[rowkeeper]}" 'BEGIN { print a / b }')" \
            "$(awk -v a="${ins[base]}" -v b="${ins[hand]}" 'BEGIN { print a / b }')"
    done
done
