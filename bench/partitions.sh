#!/bin/bash
# bench/partitions.sh -- what partitioning the journal by time would cost:
# a table of the shape of escrow.transfers (bench/partitions/setup.sql),
# plain and partitioned by month, each written (one INSERT per
# transaction) and read by id alone (what the fold, refund and the
# checkpoints do) at 8 clients, runs interleaved, with the server's CPU
# time per transaction (postmaster and its children, /proc).  The
# decision it backs is in docs/operations.md, "Archiving the journal".
# Standalone (its own throwaway cluster) or BENCH_IN_CLUSTER=1.  As root
# after `make install`.  BENCH_PARTITION_TX: transactions per client per
# run (1500), BENCH_REPS: runs of each (3).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
bench_cluster "shared_buffers = 256MB
fsync = on
synchronous_commit = on"
TX=${BENCH_PARTITION_TX:-1500}
dropdb --if-exists bench_partitions
createdb bench_partitions
psql -X -q -v ON_ERROR_STOP=1 -d bench_partitions -f bench/partitions/setup.sql
pm=$(psql -X -At -d bench_partitions -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'" |
     xargs -I{} awk '{print $4}' /proc/{}/stat)
cputicks() {
  local t=0 p
  for p in $pm $(pgrep -P "$pm"); do
    t=$((t + $(awk '{print $14 + $15 + $16 + $17}' /proc/"$p"/stat 2>/dev/null || echo 0)))
  done
  echo "$t"
}
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "${BENCH_REPS:-3}"); do
  for w in ins_plain ins_part get_plain get_part; do
    c0=$(cputicks)
    tps=$(pgbench -n -f bench/partitions/$w.sql -M prepared -c 8 -j 2 -t "$TX" bench_partitions 2>&1 |
          sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    sleep 0.5
    c1=$(cputicks)
    awk -v a="$c0" -v b="$c1" -v n=$((8 * TX)) -v w="$w" -v t="$tps" -v hz="$(getconf CLK_TCK)" \
      'BEGIN {printf "%-10s %7.3f ms CPU per transaction  %8.1f tps\n", w, (b - a) * 1000.0 / hz / n, t}'
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
