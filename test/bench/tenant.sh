#!/usr/bin/env bash
# test/bench/tenant.sh: what rowkeeper tenant isolation costs per query,
# against the same query with an explicit WHERE tenant_id = <constant> and
# no row-level security, and next to the usual hand-written policy.
#
# What is measured
#   Throughput (pgbench TPS) of three single-statement transactions, each
#   on its own table per variant:
#     lookup   SELECT val FROM t WHERE id = <a random id of the tenant>
#     count    SELECT count(*) FROM t   (one tenant's rows, index-only scan)
#     insert   INSERT INTO t (id, val, note) VALUES (...), tenant filled in
#   variants:
#     base       no RLS; the query says AND tenant_id = $tenant itself, and
#                the INSERT gives tenant_id (the baseline)
#     rowkeeper  rowkeeper.enable_tenant_isolation(): forced RLS, policies
#                tenant_id = rowkeeper.current_tenant_uuid(), DEFAULT fills
#                the column
#     hand       for reference, the usual hand-written policy and default:
#                tenant_id = current_setting('rowkeeper.tenant')::uuid
#   Targets (issue 6): lookup >= 0.97x, count >= 0.95x, insert >= 0.95x of
#   base.
#
# How
#   One throwaway cluster (test/lib.sh), synchronous_commit=off,
#   shared_buffers=256MB, autovacuum off, no timed checkpoints.  ROWS rows
#   in TENANTS tenants (uuid tenant ids), the same rows in each variant's
#   table; VACUUM (FREEZE, ANALYZE) after loading and VACUUM ANALYZE before
#   every run, so index-only scans stay index-only (a table whose
#   visibility map is not set turns them into heap fetches and makes RLS
#   look several times slower than it is).  pgbench -n -M prepared -c 2 -j 2
#   -T DURATION as a role without BYPASSRLS, the tenant set for the session
#   with PGOPTIONS (one tenant per run, the same for every variant), so the
#   figures are the per-query cost of the policies, not of setting the
#   context.  ROUNDS rounds, the variant order rotated from round to round;
#   the table reports the median TPS and its ratio to base of the same
#   round's operation.
#   Then, because TPS on a shared 2-core machine swings by 20% from run to
#   run, the backend CPU time per statement of each variant, measured in
#   one backend by a PL/pgSQL loop (cpu_loop() in setup.sql; no round trip,
#   no commit, so the differences show undiluted).
#
# Usage (root; installs what is missing, builds and installs rowkeeper):
#   PG_CONFIG=... test/bench/tenant.sh
#   ROUNDS=5 DURATION=10 test/bench/tenant.sh
# On a busy 2-core machine differences under ~5% are noise: read the runs.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
ROWS=${ROWS:-200000}
TENANTS=${TENANTS:-100}
TENANT_K=${TENANT_K:-7}                 # the tenant the clients act for

OPS=(lookup count insert)
VARIANTS=(base rowkeeper hand)
BENCH=$ROOT/test/bench/tenant

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
(( TENANT_K < TENANTS )) || { echo "TENANT_K must be below TENANTS"; exit 2; }

sql() { rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
            "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
sql_value() { sql -At -c "$1"; }

tenant_uuid() { printf '00000000-0000-0000-0000-%012x' "$1"; }

# script OP VARIANT: write the pgbench script for OP on VARIANT's table
script() {
    local op=$1 v=$2 tbl prefix where='' whereonly='' cols='' vals='' out
    case $op in lookup|count) prefix=t ;; insert) prefix=i ;; esac
    case $v in base) tbl=${prefix}_base ;; rowkeeper) tbl=${prefix}_rk ;; hand) tbl=${prefix}_hand ;; esac
    if [ "$v" = base ]; then
        where='AND tenant_id = :tenant'; whereonly='WHERE tenant_id = :tenant'
        cols='tenant_id, '; vals=':tenant, '
    fi
    out=$RK_WORK/scripts/$op-$v.pgbench
    sed -e "s/@TBL@/$tbl/g" -e "s/@SEQ@/${tbl}_seq/g" -e "s/@WHERE@/$where/" \
        -e "s/@WHEREONLY@/$whereonly/" -e "s/@COLS@/$cols/" -e "s/@VALS@/$vals/" \
        "$BENCH/$op.pgbench" > "$out"
    chown postgres: "$out"
    echo "$out"
}

