#!/bin/bash
# scripts/package-installcheck.sh PACKAGE MAJOR -- run the regress and
# isolation suites against the files of a built package, as root.
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
# and runs `make installcheck TAP_TESTS=` (regress, then isolation) from a
# clean copy of this tree.  Used by scripts/test.sh (package) and, at build
# time, by debian/rules.
#
# Output: pg_regress's, and one "ok      NAME" or "FAILED  NAME" line per
# other check.  Exit status non-zero iff anything failed.
set -uo pipefail

[ $# = 2 ] || { echo "usage: scripts/package-installcheck.sh PACKAGE.deb|STAGED_DIR MAJOR" >&2; exit 2; }
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
mkdir "$TESTS" &&
  tar -C "$REPO" --exclude=./.git --exclude=./debian --exclude=./debs \
      --exclude=./results --exclude=./output_iso --exclude=./tmp_check \
      --exclude=./log -cf - . | tar -C "$TESTS" -xf - ||
  fail "copy the tests to $TESTS"

export PATH="$PKGROOT/usr/lib/postgresql/$V/bin:$PATH"
. "$REPO/scripts/cluster.sh"
cluster_start || fail "start a cluster of the package's PostgreSQL copy"
trap cleanup EXIT   # cluster_start replaced it

rc=0
(cd "$TESTS" && make --no-print-directory installcheck TAP_TESTS= PROVE_TESTS=) || rc=1
for d in "$TESTS/regression.diffs" "$TESTS/output_iso/regression.diffs"; do
  if [ "$rc" != 0 ] && [ -s "$d" ]; then
    echo "======== $d"
    cat "$d"
  fi
done

# after the suites, so that they start on a fresh cluster
want="CREATE DATABASE|CREATE EXTENSION|$EXTVERSION|t"
got="$({ psql -X -At -d postgres -c "CREATE DATABASE escrow_pkgcheck" &&
         psql -X -At -d escrow_pkgcheck \
           -c "CREATE EXTENSION $EXTENSION" \
           -c "SELECT extversion FROM pg_extension WHERE extname = '$EXTENSION'" \
           -c "SELECT position('$LIB/$EXTENSION.so' in pg_read_file('/proc/self/maps')) > 0"
       } 2>&1 | paste -sd'|')"
name="CREATE EXTENSION gives version $EXTVERSION, with the package's $EXTENSION.so"
if [ "$got" = "$want" ]; then
  echo "ok      $name"
else
  echo "got: $got"
  echo "want: $want"
  echo "FAILED  $name"
  rc=1
fi
exit "$rc"
