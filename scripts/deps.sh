#!/bin/bash
# scripts/deps.sh -- install the Debian packages the build, tests and demo
# need (called by `make deps`, which `make test` and `make demo` depend on).
# Idempotent: checks each package with dpkg-query and only runs apt-get when
# something is missing.  Silent when everything is already installed.
set -euo pipefail

PACKAGES=(
  postgresql-server-dev-15          # PGXS, pg_regress, PostgreSQL::Test::*
  postgresql-15-pgtap               # pgTAP extension
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  libipc-run-perl                   # Perl TAP tests
  libssl-dev                        # -lcrypto
  graphviz                          # diagrams
  gnuplot-nox                       # bench plots
  make
  gcc
)

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
