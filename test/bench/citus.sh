#!/usr/bin/env bash
# test/bench/citus.sh: what rowkeeper audit and tenant isolation cost on a
# distributed table, measured through the coordinator of a Citus cluster.
#
# What is measured
#   Throughput (pgbench TPS) of one transaction, a single-row UPDATE by
#   primary key as an application role (bench_app, no BYPASSRLS) against the
#   coordinator, on three tables with the same rows, distributed by
#   tenant_id, co-located, 8 shards (test/bench/citus/setup.sql):
#     bare   c_bare: no rowkeeper (the bare Citus baseline), script bare.pgbench:
#              BEGIN; UPDATE c_bare SET v = v + 1 WHERE tenant_id = :t AND id = :i; COMMIT;
#     ctx    c_bare with script update.pgbench: the context is set, the table
#              has no rowkeeper (what set_context() costs alone: one more
#              statement, and its SET LOCALs sent on to the worker):
#              BEGIN; SELECT rowkeeper.set_context(tenant => :t::text, actor => 'bench');
#              UPDATE c_bare SET v = v + 1 WHERE tenant_id = :t AND id = :i; COMMIT;
#     plain  c_plain: rowkeeper.enable_tenant_isolation(), script update.pgbench
#     audit  c_audit: tenant isolation and rowkeeper.enable_audit() (row
#              mode, enabled after distributing), script update.pgbench
#   1. Interleaved runs: every variant runs DURATION seconds on its own, in
#      each of ROUNDS rounds, the order rotated from round to round.
#      Reported per round: each variant's TPS and the ratios audit/plain
#      (what audit costs), plain/bare (what isolation costs an application,
#      the set_context() statement included), plain/ctx (the policies alone)
#      and audit/bare; then the median of the per-round ratios.
#   2. Mixed runs: on a machine whose load changes within seconds, runs
#      after one another do not see the same machine.  So each round ends
#      with one pgbench run of DURATION seconds of all four scripts at once
#      (equal weights: every transaction picks one at random), and the
#      variants are compared by their average latency in that run, the same
#      ratios as above taken as baseline latency / variant latency (1.00 =
#      the same, lower = slower).  Every variant sees the same load; the
#      price is that the variants share the machine with each other too.
#   After the runs, the audit entries on the workers are counted against the
#   audited transactions pgbench reports (every one logged, nothing for the
#   other tables).
#
# How
#   Three throwaway clusters (test/lib.sh: initdb as the postgres user, unix
#   socket only, fsync=off): a coordinator and two workers, all with
#   shared_preload_libraries = 'citus,rowkeeper', max_prepared_transactions,
#   citus.local_hostname = the node's socket directory,
#   synchronous_commit=off, shared_buffers=256MB, autovacuum off, no timed
#   checkpoint; citus_set_coordinator_host() and citus_add_node() over the
#   sockets (as test/t/082_citus.pl).  TENANTS tenants of PER_TENANT rows
#   (default 100 x 1000 = 100,000 rows per table).  pgbench -n -c 2 -j 2
#   -T DURATION; every run starts after VACUUM ANALYZE of its table(s) and a
#   CHECKPOINT on every node.  The load average is printed with every round.
#
# Prerequisite: Citus installed for the PG_CONFIG used, e.g.
#   PG_CONFIG=... bash ../shared/citus/build.sh     (Citus 13.2: PostgreSQL 15, 16, 17)
# Usage (root; installs what is missing, builds and installs rowkeeper from
# this checkout into $PG_CONFIG's installation, as the other bench scripts):
#   test/bench/citus.sh
#   ROUNDS=5 DURATION=10 PG_CONFIG=... test/bench/citus.sh
# All three nodes share the machine's cores with the clients: the figures
# are of a cluster on one machine (no network between the nodes), and on a
# busy 2-core machine single runs swing by 20 % or more; read the per-round
# ratios, not the TPS.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-5}                     # rounds of every variant
DURATION=${DURATION:-10}                # seconds per pgbench run
TENANTS=${TENANTS:-100}
PER_TENANT=${PER_TENANT:-1000}          # rows per tenant

VARIANTS=(plain audit bare ctx)
NODES=(worker1 worker2 coordinator)
BENCH=$ROOT/test/bench/citus

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
(( ROUNDS >= 1 )) || { echo "ROUNDS must be at least 1"; exit 2; }
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] \
   || [ ! -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ]; then
    echo "Citus is not installed for $PG_CONFIG ($("$PG_CONFIG" --version));"
    echo "install it first: PG_CONFIG=$PG_CONFIG bash $ROOT/../shared/citus/build.sh"
    exit 2
