#!/bin/bash
# scripts/tap-as-postgres.sh -- run the Perl TAP tests as root's stand-in.
#
#   scripts/tap-as-postgres.sh [TEST_FILE...]    (as root; default test/t/*.pl)
#
# The TAP tests start their own clusters, and PostgreSQL refuses to run as
# root.  So this copies the tree to a scratch directory owned by `postgres`
# and runs `make installcheck REGRESS= ISOLATION= PROVE_TESTS=...` there as
# `postgres`, with the PostgreSQL found on PATH.  Used by `make installcheck`
# when run as root (the Makefile's prove_installcheck) and by
# scripts/test.sh.  PGHOST/PGPORT/PGUSER/PGDATABASE are dropped: each test
# picks its own.  PROVE_FLAGS from the environment is passed on.
#
# When a test fails, the test logs are copied back to tmp_check/log in the
# tree.  Exit status: that of make (non-zero iff a test failed); 0 with a
# "skipped" line when there is no `postgres` user to run them as.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
REPO="$(pwd)"

if [ "$(id -u)" != 0 ]; then
  echo "tap-as-postgres.sh: must run as root (it runs the tests via runuser -u postgres)" >&2
  exit 1
fi
if ! id postgres >/dev/null 2>&1; then
  echo "tap-as-postgres.sh: TAP tests skipped: running as root and there is no postgres user to run them as"
  exit 0
fi

TAPDIR="$(mktemp -d /tmp/escrowpay-tap.XXXXXX)" || exit 1
trap 'rm -rf "$TAPDIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! { scripts/copy-tree.sh "$TAPDIR" && chown -R postgres: "$TAPDIR"; }; then
  echo "tap-as-postgres.sh: could not copy the tree to $TAPDIR" >&2
  exit 1
fi

tests="${*:-test/t/*.pl}"
(cd "$TAPDIR" &&
   runuser -u postgres -- env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
     -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
     make --no-print-directory installcheck REGRESS= ISOLATION= TAP_TESTS=1 \
       PROVE_TESTS="$tests" ${PROVE_FLAGS:+PROVE_FLAGS="$PROVE_FLAGS"})
rc=$?

if [ "$rc" != 0 ] && [ -d "$TAPDIR/tmp_check/log" ]; then
  # keep the logs: the scratch copy is deleted on exit
  rm -rf "$REPO/tmp_check/log"
  mkdir -p "$REPO/tmp_check"
  cp -a "$TAPDIR/tmp_check/log" "$REPO/tmp_check/log"
  echo "tap-as-postgres.sh: TAP logs kept in $REPO/tmp_check/log"
fi
exit "$rc"
