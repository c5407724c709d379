#!/bin/bash
# scripts/deb.sh OUTDIR -- build the Debian package postgresql-15-escrowpay
# (debian/) and put the .deb files, .changes and .buildinfo in OUTDIR
# (called by `make deb` with OUTDIR=debs, and by scripts/test.sh).
#
# It runs `dpkg-buildpackage -us -uc -b` -- pg_buildext builds and installs
# the extension for each PostgreSQL version in debian/pgversions, and runs
# the regress and isolation suites against the staged files unless
# DEB_BUILD_OPTIONS has nocheck -- in a scratch copy of the tree, so the
# tree's own build products are left alone and nothing lands in its parent
# directory.  Needs the packages of `scripts/deps.sh --package`.
set -euo pipefail

[ $# = 1 ] || { echo "usage: scripts/deb.sh OUTDIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"

SCRATCH="$(mktemp -d /tmp/escrowpay-deb.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/copy-tree.sh "$SCRATCH/escrowpay"

(cd "$SCRATCH/escrowpay" && dpkg-buildpackage -us -uc -b)

shopt -s nullglob
built=("$SCRATCH"/*.deb "$SCRATCH"/*.changes "$SCRATCH"/*.buildinfo)
[ ${#built[@]} -gt 0 ] || { echo "deb.sh: dpkg-buildpackage built nothing" >&2; exit 1; }
cp "${built[@]}" "$OUT"/
echo "deb.sh: built into $OUT:"
for f in "${built[@]}"; do echo "  $(basename "$f")"; done
