#!/bin/bash
# scripts/copy-tree.sh DEST [PATH...] -- copy this source tree into the
# directory DEST (made if missing), without .git, without what test runs
# and package builds write into the tree (pg_regress's results and diffs,
# here and in test/citus, output_iso/, tmp_check/, log/, debs/), and
# without the given PATHs (relative to the top of the tree, e.g. debian).
#
# Used by scripts/tap-as-postgres.sh, scripts/deb.sh and
# scripts/package-installcheck.sh.  What a test writes is left out also
# because scripts/test.sh runs two lanes of tests at once: a file being
# written while tar reads it would fail the copy ("file changed as we read
# it").  Exit status non-zero iff the copy failed.
set -uo pipefail

[ $# -ge 1 ] || { echo "usage: scripts/copy-tree.sh DEST [PATH...]" >&2; exit 2; }
DEST=$1
shift
cd "$(dirname "$0")/.." || exit 1

args=()
for p in .git results output_iso tmp_check log debs regression.out regression.diffs \
         test/citus/results test/citus/regression.out test/citus/regression.diffs "$@"; do
  args+=("--exclude=./$p")
done
mkdir -p "$DEST" && tar -cf - "${args[@]}" . | tar -C "$DEST" -xf -
