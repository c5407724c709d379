#!/bin/bash
# scripts/demo.sh -- run the demo (called by `make demo`, after
# `make all install`).  Must run as root.  Starts a throwaway cluster
# (scripts/cluster.sh), creates database escrow_demo with the extension,
# runs scripts/demo.sql with psql (stopping at the first error), and stops
# the cluster again (also on failure).
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cluster.sh

cluster_start
createdb escrow_demo
psql -X -q -v ON_ERROR_STOP=1 -d escrow_demo -c 'CREATE EXTENSION escrowpay'
psql -X -v ON_ERROR_STOP=1 -d escrow_demo -f scripts/demo.sql
cluster_stop