table_of() {
    case $1 in lookup|count) printf 't_' ;; insert) printf 'i_' ;; esac
    case $2 in base) echo base ;; rowkeeper) echo rk ;; hand) echo hand ;; esac
}

start_cluster() {
    rk_workdir bench-tenant
    trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
    rk_start_cluster bench synchronous_commit=off shared_buffers=256MB \
        autovacuum=off max_wal_size=32GB checkpoint_timeout=1d
    rk_as_pg mkdir -p "$RK_WORK/scripts" "$RK_WORK/runs"
}

# the installed module must be this checkout's build
check_module() {
    cmp -s "$ROOT/rowkeeper.so" "$("$PG_CONFIG" --pkglibdir)/rowkeeper.so" \
        || { echo "the installed rowkeeper.so is not this checkout's build"; exit 1; }
}

setup_schema() {
    rk_say "loading $ROWS rows of $TENANTS tenants into each of 3 tables"
    sql -v rows="$ROWS" -v tenants="$TENANTS" -f - < "$BENCH/setup.sql" >/dev/null
    # what the planner does with each variant's queries, for the record
    sql -c "SET ROLE bench_app" -c "SET rowkeeper.tenant = '$(tenant_uuid "$TENANT_K")'" \
        -c "EXPLAIN (COSTS OFF) SELECT val FROM t_rk WHERE id = $TENANT_K" \
        -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM t_rk" \
        -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM t_hand" | sed 's/^/  /'
}

