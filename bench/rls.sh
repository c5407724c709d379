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
if [ -z "${BENCH_IN_CLUSTER:-}" ]; then
  . scripts/cluster.sh
  CLUSTER_EXTRA_CONF="shared_buffers = 1GB
max_wal_size = 8GB"
  export CLUSTER_EXTRA_CONF
  cluster_start
fi
rls() { psql -X -q -v ON_ERROR_STOP=1 -d bench_rls "$@"; }

echo "== row-level security: building $DEALS deals"
dropdb --if-exists bench_rls
createdb bench_rls
rls -c "CREATE EXTENSION escrowpay"
start=$(date +%s)
PGOPTIONS='-c synchronous_commit=off' rls -v deals="$DEALS" -f bench/rls_deals.sql
echo "   built in $(( $(date +%s) - start )) s"
echo "== row-level security: party against application reads (median of 5, ms)"
rls -f bench/rls_measure.sql
