#!/bin/bash
# bench/rls.sh -- row-level security at scale: builds BENCH_RLS_DEALS deals
# (default 1,000,000; bench/rls_deals.sql) and times the same reads as a
# party's login role, as the application over the same deals and as the
# application over all deals (bench/rls_measure.sql).  A party's reads
# should cost within a small factor of the application's reads of the same
# deals: the policies evaluate escrow.current_party() once per query and use
# the party indexes.  Standalone it starts its own throwaway cluster; with
# BENCH_IN_CLUSTER=1 (bench/run.sh) it uses the cluster in PGHOST/PGPORT.
# Must run as root after `make install`.
set -euo pipefail

cd "$(dirname "$0")/.."
DEALS=${BENCH_RLS_DEALS:-1000000}
. bench/lib.sh
bench_cluster "shared_buffers = 1GB
max_wal_size = 8GB"
rls() { psql -X -q -v ON_ERROR_STOP=1 -d bench_rls "$@"; }

echo "== row-level security: building $DEALS deals"
bench_fresh_db bench_rls built bench/rls_deals.sql -v deals="$DEALS"
echo "== row-level security: party against application reads (median of 5, ms)"
rls -f bench/rls_measure.sql
