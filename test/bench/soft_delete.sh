#!/usr/bin/env bash
# test/bench/soft_delete.sh: what rowkeeper's soft delete costs, for the two
# targets of the soft-delete issue.
#
# What is measured (pgbench TPS, ratios to a baseline of the same run); every
# statement runs as the application role bench_app (not a superuser, who
# would bypass the row-level security that hides deleted rows)
#   delete   single-row soft DELETE transactions, one table per variant:
#              update     the application issues UPDATE t SET deleted_at = now()
#                         WHERE id = ... itself, on a plain table
#              updlive    the same with AND deleted_at IS NULL (what a correct
#                         hand-written soft delete runs): the baseline
#              plpgsql    DELETE on a table with the usual PL/pgSQL BEFORE DELETE
#                         trigger that marks the row and returns NULL (DELETE 0)
#              rowkeeper  DELETE on a table of rowkeeper.enable_soft_delete()
#                         (DELETE 1), rowkeeper preloaded: the DELETE runs as
#                         the marking UPDATE of the table
#                         (src/soft_delete_rewrite.c), under the hiding policy
#            target: rowkeeper >= 0.95x updlive
#   read     a live row by primary key, 10 % of the rows deleted:
#              explicit   a plain table, "AND deleted_at IS NULL" written by
#                         hand (baseline)
#              rowkeeper  a soft-delete table, the hiding policy adds it
#            each with pgbench -M simple (parsed and planned every time) and
#            -M prepared (plan cached)
#            target: rowkeeper >= 0.95x explicit (plans checked with EXPLAIN
#            before the runs: the primary key, and the same filter)
#
# How
#   PostgreSQL 15, one throwaway cluster (test/lib.sh) with
#   shared_preload_libraries=rowkeeper (as README recommends), synchronous_commit=off,
#   shared_buffers=256MB, autovacuum off, no timed checkpoint; every run starts
#   after VACUUM ANALYZE of its table and a CHECKPOINT.  pgbench -n -c 2 -j 2
#   -T DURATION.  ROUNDS rounds; in each, every (test, variant) runs once, the
#   variant order rotated from round to round.  Reported: median TPS and its
#   ratio to the baseline of the same test.
#
# Usage (root; installs what is missing, builds and installs rowkeeper from
# this checkout, into $PG_CONFIG's installation):
#   test/bench/soft_delete.sh
#   ROUNDS=5 DURATION=10 test/bench/soft_delete.sh
#   CALLGRIND=1 test/bench/soft_delete.sh    # also instruction counts (slow)
#   CALLGRIND=1 CG_KEEP=/tmp/cg test/bench/soft_delete.sh   # and keep the profiles
#   ROUNDS=0 CALLGRIND=1 CG_VARIANTS="update-p rowkeeper-p" test/bench/soft_delete.sh
#                                             # instruction counts only, some variants
#
# Instruction counts (CALLGRIND=1) do not depend on the machine's load: after
# the timed runs the cluster is stopped and, per variant, a single-user
# backend (postgres --single, one transaction per statement, simple protocol,
# SET ROLE bench_app first) runs CG_STATEMENTS statements under valgrind --tool=callgrind on a fresh
# copy of the database, and once only CG_WARM warm-up statements; the
# difference divided by CG_STATEMENTS is the cost of one statement, parse,
# plan, execution and commit included.  A second table splits each statement
# (same all - warm difference, callgrind_annotate --inclusive) into: parse
# and rewrite, planning, rowkeeper's cascade trigger (all of it), and the
# row's writes (heap_update + index insertions), which any marking must do.
# The -p variants PREPARE the
# statement once and EXECUTE it, as drivers with server-side prepared
# statements do (the plan is cached).
# On a 2-core machine with other load, runs vary by 15-20 %: compare ratios,
# look at the spread, treat differences under 10 % as noise.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
DEL_ROWS=${DEL_ROWS:-1000003}
READ_ROWS=${READ_ROWS:-100000}
CALLGRIND=${CALLGRIND:-0}
CG_STATEMENTS=${CG_STATEMENTS:-2000}
CG_WARM=${CG_WARM:-100}
CG_VARIANTS=${CG_VARIANTS:-update updlive plpgsql rowkeeper update-p updlive-p plpgsql-p rowkeeper-p explicit read explicit-p read-p}
BENCH=$ROOT/test/bench/soft_delete

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }
(( DEL_ROWS % 7919 != 0 )) || { echo "DEL_ROWS must not be a multiple of 7919"; exit 2; }