fi

# --- helpers ----------------------------------------------------------------

sock_of() { echo "$RK_WORK/$1.sock"; }

# sql_on NODE [psql args...]: psql on NODE, as postgres
sql_on() {
    local node=$1; shift
    rk_as_pg env PGHOST="$(sock_of "$node")" PGPORT=5432 PGUSER=postgres \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}
sql() { sql_on coordinator "$@"; }
sql_value() { sql -At -c "$1"; }

table_of() { case $1 in ctx) echo c_bare ;; *) echo "c_$1" ;; esac; }

# script_of VARIANT: the variant's pgbench script, its table written in
# (a mixed run gives several scripts, and -D would set one table for all)
script_of() {
    local v=$1 out=$RK_WORK/scripts/$1.pgbench
    sed "s/:tbl\b/$(table_of "$v")/g" \
        "$BENCH/$(case $v in bare) echo bare.pgbench ;; *) echo update.pgbench ;; esac)" > "$out"
    chown postgres: "$out"
    echo "$out"
}

# pgbench_run OUTFILE pgbench-args...: pgbench as the application role
# against the coordinator
pgbench_run() {
    local out=$1; shift
    rk_as_pg env PGHOST="$(sock_of coordinator)" PGPORT=5432 PGUSER=bench_app \
        "$PG_BINDIR/pgbench" -n -c 2 -j 2 -T "$DURATION" \
        -D tenants="$TENANTS" -D per_tenant="$PER_TENANT" "$@" \
        postgres > "$out" 2>&1 || { cat "$out"; return 1; }
}

# before_run TABLE...: VACUUM ANALYZE, and a CHECKPOINT on every node
before_run() {
    local node
    sql -c "VACUUM ANALYZE $(IFS=,; echo "$*")"
    for node in "${NODES[@]}"; do sql_on "$node" -c "CHECKPOINT"; done
}

# --- steps ------------------------------------------------------------------

cleanup() { rk_stop_clusters; rk_stop_stale "$RK_WORK"; }

# start_nodes: the two workers and the coordinator, each its own cluster on
# its own socket directory; the workers registered with the coordinator
start_nodes() {
    local node
    rk_workdir bench-citus
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP        # the EXIT trap stops the servers
    rk_say "starting a coordinator and 2 workers (PostgreSQL $PG_MAJOR, $PG_CONFIG)"
    for node in "${NODES[@]}"; do
        rk_start_cluster "$node" "shared_preload_libraries='citus,rowkeeper'" \
            max_prepared_transactions=20 "citus.local_hostname='$(sock_of "$node")'" \
            synchronous_commit=off shared_buffers=256MB autovacuum=off \
            max_wal_size=32GB checkpoint_timeout=1d
        sql_on "$node" -c "CREATE EXTENSION citus"
    done
    sql -c "SELECT citus_set_coordinator_host('$(sock_of coordinator)', 5432)" >/dev/null
    sql -c "SELECT citus_add_node('$(sock_of worker1)', 5432)" \
        -c "SELECT citus_add_node('$(sock_of worker2)', 5432)" >/dev/null
    [ "$(sql_value "SELECT count(*) FROM citus_get_active_worker_nodes()")" = 2 ] \
        || { echo "the workers did not join"; exit 1; }
    echo "  PostgreSQL $(sql_value "SHOW server_version"), Citus $(sql_value \
        "SELECT extversion FROM pg_extension WHERE extname = 'citus'")"
}

# the server loads the module of this checkout's build (rk_build installed it)
check_module() {
    cmp -s "$ROOT/rowkeeper.so" "$("$PG_CONFIG" --pkglibdir)/rowkeeper.so" \
        || { echo "the installed rowkeeper.so is not this checkout's build"; exit 1; }
}

