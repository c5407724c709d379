#!/bin/bash
# bench/balance_history.sh -- balances as of any time at scale: loads
# BENCH_HISTORY_TRANSFERS transfers (default 10,000,000) spread over a year
# between 10,000 accounts, one merchant taking 10% of them (1,000,000
# credits), straight into escrow.transfers (bench/balance_history.sql:
# the journal tables are what balance_at and statement read), then times
# escrow.balance_at() at random moments of random accounts and of the hot
# merchant, and escrow.statement() of a day and of a month, against a
# plain sum over the account's transfers (what a hand-rolled ledger without
# the indexes does).  The checkpoints the maintenance worker would have
# made (one a simulated day, bench/balance_history_seal.sql) store the
# balance anchors balance_at starts from: first all but the last
# BENCH_HISTORY_UNSEALED transfers (default 100,000: a minute of heavy
# traffic after the last checkpoint) are sealed and the calls timed, then
# the rest and the calls timed again, without the plain sums.  Standalone it starts its own throwaway cluster; with
# BENCH_IN_CLUSTER=1 (bench/run.sh) it uses the cluster in PGHOST/PGPORT.
# Must run as root after `make install`.
set -euo pipefail

cd "$(dirname "$0")/.."
N=${BENCH_HISTORY_TRANSFERS:-10000000}
. bench/lib.sh
bench_cluster "shared_buffers = 1GB
max_wal_size = 8GB
maintenance_work_mem = 512MB"
bh() { psql -X -q -v ON_ERROR_STOP=1 -d bench_history "$@"; }

echo "== balance history: loading $N transfers"
bench_fresh_db bench_history loaded bench/balance_history.sql -v transfers="$N"
UNSEALED=${BENCH_HISTORY_UNSEALED:-100000}
seal() {
  local start=$(date +%s)
  bh -v transfers="$N" -v upto="$1" -f bench/balance_history_seal.sql
  echo "   sealed in $(( $(date +%s) - start )) s"
}
echo "== balance history: daily checkpoints (and their balance anchors) up to $UNSEALED transfers before the last"
seal $((N - UNSEALED))
echo "== balance history: mean ms per call (after one warm-up pass), $UNSEALED transfers after the last checkpoint"
bh -v transfers="$N" -v plain=1 -f bench/balance_history_measure.sql
echo "== balance history: the last checkpoint"
seal "$N"
echo "== balance history: mean ms per call (after one warm-up pass), just after a checkpoint"
bh -v transfers="$N" -v plain=0 -f bench/balance_history_measure.sql
