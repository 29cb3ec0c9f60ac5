#!/usr/bin/env bash
# test/demo.sh: the main job, on a fresh Debian 12 machine as root.
#
# Installs what is missing, builds and installs rowkeeper, starts a
# throwaway PostgreSQL cluster (postgres OS user, temp directory, unix
# socket only), runs test/demo.sql on a small SaaS schema (tenants, users,
# posts) showing every capability that exists so far, and stops the cluster.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and the extension)"; exit 2; }

rk_install_deps
rk_build
rk_workdir demo
trap 'rk_stop_clusters; rk_stop_stale "$RK_WORK"' EXIT
rk_start_cluster demo
rk_say "demo: test/demo.sql on a throwaway cluster ($PGHOST)"
rk_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" \
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - < "$ROOT/test/demo.sql"
rk_say "demo finished; cluster stopped and removed"