setup_schema() {
    rk_say "loading 3 tables of $((TENANTS * PER_TENANT)) rows ($TENANTS tenants), distributed by tenant_id, 8 shards"
    sql -v tenants="$TENANTS" -v per_tenant="$PER_TENANT" -f "$BENCH/setup.sql" >/dev/null
    rk_as_pg mkdir -p "$RK_WORK/runs" "$RK_WORK/scripts"
    # the shards are on both workers, the three tables are alike but for
    # rowkeeper (same indexes: isolation adds none, the key leads with tenant_id)
    sql_value "SELECT '  ' || table_name || ': ' || count(*) || ' shards on '
                      || count(DISTINCT nodename) || ' workers, indexes: '
                      || (SELECT string_agg(pg_get_indexdef(indexrelid), '; ')
                            FROM pg_index WHERE indrelid = table_name)
                 FROM citus_shards GROUP BY table_name ORDER BY table_name::text"
    sql_value "SELECT '  rowkeeper: ' || string_agg(x, ', ') FROM (
                 SELECT table_name || ' tenant isolation' AS x FROM rowkeeper.tenant_isolated_tables
                 UNION ALL
                 SELECT table_name || ' audit (' || mode || ', triggers ' || row_trigger || '/'
                        || truncate_trigger || coalesce(', problems: '
                        || nullif(array_to_string(problems, '; '), ''), '') || ')'
                   FROM rowkeeper.audit_status()) s"
}

# run_one ROUND VARIANT: one timed run, appended to $RESULTS
run_one() {
    local round=$1 v=$2 out tps n
    out=$RK_WORK/runs/r$round-$v.txt
    before_run "$(table_of "$v")"
    pgbench_run "$out" -f "$(script_of "$v")"
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    [ -n "$tps" ] && [ -n "$n" ] || { echo "cannot read pgbench output:"; cat "$out"; return 1; }
    printf '%s\t%s\t%s\t%s\n' "$round" "$v" "$tps" "$n" >> "$RESULTS"
    printf '  round %s  %-5s  %8.1f tps  (%s transactions)\n' "$round" "$v" "$tps" "$n"
}

