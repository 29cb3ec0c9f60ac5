#!/usr/bin/env bash
# test/bench/updated_at.sh: what keeping updated_at current costs on UPDATE.
#
# Measures the throughput (TPS) of single-row UPDATE transactions on a
# 100,000-row table with pgbench, for four ways of maintaining updated_at,
# each on its own identical table (see updated_at_setup.sql):
#
#   baseline     no trigger; the statement sets updated_at = now() itself
#   moddatetime  contrib moddatetime BEFORE UPDATE trigger
#   plpgsql      PL/pgSQL BEFORE UPDATE trigger (NEW.updated_at := now())
#   rowkeeper    rowkeeper.enable_updated_at('t_rk'), defaults
#
# Every transaction is one `UPDATE t_x SET val = val + 1 [...] WHERE id = :id`
# with :id uniform in 1..100000 (updated_at_<variant>.pgbench), run by
# pgbench -c 2 -j 2 on PostgreSQL 15 with synchronous_commit=off.
#
# How: build and install rowkeeper from this checkout, start a throwaway
# cluster (postgres OS user, unix socket only), load the tables, VACUUM
# ANALYZE, warm each variant up, then ROUNDS rounds; each round runs every
# variant once for DURATION seconds, the order rotated by one each round so
# that no variant always runs first or right after the same neighbour.
# Autovacuum is off for the four tables; instead, before every run the
# table is VACUUMed and a CHECKPOINT taken, so each run starts from the same
# kind of state and no run pays for another table's vacuum.  The machine's
# noise is spread over all variants; the report gives, per variant, the
# median TPS, its ratio to the baseline median, and every round's figure.
# After the runs it checks that every updated row got a new updated_at.
#
# rowkeeper.so is installed machine-wide, so another checkout's build (its
# test/check.sh or benchmark) replaces it; the script stops with an error if
# that happens during the benchmark rather than measure another build.  Run
# it alone on the machine: anything else running shows in the figures.
#
# Usage (root, fresh Debian 12 is fine):
#   bash test/bench/updated_at.sh
#   ROUNDS=7 DURATION=20 WARMUP=5 bash test/bench/updated_at.sh
# Env: ROUNDS (5), DURATION seconds per run (10), WARMUP seconds per
# variant (3), CLIENTS (2), MODE pgbench query mode (simple).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/../lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-2}
MODE=${MODE:-simple}
VARIANTS=(baseline moddatetime plpgsql rowkeeper)
declare -A TABLE=([baseline]=t_base [moddatetime]=t_mod [plpgsql]=t_plpgsql [rowkeeper]=t_rk)
declare -A TPS=()     # variant -> space-separated TPS of each round, in round order

# check_prerequisites: what the benchmark needs besides rowkeeper itself.
check_prerequisites() {
    local f
    for f in "/usr/share/postgresql/$PG_MAJOR/extension/moddatetime.control" \
             "$PG_BINDIR/pgbench"; do
        [ -e "$f" ] || { echo "missing $f (package postgresql-$PG_MAJOR)"; exit 1; }
    done
}

