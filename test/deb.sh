#!/usr/bin/env bash
# test/deb.sh: the Debian package, end to end, on Debian 12 as root.
#
#   1. META.json against the PGXN Meta Spec and this tree (test/meta_check.pl);
#   2. installs what is missing (debian/control's Build-Depends, dpkg-dev,
#      build-essential, lintian, the server) with apt-get;
#   3. copies the tree to a temp dir ($TMPDIR/rowkeeper-deb) and builds there
#      with `dpkg-buildpackage -us -uc -b` (the .deb lands next to the copy,
#      never next to the checkout); the build must leave nothing that
#      .gitignore does not cover; checks the .deb's name and version against
#      rowkeeper.control and debian/changelog, and runs lintian on it (no
#      error, no warning);
#   4. installs it with apt-get (which brings its dependencies);
#   5. runs debian/tests/smoke (the autopkgtest): a fresh cluster on a unix
#      socket, CREATE EXTENSION, audit and updated_at on a table, DML,
#      assertions;
#   6. on exit, whatever happened: stops the clusters, removes the package,
#      and puts back any rowkeeper files a `make install` had left in the
#      server's directories before, so the system is as it was (check.sh's
#      suites, which use a make-installed rowkeeper, may run before or after).
#
# The package goes to the system server (/usr/lib/postgresql/<major>,
# /usr/share/postgresql/<major>): the PG_CONFIG of a private server copy is
# ignored here.  Prints "deb: ok" or "deb: FAILED (...)" last; exits non-zero
# on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "deb: run as root (it installs packages)"; exit 2; }

# The system server only: Debian 12's PostgreSQL 15, whatever PG_MAJOR or
# PG_CONFIG (a private server copy, another major of the matrix) the caller
# has set.  The packages built are the majors debian/pgversions names that
# the distribution supports (pg_buildext supported-versions).
export PG_MAJOR=${RK_DEB_PG_MAJOR:-15}
export PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
. "$ROOT/test/lib.sh"

# The verdict is the last line, after the cleanup's own output.
verdict=""
fail() { verdict="deb: FAILED ($*)"; exit 1; }
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive

WORK="" BACKUP="" PKGS=()

# On exit, whatever happened: stop the clusters, remove the package, put back
# what a make install had left, then print the verdict as the last line.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT
    rk_stop_clusters
    [ -n "$WORK" ] && rk_kill_postmasters "$WORK"
    if [ ${#PKGS[@]} -gt 0 ]; then
        rk_say "removing ${PKGS[*]}"
        if ! "${APT[@]}" purge "${PKGS[@]}" >/dev/null 2>&1; then
            echo "could not remove ${PKGS[*]}: run apt-get purge ${PKGS[*]}"
            [ $rc -eq 0 ] && { rc=1; verdict="deb: FAILED (removing ${PKGS[*]})"; }
        fi
    fi
    if [ -n "$BACKUP" ] && [ -s "$BACKUP" ]; then
        tar -C / -xpf "$BACKUP" && echo "restored the rowkeeper files a make install had put there"
    fi
    if [ $rc -eq 0 ]; then
        echo "$verdict"
    else
        echo "${verdict:-deb: FAILED (exit status $rc, see above)}"
    fi
    exit $rc
}
trap cleanup EXIT

rk_say "META.json"
perl "$ROOT/test/meta_check.pl" || fail "META.json check"

rk_say "build dependencies"
want=(dpkg-dev build-essential lintian "postgresql-$PG_MAJOR")
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || { apt-get update -qq; "${APT[@]}" install --no-install-recommends "${want[@]}" >/dev/null; break; }
done
if ! (cd "$ROOT" && dpkg-checkbuilddeps) 2>/dev/null; then
    apt-get update -qq
    (cd "$ROOT" && "${APT[@]}" build-dep --no-install-recommends ./ >/dev/null)
    (cd "$ROOT" && dpkg-checkbuilddeps) || fail "build dependencies still missing"
fi
echo "build dependencies present"

rk_workdir deb
WORK=$RK_WORK
BACKUP=$WORK/preexisting.tar

# A package left behind by a run that could not clean up goes first.
left=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'postgresql-*-rowkeeper' 2>/dev/null \
       | awk '$1 == "installed" { print $2 }' || true)