# test:variant:script:table:pgbench mode
RUNS=(delete:update:update:del_update:simple
      delete:updlive:update_live:del_updlive:simple
      delete:plpgsql:delete:del_plpgsql:simple
      delete:rowkeeper:delete:del_rowkeeper:simple
      delete-prepared:update:update:del_update:prepared
      delete-prepared:updlive:update_live:del_updlive:prepared
      delete-prepared:plpgsql:delete:del_plpgsql:prepared
      delete-prepared:rowkeeper:delete:del_rowkeeper:prepared
      read-simple:explicit:read_explicit:rd_plain:simple
      read-simple:rowkeeper:read_rowkeeper:rd:simple
      read-prepared:explicit:read_explicit:rd_plain:prepared
      read-prepared:rowkeeper:read_rowkeeper:rd:prepared)
TESTS=(delete delete-prepared read-simple read-prepared)
declare -A BASELINE=([delete]=updlive [delete-prepared]=updlive [read-simple]=explicit [read-prepared]=explicit)

sql() {
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}
sql_value() { sql -At -c "$1"; }

start_cluster() {
    rk_workdir bench-soft-delete
    trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
    rk_start_cluster bench synchronous_commit=off shared_buffers=256MB \
        autovacuum=off max_wal_size=32GB checkpoint_timeout=1d shared_preload_libraries=rowkeeper
    rk_as_pg mkdir -p "$RK_WORK/scripts" "$RK_WORK/runs"
    cp "$BENCH"/*.pgbench "$RK_WORK/scripts/"
    chown -R postgres: "$RK_WORK/scripts"
}

setup_schema() {
    rk_say "loading $((5 * DEL_ROWS + READ_ROWS)) rows"
    sql -c "CREATE EXTENSION rowkeeper"
    sql -v del_rows="$DEL_ROWS" -v read_rows="$READ_ROWS" -f - < "$BENCH/setup.sql"
    sql -c "VACUUM ANALYZE"
    rk_say "plans of the read queries, as bench_app (the primary key, the same filter)"
    sql -c "SET ROLE bench_app" -c "EXPLAIN (COSTS OFF) SELECT id, name, note FROM rd WHERE id = 42" \
        -c "EXPLAIN (COSTS OFF) SELECT id, name, note FROM rd_plain WHERE id = 42 AND deleted_at IS NULL" \
        | tee "$RK_WORK/plans.txt"
    [ "$(grep -c 'Index Scan using rd.*_pkey' "$RK_WORK/plans.txt")" = 2 ] \
        && [ "$(grep -c 'Filter: (deleted_at IS NULL)$' "$RK_WORK/plans.txt")" = 2 ] \
        || { echo "the read plans differ"; exit 1; }
    # what each DELETE variant reports to the client
    rk_say "command tags"
    for t in del_update del_updlive del_plpgsql del_rowkeeper; do
        printf '  %-14s %s\n' "$t" "$(sql -c "SET ROLE bench_app" -c '\set QUIET off' -c "BEGIN" -c \
            "$(case $t in del_update) echo "UPDATE $t SET deleted_at = now() WHERE id = 1" ;;
                          del_updlive) echo "UPDATE $t SET deleted_at = now() WHERE id = 1 AND deleted_at IS NULL" ;;
                          *) echo "DELETE FROM $t WHERE id = 1" ;; esac)" -c "ROLLBACK" | sed -n 2p)"
    done
}

run_one() {     # run_one ROUND test:variant:script:table:mode
    local round=$1 test variant script tbl mode out tps
    IFS=: read -r test variant script tbl mode <<< "$2"
    out=$RK_WORK/runs/r$round-$test-$variant.txt
    sql -c "VACUUM ANALYZE $tbl" -c "CHECKPOINT"
    # names and sizes go into the script as text: with -M prepared, pgbench
    # would send :variables as parameters, which cannot name a table
    sed -e "s/:tbl/$tbl/g" -e "s/:seq/${tbl}_seq/g" -e "s/:del_rows/$DEL_ROWS/g" \
        -e "s/:read_rows/$READ_ROWS/g" "$RK_WORK/scripts/$script.pgbench" \
        > "$RK_WORK/scripts/run-$test-$variant.pgbench"
    rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=bench_app \
        "$PG_BINDIR/pgbench" -n -M "$mode" -f "$RK_WORK/scripts/run-$test-$variant.pgbench" \
        -c 2 -j 2 -T "$DURATION" postgres >"$out" 2>&1 || { cat "$out"; return 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
    [ -n "$tps" ] || { echo "cannot read pgbench output:"; cat "$out"; return 1; }
    printf '%s\t%s\t%s\t%s\n' "$round" "$test" "$variant" "$tps" >> "$RESULTS"
    printf '  round %s  %-13s  %-9s  %10.1f tps\n' "$round" "$test" "$variant" "$tps"
}

run_rounds() {
    local r test k i n
    RESULTS=$RK_WORK/results.tsv
    : > "$RESULTS"
    for (( r = 1; r <= ROUNDS; r++ )); do
        rk_say "round $r of $ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        for test in "${TESTS[@]}"; do
            local these=()
            for k in "${RUNS[@]}"; do [ "${k%%:*}" = "$test" ] && these+=("$k"); done
            n=${#these[@]}
            for (( k = 0; k < n; k++ )); do
                i=$(( (k + r - 1) % n ))
                run_one "$r" "${these[$i]}"
            done
        done
    done
}

median() {      # median TEST VARIANT -> "median<TAB>runs"
    awk -F'\t' -v t="$1" -v v="$2" '$2 == t && $3 == v { print $4 }' "$RESULTS" \
        | sort -g | awk '{ x[NR] = $1 } END {
              m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
              runs = ""; for (i = 1; i <= NR; i++) runs = runs (i > 1 ? ", " : "") sprintf("%.0f", x[i])
              printf "%.1f\t%s\n", m, runs }'
}

report() {
    local k test variant base m runs
    rk_say "results: median of $ROUNDS runs of ${DURATION}s, pgbench -c 2 -j 2"
    echo
    echo "| test | variant | median tps | vs baseline | runs (tps, sorted) |"
    echo "|---|---|---:|---:|---|"
    for k in "${RUNS[@]}"; do
        IFS=: read -r test variant _ <<< "$k"
        base=$(median "$test" "${BASELINE[$test]}" | cut -f1)
        IFS=$'\t' read -r m runs < <(median "$test" "$variant")
        printf '| %s | %s | %.1f | %.2f | %s |\n' "$test" "$variant" "$m" \
            "$(awk -v a="$m" -v b="$base" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$runs"
    done
    for t in del_update del_updlive del_plpgsql del_rowkeeper; do
        (( $(sql_value "SELECT last_value FROM ${t}_seq") < DEL_ROWS )) \
            || echo "WARNING: $t drew more ids than its $DEL_ROWS rows (later DELETEs found nothing): raise DEL_ROWS"
    done
    echo
    echo "rows marked: $(sql_value "SELECT string_agg(t || '=' || n, ', ') FROM (
        SELECT 'del_update' t, count(*) n FROM del_update WHERE deleted_at IS NOT NULL UNION ALL
        SELECT 'del_updlive', count(*) FROM del_updlive WHERE deleted_at IS NOT NULL UNION ALL
        SELECT 'del_plpgsql', count(*) FROM del_plpgsql WHERE deleted_at IS NOT NULL UNION ALL
        SELECT 'del_rowkeeper', count(*) FROM del_rowkeeper WHERE deleted_at IS NOT NULL) s")"
}

# statements VARIANT FIRST COUNT: COUNT statements of VARIANT for the
# single-user backend, on ids drawn like the pgbench scripts draw them
statements() {
    local v=$1 first=$2 count=$3
    case $v in      # the -p variants: one PREPARE, then EXECUTE (plan cached)
        update-p)    echo "PREPARE s(int) AS UPDATE del_update SET deleted_at = now() WHERE id = \$1;" ;;
        updlive-p)   echo "PREPARE s(int) AS UPDATE del_updlive SET deleted_at = now() WHERE id = \$1 AND deleted_at IS NULL;" ;;
        plpgsql-p)   echo "PREPARE s(int) AS DELETE FROM del_plpgsql WHERE id = \$1;" ;;
        rowkeeper-p) echo "PREPARE s(int) AS DELETE FROM del_rowkeeper WHERE id = \$1;" ;;
        explicit-p)  echo "PREPARE s(int) AS SELECT id, name, note FROM rd_plain WHERE id = \$1 AND deleted_at IS NULL;" ;;
        read-p)      echo "PREPARE s(int) AS SELECT id, name, note FROM rd WHERE id = \$1;" ;;
    esac
    awk -v v="$v" -v first="$first" -v count="$count" -v rows="$DEL_ROWS" -v rrows="$READ_ROWS" 'BEGIN {
        for (k = first; k < first + count; k++) {
            id = 1 + (k * 7919) % rows; code = 1 + (k * 7919) % rrows
            if (v == "update")    print "UPDATE del_update SET deleted_at = now() WHERE id = " id ";"
            if (v == "updlive")   print "UPDATE del_updlive SET deleted_at = now() WHERE id = " id " AND deleted_at IS NULL;"
            if (v == "plpgsql")   print "DELETE FROM del_plpgsql WHERE id = " id ";"
            if (v == "rowkeeper") print "DELETE FROM del_rowkeeper WHERE id = " id ";"
            if (v == "explicit")  print "SELECT id, name, note FROM rd_plain WHERE id = " code " AND deleted_at IS NULL;"
            if (v == "read")      print "SELECT id, name, note FROM rd WHERE id = " code ";"
            if (v == "update-p")    print "EXECUTE s(" id ");"
            if (v == "updlive-p")   print "EXECUTE s(" id ");"
            if (v == "plpgsql-p")   print "EXECUTE s(" id ");"
            if (v == "rowkeeper-p") print "EXECUTE s(" id ");"
            if (v == "explicit-p")  print "EXECUTE s(" code ");"
            if (v == "read-p")      print "EXECUTE s(" code ");"
        } }'
}

instructions() {    # instructions: the CALLGRIND=1 part, see the header
    local v m n0 n1 dir=$RK_WORK/callgrind
    rk_say "instruction counts (valgrind --tool=callgrind, $CG_STATEMENTS statements per variant)"
    rk_as_pg mkdir -p "$dir"
    for v in $CG_VARIANTS; do
        for m in warm all; do sql -d template1 -c "CREATE DATABASE cg_${v//-/_}_$m TEMPLATE cg_template"; done
        { echo "SET ROLE bench_app;"; statements "$v" 1000000 "$CG_WARM"; } > "$dir/$v-warm.sql"
        { echo "SET ROLE bench_app;"; statements "$v" 1000000 "$CG_WARM"
          statements "$v" 2000000 "$CG_STATEMENTS" | grep -v '^PREPARE'; } > "$dir/$v-all.sql"
    done
    chown -R postgres: "$dir"
    rk_stop_clusters
    echo
    echo "| test | variant | instructions per statement | vs baseline |"
    echo "|---|---|---:|---:|"
    for v in $CG_VARIANTS; do
        for m in warm all; do
            rk_as_pg env TMPDIR="$dir" valgrind --tool=callgrind --callgrind-out-file="$dir/$v-$m.out" \
                "$PG_BINDIR/postgres" --single -D "$RK_WORK/bench" -c fsync=off \
                -c shared_preload_libraries=rowkeeper -c synchronous_commit=off "cg_${v//-/_}_$m" < "$dir/$v-$m.sql" \
                > "$dir/$v-$m.log" 2> "$dir/$v-$m.err" || true   # exit status: see the checks
            grep -q 'Collected :' "$dir/$v-$m.err" || { echo "$v $m: valgrind failed:"; tail "$dir/$v-$m.err"; exit 1; }
            grep -q ERROR "$dir/$v-$m.log" "$dir/$v-$m.err" && { echo "$v $m failed:"; grep ERROR "$dir/$v-$m.log" "$dir/$v-$m.err" | head; exit 1; }
        done
        n0=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/$v-warm.err")
        n1=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/$v-all.err")
        echo "$v $(( (n1 - n0) / CG_STATEMENTS ))" >> "$dir/per-statement.txt"
    done
    awk '{ n[$1] = $2 } END {
        split("delete update|delete updlive|delete plpgsql|delete rowkeeper|delete-prepared update-p|delete-prepared updlive-p|delete-prepared plpgsql-p|delete-prepared rowkeeper-p|read-simple explicit|read-simple read|read-prepared explicit-p|read-prepared read-p", r, "|")
        for (i = 1; i <= 12; i++) { split(r[i], f, " ")
            base = (f[1] ~ /^delete/) ? "updlive" : "explicit"; if (f[1] ~ /prepared/) base = base "-p"
            if (!(f[2] in n) || !(base in n)) continue
            printf "| %s | %s | %d | %.2f |\n", f[1], f[2], n[f[2]], n[base] / n[f[2]] } }' "$dir/per-statement.txt"
    echo
    echo "(\"vs baseline\" is baseline instructions / variant instructions: above 1 is cheaper)"
    echo
    echo "Where the instructions of one statement go (inclusive, per statement):"
    echo
    echo "| variant | total | parse+rewrite | plan | cascade trigger | heap_update | index inserts |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for v in $CG_VARIANTS; do
        for m in all warm; do
            callgrind_annotate --inclusive=yes --threshold=100 "$dir/$v-$m.out" 2>/dev/null \
                | perl -ne 'print "$2\t$1\n" if /^\s*([0-9,]+) \([ 0-9.]+%\)\s+\S*?:(\S+) \[/' \
                | tr -d , > "$dir/$v-$m.incl"
        done
        awk -F'\t' -v v="$v" -v n="$CG_STATEMENTS" '
            FNR == NR { w[$1] = $2; next }
            { a[$1] = $2 }
            END {
                split("PostgresMain pg_analyze_and_rewrite_fixedparams pg_plan_queries soft_delete_trigger heap_update ExecInsertIndexTuples", k, " ")
                for (i = 1; i <= 6; i++) c[i] = (a[k[i]] - w[k[i]]) / n
                printf "| %s | %d | %d | %d | %d | %d | %d |\n", v, c[1], c[2], c[3], c[4], c[5], c[6] }' \
            "$dir/$v-warm.incl" "$dir/$v-all.incl"
    done
    if [ -n "${CG_KEEP:-}" ]; then     # keep the callgrind files (callgrind_annotate)
        mkdir -p "$CG_KEEP" && cp "$dir"/*.out "$dir"/per-statement.txt "$CG_KEEP"/
        echo "callgrind files kept in $CG_KEEP"
    fi
}

rk_install_deps
[ "$CALLGRIND" = 0 ] || rk_install_deps valgrind
rk_build
start_cluster
setup_schema
# the callgrind runs start from the freshly loaded tables
[ "$CALLGRIND" = 0 ] || sql -d template1 -c "CREATE DATABASE cg_template TEMPLATE postgres"
if (( ROUNDS > 0 )); then
    run_rounds
    report
fi
[ "$CALLGRIND" = 0 ] || instructions
rk_say "bench finished; cluster stopped and removed"