# pg_psql ARGS...: psql as postgres on the benchmark cluster.
pg_psql() {
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

# setup_tables: the four tables, their triggers, the data; the pgbench
# scripts are copied where the postgres user can read them.
setup_tables() {
    rk_say "loading 4 x 100000 rows"
    pg_psql -f - < "$BENCH_DIR/updated_at_setup.sql"
    pg_psql -c "SELECT table_name, column_name, clock, keep_explicit, skip_noop, on_insert
                  FROM rowkeeper.updated_at_tables" -P footer=off
    cp "$BENCH_DIR"/updated_at_*.pgbench "$RK_WORK/"
    chown postgres: "$RK_WORK"/updated_at_*.pgbench
}

# check_installed_library: the installed rowkeeper.so must still be the one
# rk_build made from this checkout.  The install directory is shared by the
# whole machine: another checkout's build (test/check.sh, another benchmark)
# running meanwhile replaces it, and the rowkeeper figures would then be of
# that code (and would compete with that build for the CPU).
check_installed_library() {
    local installed
    installed=$("$PG_CONFIG" --pkglibdir)/rowkeeper.so
    cmp -s "$ROOT/rowkeeper.so" "$installed" || {
        echo "$installed is no longer the one built from $ROOT:" \
             "another build installed over it during the benchmark; run it again alone" >&2
        exit 1
    }
}

# prepare_run VARIANT: same starting conditions for every run.
prepare_run() {
    check_installed_library
    pg_psql -c "VACUUM ${TABLE[$1]}" -c "CHECKPOINT"
}

# pgbench_tps VARIANT SECONDS: run the variant's script, print its TPS.
pgbench_tps() {
    local variant=$1 seconds=$2 out tps
    out=$(rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" \
        "$PG_BINDIR/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -M "$MODE" -T "$seconds" \
        -f "$RK_WORK/updated_at_$variant.pgbench" postgres 2>&1) \
        || { echo "$out" >&2; return 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
    if [ -z "$tps" ] || ! grep -q '^number of failed transactions: 0 ' <<<"$out"; then
        echo "$out" >&2
        echo "pgbench run of $variant failed or reported no TPS" >&2
        return 1
    fi
    echo "$tps"
}

# warm_up: one short unmeasured run per variant (caches, plpgsql compiled,
# rowkeeper.so loaded, tables' pages dirtied once).
warm_up() {
    local v tps
    rk_say "warm-up: ${WARMUP}s per variant"
    for v in "${VARIANTS[@]}"; do
        prepare_run "$v"
        tps=$(pgbench_tps "$v" "$WARMUP")
        printf '  %-12s %10s tps (discarded)\n' "$v" "$tps"
    done
}

# run_rounds: ROUNDS rounds, each variant once per round, order rotated.
run_rounds() {
    local r i n=${#VARIANTS[@]} v tps
    for ((r = 0; r < ROUNDS; r++)); do
        rk_say "round $((r + 1))/$ROUNDS"
        for ((i = 0; i < n; i++)); do
            v=${VARIANTS[(i + r) % n]}
            prepare_run "$v"
            tps=$(pgbench_tps "$v" "$DURATION")
            TPS[$v]="${TPS[$v]:-} $tps"
            printf '  %-12s %10s tps  (ended %s)\n' "$v" "$tps" "$(date +%T)"
        done
    done
}

# check_stamped: every row a variant updated (val > 0) got a new updated_at,
# so each variant really did the work it is measured for.
check_stamped() {
    local v bad
    for v in "${VARIANTS[@]}"; do
        bad=$(pg_psql -At -c "SELECT count(*) FROM ${TABLE[$v]}
                               WHERE val > 0 AND updated_at <= '2024-01-01 00:00:00+00'")
        [ "$bad" = 0 ] || { echo "$v: $bad updated rows kept the old updated_at"; exit 1; }
    done
}

# median NUMBERS...: the middle value (mean of the two middle ones if even).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) printf "%.1f", a[(NR + 1) / 2];
              else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# report: the markdown table.
report() {
    local v med base all
    local -a vals
    read -ra vals <<<"${TPS[baseline]}"
    base=$(median "${vals[@]}")
    rk_say "results"
    echo "PostgreSQL $("$PG_BINDIR/postgres" -V | awk '{print $3}'), pgbench -c $CLIENTS -j $CLIENTS -M $MODE," \
         "$ROUNDS rounds x ${DURATION}s, synchronous_commit=off, single-row UPDATE on 100000 rows"
    echo
    echo "| variant | median tps | ratio to baseline | all rounds' tps |"
    echo "|---|---:|---:|---|"
    for v in "${VARIANTS[@]}"; do
        read -ra vals <<<"${TPS[$v]}"
        med=$(median "${vals[@]}")
        all=$(printf '%s\n' "${vals[@]}" | awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }')
        printf '| %s | %s | %s | %s |\n' "$v" "$med" \
            "$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.3f", m / b }')" "$all"
    done
}

# shellcheck disable=SC2119  # rk_install_deps and rk_build take optional extras
main() {
    [ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
    rk_install_deps
    check_prerequisites
    rk_build
    rk_workdir bench-updated-at
    trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
    rk_start_cluster bench synchronous_commit=off shared_buffers=256MB
    setup_tables
    warm_up
    run_rounds
    check_installed_library
    check_stamped
    report
}

main
