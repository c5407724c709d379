#!/bin/bash
# scripts/deps.sh -- install the Debian packages the build, tests and demo
# need (called by `make deps`, which `make demo` depends on).
#
#   scripts/deps.sh             the build, tests and demo
#   scripts/deps.sh --package   also the Debian packaging tools, for building
#                               and checking the .deb (`make deps-package`,
#                               which `make test` and `make deb` depend on)
#
# Idempotent: checks each package with dpkg-query and only runs apt-get when
# something is missing.  Silent when everything is already installed.
set -euo pipefail

PACKAGES=(
  postgresql-server-dev-15          # PGXS, pg_regress, PostgreSQL::Test::*
  postgresql-15-pgtap               # pgTAP extension
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  libipc-run-perl                   # Perl TAP tests
  libssl-dev                        # -lcrypto
  python3-psycopg                   # examples/escrow_service.py
  openssl                           # checkpoint keys (openssl genpkey) in the test clusters
  python3-cryptography              # scripts/escrowpay-verify (Ed25519)
  graphviz                          # diagrams
  gnuplot-nox                       # bench plots
  make
  gcc
)

# debian/control's Build-Depends, and what scripts/deb.sh and the package
# test in scripts/test.sh run
PACKAGING=(
  debhelper                         # dh, debhelper-compat (= 13)
  dpkg-dev                          # dpkg-buildpackage
  postgresql-server-dev-all         # pg_buildext's dh add-on, dh_pgxs_test
  lintian                           # checks the built package
)

case "${1:-}" in
  "") ;;
  --package) PACKAGES+=("${PACKAGING[@]}") ;;
  *) echo "usage: scripts/deps.sh [--package]" >&2; exit 2 ;;
esac

# Citus, for the tests of kind citus (scripts/test.sh): not packaged in
# Debian 12, so CI uses the prebuilt copy in ../shared/citus when the
# checkout has one beside it (nothing at run time depends on it).
citus_dir="$(cd "$(dirname "$0")/.." && pwd)/../shared/citus"
if [ -f "$citus_dir/install.sh" ] && command -v pg_config >/dev/null &&
   [ ! -f "$(pg_config --sharedir)/extension/citus.control" ]; then
  if [ "$(id -u)" = 0 ]; then
    sh "$citus_dir/install.sh"
  else
    echo "deps.sh: not root: Citus from $citus_dir not installed (the citus tests will be skipped)"
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: must run as root to install packages" >&2
  exit 1
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
