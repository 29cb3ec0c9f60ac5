#!/usr/bin/env bash
# test/citus_setup.sh: install Citus 13.2.2 for the server under test, when
# Citus supports its major version (15 and 17 here; Citus 13.2 has no
# PostgreSQL 18), so that test/t/082_citus.pl runs instead of skipping.
# Called by test/check.sh after the build, as root, with PG_CONFIG set;
# uses ../shared/citus/build.sh (cached: nothing to do when installed).
# Fails when the build fails on a major Citus supports; on others the TAP
# test skips with the reason.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
major=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
build=${CITUS_BUILD_SH:-$ROOT/../shared/citus/build.sh}
case "$major" in
    15|17) ;;
    *) echo "citus_setup: Citus 13.2 does not support PostgreSQL $major; 082_citus.pl will skip"; exit 0 ;;
esac
if [ ! -f "$build" ]; then
    echo "citus_setup: $build not found; 082_citus.pl will skip"
    exit 0
fi
if ! PG_CONFIG="$PG_CONFIG" bash "$build"; then
    echo "citus_setup: building Citus for PostgreSQL $major failed"; exit 1
fi
exit 0
