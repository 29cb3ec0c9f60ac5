# test/lib.sh: shared by test/demo.sh, test/check.sh and test/bench/*.sh.
#
# Installs what is missing (Debian packages), builds and installs rowkeeper
# as root, and runs throwaway PostgreSQL clusters as the postgres OS user in
# a fixed work directory, on a unix socket only (no TCP listener at all).
# A run first clears whatever an interrupted earlier run left in its work
# directory (postmasters included), and stops what it started on exit.
#
# Source it; it defines functions and sets nothing else but ROOT, RK_PG_BUILD
# and PG_* (PG_MAJOR, PG_CONFIG, PG_BINDIR).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Majors that Debian does not package are built from the pinned upstream
# sources in ../shared/postgres (beside the checkout) by its build.sh, into
# /opt/rowkeeper-pg/MAJOR; see ../shared/postgres/README.md.
RK_PG_BUILD=$ROOT/../shared/postgres/build.sh

# rk_pg_major PG_CONFIG: the major version of the server of that pg_config.
rk_pg_major() {
    "$1" --version 2>/dev/null | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p' || true
}

# rk_default_pg_config MAJOR: that major's pg_config when nothing says
# otherwise: build.sh's prefix when ../shared/postgres pins a source for it
# (17, 18), else Debian's package (15).
rk_default_pg_config() {
    if compgen -G "$(dirname "$RK_PG_BUILD")/postgresql-$1_*.orig.tar.bz2" >/dev/null; then
        echo "/opt/rowkeeper-pg/$1/bin/pg_config"
    else
        echo "/usr/lib/postgresql/$1/bin/pg_config"
    fi
}

# rk_use_pg MAJOR [PG_CONFIG]: build against and run that server from now
# on.  PG_CONFIG may point at a relocated copy of the server (a private
# install target for parallel work); its bindir is then the one used.
# Before the server is installed, the bindir beside pg_config is assumed.
rk_use_pg() {
    export PG_MAJOR=$1
    export PG_CONFIG=${2:-$(rk_default_pg_config "$1")}
    PG_BINDIR=$("$PG_CONFIG" --bindir 2>/dev/null || dirname "$PG_CONFIG")
}

# PG_MAJOR (default 15) selects a major, PG_CONFIG a server (its major
# then follows from it).
if [ -n "${PG_CONFIG:-}" ] && [ -z "${PG_MAJOR:-}" ]; then
    PG_MAJOR=$(rk_pg_major "$PG_CONFIG")
fi
rk_use_pg "${PG_MAJOR:-15}" "${PG_CONFIG:-}"

rk_say() { printf '\n=== %s\n' "$*"; }

# rk_install_deps [extra debian packages...]: what the scripts need, and
# the server: Debian's packages (with pg_cron), or for a major built from
# ../shared/postgres, build.sh (about 4 minutes the first time, then
# nothing).  A PG_CONFIG given explicitly is used as it is.
rk_install_deps() {
    local want=(make gcc libipc-run-perl perl pgbouncer "$@")
    local debian=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config built
    if [ "$(rk_default_pg_config "$PG_MAJOR")" = "$debian" ]; then
        want+=("postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
               "postgresql-client-$PG_MAJOR" "postgresql-$PG_MAJOR-cron")
    fi
    local missing=() p
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        rk_say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ "$PG_CONFIG" = "$(rk_default_pg_config "$PG_MAJOR")" ] && [ "$PG_CONFIG" != "$debian" ]; then
        [ -x "$PG_CONFIG" ] || rk_say "building PostgreSQL $PG_MAJOR with $RK_PG_BUILD (about 4 minutes)"
        built=$(bash "$RK_PG_BUILD" "$PG_MAJOR" | tail -n 1) \
            || { echo "could not build PostgreSQL $PG_MAJOR"; return 1; }
        rk_use_pg "$PG_MAJOR" "$built"
    fi
}

# rk_build: warning-free build (-Werror is in the Makefile) and install.
rk_build() {
    rk_say "building and installing rowkeeper"
    make -C "$ROOT" -s clean >/dev/null
    make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" "$@"
    make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# rk_kill_postmasters DIR: stop every postmaster whose data directory is
# under DIR (TAP nodes, or clusters an interrupted run left behind).
rk_kill_postmasters() {
    local dir=$1 pidfile pid
    [ -d "$dir" ] || return 0
    while IFS= read -r pidfile; do
        pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            echo "stopping stale postmaster $pid ($(dirname "$pidfile"))"
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done < <(find "$dir" -name postmaster.pid 2>/dev/null)
}

# rk_stop_stale DIR: what an earlier run left in DIR goes, servers first.
rk_stop_stale() {
    rk_kill_postmasters "$1"
    rm -rf "$1"
}

# rk_workdir NAME: a fresh work directory owned by postgres, in $RK_WORK
# ($TMPDIR/rowkeeper-NAME-MAJOR: each major has its own).
rk_workdir() {
    RK_WORK=${TMPDIR:-/tmp}/rowkeeper-$1-$PG_MAJOR
    rk_stop_stale "$RK_WORK"
    mkdir -p "$RK_WORK"
    chown postgres: "$RK_WORK"
    chmod 700 "$RK_WORK"
}

rk_as_pg() { runuser -u postgres -- "$@"; }

# rk_start_cluster NAME [postgres -c options...]: initdb and start a cluster
# in $RK_WORK/NAME, socket in $RK_WORK/NAME.sock; exports PGHOST/PGPORT/PGUSER.
rk_start_cluster() {
    local name=$1; shift
    local data=$RK_WORK/$name sock=$RK_WORK/$name.sock opts=() o
    rk_as_pg mkdir -p "$sock"
    rk_as_pg "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust --no-sync \
        -E UTF8 --locale=C.UTF-8 >"$RK_WORK/$name.initdb.log" 2>&1 \
        || { cat "$RK_WORK/$name.initdb.log"; return 1; }
    for o in "listen_addresses=''" "unix_socket_directories='$sock'" "port=5432" \
             "fsync=off" "$@"; do
        opts+=("-c $o")
    done
    rk_as_pg "$PG_BINDIR/pg_ctl" -D "$data" -l "$RK_WORK/$name.log" -w -t 60 \
        -o "${opts[*]}" start >/dev/null \
        || { cat "$RK_WORK/$name.log"; return 1; }
    RK_CLUSTERS+=("$data")
    export PGHOST=$sock PGPORT=5432 PGUSER=postgres
}

# rk_stop_clusters: stop what rk_start_cluster started (installed as a trap).
rk_stop_clusters() {
    local d
    for d in "${RK_CLUSTERS[@]}"; do
        [ -f "$d/postmaster.pid" ] && \
            rk_as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 || true
    done
    RK_CLUSTERS=()
}
RK_CLUSTERS=()

# rk_copy_tree DEST: a copy of the checkout that the postgres user owns
# (pg_regress and the TAP framework write next to the tests).
rk_copy_tree() {
    local dest=$1
    mkdir -p "$dest"
    tar -C "$ROOT" --exclude=.git -cf - . | tar -C "$dest" -xf -
    chown -R postgres: "$dest"
}