run_one() {
    local round=$1 op=$2 v=$3 tbl out tps n
    tbl=$(table_of "$op" "$v")
    out=$RK_WORK/runs/r$round-$op-$v.txt
    sql -c "VACUUM ANALYZE $tbl" -c "CHECKPOINT"
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=bench_app \
        PGOPTIONS="-c rowkeeper.tenant=$(tenant_uuid "$TENANT_K")" \
        "$PG_BINDIR/pgbench" -n -M prepared -c 2 -j 2 -T "$DURATION" \
        -f "$(script "$op" "$v")" -D tenant="$(tenant_uuid "$TENANT_K")" \
        -D tenant_k="$TENANT_K" -D tenants="$TENANTS" -D per_tenant="$((ROWS / TENANTS))" \
        postgres > "$out" 2>&1 || { cat "$out"; return 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    [ -n "$tps" ] && [ -n "$n" ] || { echo "cannot read pgbench output:"; cat "$out"; return 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$op" "$v" "$tps" "$n" >> "$RESULTS"
    printf '  round %s  %-6s  %-9s  %10.1f tps  (%s transactions)\n' "$round" "$op" "$v" "$tps" "$n"
}

run_rounds() {
    local r op k i
    RESULTS=$RK_WORK/results.tsv
    : > "$RESULTS"
    for (( r = 1; r <= ROUNDS; r++ )); do
        rk_say "round $r of $ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        for op in "${OPS[@]}"; do
            for (( k = 0; k < ${#VARIANTS[@]}; k++ )); do
                i=$(( (k + r - 1) % ${#VARIANTS[@]} ))
                run_one "$r" "$op" "${VARIANTS[$i]}"
            done
        done
    done
}

median() {
    awk -F'\t' -v op="$1" -v v="$2" '$2 == op && $3 == v { print $4 }' "$RESULTS" \
        | sort -g | awk '{ x[NR] = $1 } END {
              m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
              runs = ""; for (i = 1; i <= NR; i++) runs = runs (i > 1 ? ", " : "") sprintf("%.0f", x[i])
              printf "%.1f\t%s\n", m, runs }'
}

# per-round ratios to base, then their median: the rounds share the load
ratio_median() {
    awk -F'\t' -v op="$1" -v v="$2" '
        $2 == op && $3 == "base" { b[$1] = $4 } $2 == op && $3 == v { x[$1] = $4 }
        END { n = 0; for (r in x) if (b[r] > 0) y[++n] = x[r] / b[r]
              for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (y[j] < y[i]) { t = y[i]; y[i] = y[j]; y[j] = t }
              m = (n % 2) ? y[(n + 1) / 2] : (y[n / 2] + y[n / 2 + 1]) / 2
              s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") sprintf("%.2f", y[i])
              printf "%.2f\t%s\n", m, s }' "$RESULTS"
}

report() {
    local op v m runs base r rs target
    rk_say "results: median of $ROUNDS runs of ${DURATION}s, pgbench -M prepared -c 2 -j 2"
    echo
    echo "| op | variant | median tps | vs base (median of per-round ratios) | per-round ratios | runs (tps, sorted) | target |"
    echo "|---|---|---:|---:|---|---|---|"
    for op in "${OPS[@]}"; do
        case $op in lookup) target='>= 0.97' ;; count) target='>= 0.95' ;; insert) target='>= 0.95' ;; esac
        for v in "${VARIANTS[@]}"; do
            IFS=$'\t' read -r m runs < <(median "$op" "$v")
            if [ "$v" = base ]; then r=1.00; rs='-'; else IFS=$'\t' read -r r rs < <(ratio_median "$op" "$v"); fi
            printf '| %s | %s | %.1f | %s | %s | %s | %s |\n' "$op" "$v" "$m" "$r" "$rs" "$runs" \
                "$([ "$v" = rowkeeper ] && echo "$target" || echo '')"
        done
    done
}

# cpu_per_statement: backend CPU time per statement, measured inside one
# backend (cpu_loop() in setup.sql: no client round trip, no commit), which
# other load on the machine barely moves; CPU_REPEATS measurements of
# CPU_N[op] executions each, variants interleaved, median reported.
cpu_per_statement() {
    local r op v n ticks hz
    declare -A CPU_N=([lookup]=${CPU_LOOKUPS:-200000} [count]=${CPU_COUNTS:-10000} [insert]=${CPU_INSERTS:-100000})
    hz=$(getconf CLK_TCK)
    CPU=$RK_WORK/cpu.tsv
    : > "$CPU"
    rk_say "CPU per statement inside one backend (${CPU_REPEATS:-3} x, median)"
    for (( r = 1; r <= ${CPU_REPEATS:-3}; r++ )); do
        for op in "${OPS[@]}"; do
            n=${CPU_N[$op]}
            for v in "${VARIANTS[@]}"; do
                ticks=$(sql -At -c "SET ROLE bench_app" \
                    -c "SET rowkeeper.tenant = '$(tenant_uuid "$TENANT_K")'" \
                    -c "SELECT cpu_loop('$op', '$v', $n, '$(tenant_uuid "$TENANT_K")', $TENANT_K, $TENANTS, $((ROWS / TENANTS)))" \
                    | tail -n 1)
                printf '%s\t%s\t%s\n' "$op" "$v" \
                    "$(awk -v t="$ticks" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.3f", t / hz * 1e6 / n }')" >> "$CPU"
            done
        done
    done
    echo
    echo "| op | base µs | rowkeeper µs | hand µs | rowkeeper - base | hand - base |"
    echo "|---|---:|---:|---:|---:|---:|"
    for op in "${OPS[@]}"; do
        awk -F'\t' -v op="$op" '
            function med(v,   a, n, i, j, t) { n = split(x[v], a, " ")
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            $1 == op { x[$2] = x[$2] " " $3 }
            END { b = med("base"); r = med("rowkeeper"); h = med("hand")
                  printf "| %s | %.2f | %.2f | %.2f | %+.2f | %+.2f |\n", op, b, r, h, r - b, h - b }' "$CPU"
    done
}

# every INSERT landed with the client's tenant
check_inserts() {
    local v tbl
    rk_say "inserted rows carry the tenant"
    for v in "${VARIANTS[@]}"; do
        tbl=$(table_of insert "$v")
        sql_value "SELECT '  $tbl: ' || count(*) || ' rows, '
                          || count(*) FILTER (WHERE tenant_id <> '$(tenant_uuid "$TENANT_K")') || ' of another tenant'
                     FROM $tbl"
    done
}

rk_install_deps
rk_build
check_module
start_cluster
setup_schema
run_rounds
report
cpu_per_statement
check_inserts
rk_say "bench finished; cluster stopped and removed"
