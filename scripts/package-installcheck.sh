#!/bin/bash
# scripts/package-installcheck.sh [--regress-only] PACKAGE MAJOR -- run the
# regress and isolation suites (or regress only) against the files of a
# built package, as root.
#
#   PACKAGE  a .deb (postgresql-15-escrowpay_..._amd64.deb), or the staged
#            package directory of a build (debian/postgresql-15-escrowpay)
#   MAJOR    the PostgreSQL major version it is for (15)
#
# The package's files go into a private relocated copy of the system's
# PostgreSQL MAJOR (/usr/lib/postgresql/MAJOR and /usr/share/postgresql/MAJOR
# under a scratch prefix: PostgreSQL finds its share and lib directories
# relative to its binaries, so the copy loads extensions from itself only).
# Any escrowpay files that a `make install` left in the system directories
# are removed from the copy first, so nothing but the package can be loaded;
# the system directories themselves are only read.  On a fresh cluster of
# that copy (scripts/cluster.sh) it checks that CREATE EXTENSION gives
# escrowpay.control's version with the package's own escrowpay.so mapped,
# that every older version the package has an upgrade path from installs
# and updates to it, and runs `make installcheck TAP_TESTS=` (regress, then
# isolation) from a clean copy of this tree.  Used by scripts/test.sh (package) and, at build
# time, by debian/rules.
#
# Output: pg_regress's, and one "ok      NAME" or "FAILED  NAME" line per
# other check.  Exit status non-zero iff anything failed.
set -uo pipefail

SUITES=(REGRESS ISOLATION)
if [ "${1:-}" = --regress-only ]; then SUITES=(REGRESS); shift; fi
[ $# = 2 ] || { echo "usage: scripts/package-installcheck.sh [--regress-only] PACKAGE.deb|STAGED_DIR MAJOR" >&2; exit 2; }
PACKAGE=$1
V=$2
cd "$(dirname "$0")/.." || exit 1
REPO="$(pwd)"
if [ "$(id -u)" != 0 ]; then
  echo "package-installcheck.sh: must run as root (scripts/cluster.sh)" >&2
  exit 1
fi
case $PACKAGE in /*) ;; *) PACKAGE="$REPO/$PACKAGE" ;; esac

EXTENSION=escrowpay
EXTVERSION="$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$EXTENSION.control")"

PKGROOT="$(mktemp -d /tmp/escrowpay-pkg.XXXXXX)" || exit 1
cleanup() {
  [ "$(type -t cluster_stop)" != function ] || cluster_stop
  rm -rf "$PKGROOT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$PKGROOT"

LIB="$PKGROOT/usr/lib/postgresql/$V/lib"
SHARE="$PKGROOT/usr/share/postgresql/$V"
TESTS="$PKGROOT/tests"
fail() { echo "FAILED  $*"; exit 1; }

mkdir -p "$PKGROOT/usr/lib/postgresql" "$PKGROOT/usr/share/postgresql" &&
  cp -a "/usr/lib/postgresql/$V" "$PKGROOT/usr/lib/postgresql/" &&
  cp -a "/usr/share/postgresql/$V" "$PKGROOT/usr/share/postgresql/" ||
  fail "copy PostgreSQL $V to $PKGROOT"
rm -rf "$LIB/$EXTENSION".* "$LIB/bitcode/$EXTENSION" "$LIB/bitcode/$EXTENSION".* \
       "$SHARE/extension/$EXTENSION".* "$SHARE/extension/$EXTENSION"--*
if [ -d "$PACKAGE" ]; then
  cp -a "$PACKAGE/usr" "$PKGROOT/" || fail "copy $PACKAGE into $PKGROOT"
else
  dpkg-deb -x "$PACKAGE" "$PKGROOT" || fail "dpkg-deb -x $PACKAGE"
fi
scripts/copy-tree.sh "$TESTS" debian ||
  fail "copy the tests to $TESTS"

export PATH="$PKGROOT/usr/lib/postgresql/$V/bin:$PATH"
. "$REPO/scripts/cluster.sh"
cluster_start || fail "start a cluster of the package's PostgreSQL copy"
trap cleanup EXIT   # cluster_start replaced it

rc=0
args=(TAP_TESTS= PROVE_TESTS=)
[[ " ${SUITES[*]} " = *" ISOLATION "* ]] || args+=(ISOLATION=)
(cd "$TESTS" && make --no-print-directory installcheck "${args[@]}") || rc=1
for d in "$TESTS/regression.diffs" "$TESTS/output_iso/regression.diffs"; do
  if [ "$rc" != 0 ] && [ -s "$d" ]; then
    echo "======== $d"
    cat "$d"
  fi
done

# check NAME WANT DB SQL...: the output of psql -At in DB of the SQL
# commands (one line each, joined by |) is WANT
check() {
  local name=$1 want=$2 db=$3 got
  shift 3
  got="$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" "${@/#/-c}" 2>&1 | paste -sd'|')"
  if [ "$got" = "$want" ]; then
    echo "ok      $name"
  else
    echo "got: $got"
    echo "want: $want"
    echo "FAILED  $name"
    rc=1
  fi
}

# after the suites, so that they start on a fresh cluster
psql -X -q -d postgres -c "CREATE DATABASE escrow_pkgcheck"
check "CREATE EXTENSION gives version $EXTVERSION, with the package's $EXTENSION.so" \
  "CREATE EXTENSION|$EXTVERSION|t" escrow_pkgcheck \
  "CREATE EXTENSION $EXTENSION" \
  "SELECT extversion FROM pg_extension WHERE extname = '$EXTENSION'" \
  "SELECT position('$LIB/$EXTENSION.so' in pg_read_file('/proc/self/maps')) > 0"

# every upgrade path the package has to its version, from an older one
for from in $(psql -X -At -d postgres -c "SELECT source FROM pg_extension_update_paths('$EXTENSION')
                                          WHERE target = '$EXTVERSION' AND path IS NOT NULL
                                          ORDER BY source"); do
  db="escrow_pkgcheck_$(echo "$from" | tr -c '0-9a-z\n' _)"
  psql -X -q -d postgres -c "CREATE DATABASE $db"
  check "CREATE EXTENSION $EXTENSION VERSION '$from', then ALTER EXTENSION UPDATE to $EXTVERSION" \
    "CREATE EXTENSION|ALTER EXTENSION|$EXTVERSION" "$db" \
    "CREATE EXTENSION $EXTENSION VERSION '$from'" "ALTER EXTENSION $EXTENSION UPDATE" \
    "SELECT extversion FROM pg_extension WHERE extname = '$EXTENSION'"
done
exit "$rc"