# run_mixed ROUND: one run of every variant's script at once; each
# variant's average latency and transactions appended to $MIXED
run_mixed() {
    local round=$1 out args=() v k lat n
    out=$RK_WORK/runs/r$round-mixed.txt
    before_run c_bare c_plain c_audit
    for v in "${VARIANTS[@]}"; do args+=(-f "$(script_of "$v")"); done
    pgbench_run "$out" "${args[@]}"
    printf '  round %s  mixed:' "$round"
    for (( k = 1; k <= ${#VARIANTS[@]}; k++ )); do
        v=${VARIANTS[$((k - 1))]}
        # the block of "SQL script K: ..." in pgbench's report
        read -r n lat < <(awk -v k="$k" '
            /^SQL script [0-9]+:/ { in_k = ($3 == k ":") }
            in_k && / - [0-9]+ transactions/ { n = $2 }
            in_k && / - latency average = / { lat = $5 }
            END { print n, lat }' "$out")
        [ -n "$n" ] && [ -n "$lat" ] || { echo "cannot read pgbench output:"; cat "$out"; return 1; }
        printf '%s\t%s\t%s\t%s\n' "$round" "$v" "$lat" "$n" >> "$MIXED"
        printf '  %s %s ms (%s)' "$v" "$lat" "$n"
    done
    echo
}

run_rounds() {
    local r k i load
    RESULTS=$RK_WORK/results.tsv
    MIXED=$RK_WORK/mixed.tsv
    LOADS=$RK_WORK/loads.tsv
    : > "$RESULTS"; : > "$MIXED"; : > "$LOADS"
    for (( r = 1; r <= ROUNDS; r++ )); do
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        printf '%s\t%s\n' "$r" "$load" >> "$LOADS"
        rk_say "round $r of $ROUNDS (load average $load)"
        for (( k = 0; k < ${#VARIANTS[@]}; k++ )); do
            i=$(( (k + r - 1) % ${#VARIANTS[@]} ))
            run_one "$r" "${VARIANTS[$i]}"
        done
        run_mixed "$r"
        # --- soft DELETE on Citus: NOT MEASURED YET ------------------------
        # rowkeeper.enable_soft_delete() refuses Citus tables (see
        # test/t/082_citus.pl).  When soft delete on Citus lands, a fourth
        # variant goes here: a co-located table c_soft with tenant isolation
        # and soft delete (setup.sql), a pgbench script citus/soft_delete.pgbench
        # (set_context, then DELETE FROM c_soft WHERE tenant_id = :t AND id = :i
        # of a row not yet deleted), its own baseline (the UPDATE ... SET
        # deleted_at = now() the application would send), and its ratio in
        # report().  Nothing else in this script depends on it.
        # ---------------------------------------------------------------------
    done
}

# report: per round the figures and their ratios, then the medians of the
# per-round ratios; for the interleaved runs (TPS) and the mixed runs
# (average latency, ratios inverted so that for both lower = slower)
report() {
    rk_say "results: $ROUNDS rounds, ${DURATION}s per run, pgbench -c 2 -j 2 against the coordinator"
    echo
    echo "Interleaved runs, throughput (tps); ratios per round, and the median of the per-round ratios:"
    echo
    echo "| round | load avg (1/5/15 min) | bare tps | ctx tps | plain tps | audit tps | audit/plain | plain/bare | plain/ctx | audit/bare |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    summarize tps "$LOADS" "$RESULTS"
    echo
    echo "Mixed runs (the four scripts in one run), average latency (ms); ratios baseline latency / variant latency:"
    echo
    echo "| round | load avg (1/5/15 min) | bare ms | ctx ms | plain ms | audit ms | audit/plain | plain/bare | plain/ctx | audit/bare |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    summarize latency "$LOADS" "$MIXED"
}

# summarize tps|latency LOADS FILE: a table row per round of FILE's third
# column (round, variant, figure, transactions), the ratios, then medians
summarize() {
    awk -F'\t' -v kind="$1" '
        FILENAME == ARGV[1] { load[$1] = $2; next }
        { x[$1, $2] = $3; if ($1 + 0 > n) n = $1 + 0 }
        function med(a, k,   i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
        function ratio(v, base) { return kind == "tps" ? v / base : base / v }
        END {
            fmt = kind == "tps" ? "%.0f" : "%.2f"
            for (r = 1; r <= n; r++) {
                b[r] = x[r, "bare"]; c[r] = x[r, "ctx"]; p[r] = x[r, "plain"]; a[r] = x[r, "audit"]
                ap[r] = ratio(a[r], p[r]); pb[r] = ratio(p[r], b[r]); pc[r] = ratio(p[r], c[r]); ab[r] = ratio(a[r], b[r])
                printf "| %d | %s | " fmt " | " fmt " | " fmt " | " fmt " | %.2f | %.2f | %.2f | %.2f |\n",
                    r, load[r], b[r], c[r], p[r], a[r], ap[r], pb[r], pc[r], ab[r]
            }
            printf "| **median** | | " fmt " | " fmt " | " fmt " | " fmt " | **%.2f** | **%.2f** | **%.2f** | **%.2f** |\n",
                med(b, n), med(c, n), med(p, n), med(a, n), med(ap, n), med(pb, n), med(pc, n), med(ab, n)
        }' "$2" "$3"
}

# check_log_counts: every audited transaction left one entry (on the worker
# that holds the row), the other tables none.  A few more entries than
# pgbench counted are expected: when -T runs out, a COMMIT that the server
# has done may not be counted any more (at most one per client and run).
check_log_counts() {
    local want got other slack
    rk_say "audit entries against committed transactions"
    want=$(awk -F'\t' '$2 == "audit" { s += $4 } END { print s + 0 }' "$RESULTS" "$MIXED")
    slack=$(( 2 * 2 * ROUNDS ))         # 2 clients, 2 runs with c_audit per round
    got=$(sql_value "SELECT coalesce(sum(result::bigint), 0) FROM run_command_on_all_nodes(
                       \$\$SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = 'c_audit' AND op = 'UPDATE'\$\$)")
    other=$(sql_value "SELECT coalesce(sum(result::bigint), 0) FROM run_command_on_all_nodes(
                       \$\$SELECT count(*) FROM rowkeeper.audit_log WHERE table_name IN ('c_plain', 'c_bare')\$\$)")
    printf '  c_audit UPDATE  pgbench: %s  log (all nodes): %s  %s\n' "$want" "$got" \
        "$( (( got == want )) && echo ok || { (( got > want && got - want <= slack )) \
            && echo "ok ($((got - want)) committed as pgbench's time ran out, not counted by it)"; } \
            || echo MISMATCH)"
    printf '  c_plain, c_bare entries: %s  %s\n' "$other" "$([ "$other" = 0 ] && echo ok || echo MISMATCH)"
    (( got >= want && got - want <= slack )) && [ "$other" = 0 ] || return 1
}

# --- main -------------------------------------------------------------------

rk_install_deps
rk_build
check_module
start_nodes
setup_schema
run_rounds
report
check_log_counts
rk_say "bench finished (load average $(cut -d' ' -f1-3 /proc/loadavg)); servers stopped and removed"