if [ -n "$left" ]; then
    echo "removing $left left by an earlier run"
    # shellcheck disable=SC2086
    "${APT[@]}" purge $left >/dev/null
fi

rk_say "dpkg-buildpackage -us -uc -b (in $WORK/build/rowkeeper)"
mkdir -p "$WORK/build/rowkeeper"
tar -C "$ROOT" --exclude=.git -cf - . | tar -C "$WORK/build/rowkeeper" -xf -
# The copy is a git repository of its own, so that what the build leaves
# behind shows up in `git status` unless .gitignore covers it.
git_copy() { git -C "$WORK/build/rowkeeper" -c user.name=deb -c user.email=deb@localhost "$@"; }
if command -v git >/dev/null; then
    git_copy init -q && git_copy add -A && git_copy commit -q -m copy
fi
if ! (cd "$WORK/build/rowkeeper" && dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1; then
    tail -n 60 "$WORK/build.log"
    fail "dpkg-buildpackage, log in $WORK/build.log"
fi
grep -E "^dpkg-deb: building package" "$WORK/build.log"
if command -v git >/dev/null; then
    left=$(git_copy status --porcelain)
    [ -z "$left" ] || { echo "$left"; fail "the build left files that .gitignore does not cover"; }
    echo "git status after the build: clean"
fi

version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/rowkeeper.control")
changelog=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
[ "$changelog" = "$version" ] \
    || fail "debian/changelog says $changelog, rowkeeper.control says $version"
arch=$(dpkg --print-architecture)
majors=$(cd "$ROOT" && pg_buildext supported-versions)
debs=()
for v in $majors; do
    deb=$WORK/build/postgresql-${v}-rowkeeper_${version}_${arch}.deb
    [ -f "$deb" ] || { ls "$WORK/build"; fail "no $(basename "$deb")"; }
    debs+=("$deb")
done
echo "built: $(cd "$WORK/build" && echo postgresql-*-rowkeeper_*.deb)"
# Debian's policy checker on what was built: no error, no warning.
if (cd "$WORK/build" && lintian --fail-on error,warning "rowkeeper_${version}_${arch}.changes") \
        > "$WORK/lintian.log" 2>&1; then
    lint=ok
else
    lint=failed
fi
grep -v 'running with root privileges' "$WORK/lintian.log" || true
[ "$lint" = ok ] || fail "lintian found errors or warnings"
echo "lintian: no errors, no warnings"

# Keep what a make install had put where the package will go (dpkg takes
# over files no package owns, and removing the package deletes them).
keep=()
for deb in "${debs[@]}"; do
    while IFS= read -r f; do
        f=/${f#./}
        if [ -f "$f" ] && ! dpkg -S "$f" >/dev/null 2>&1; then
            keep+=("${f#/}")
        fi
    done < <(dpkg-deb --fsys-tarfile "$deb" | tar -tf - | grep -v '/$')
done
if [ ${#keep[@]} -gt 0 ]; then
    tar -C / -cpf "$BACKUP" "${keep[@]}"
    echo "kept ${#keep[@]} files of an earlier make install, restored on exit"
fi

rk_say "apt-get install ${debs[*]##*/}"
for deb in "${debs[@]}"; do
    p=$(dpkg-deb -f "$deb" Package)
    PKGS+=("$p")
done
"${APT[@]}" install --no-install-recommends "${debs[@]}" > "$WORK/install.log" 2>&1 \
    || { cat "$WORK/install.log"; fail "apt-get install"; }
for p in "${PKGS[@]}"; do
    dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\n' "$p"
done

rk_say "debian/tests/smoke"
# The smoke test runs in the built copy, as autopkgtest would run it in the
# unpacked source.
if ! TMPDIR=$WORK bash "$WORK/build/rowkeeper/debian/tests/smoke"; then
    fail "smoke test"
fi

verdict="deb: ok (${debs[*]##*/} built, installed, smoke-tested and removed)"
