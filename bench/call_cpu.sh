#!/bin/bash
# bench/call_cpu.sh -- CPU time per call, escrowpay against the baseline
# (bench/baseline/baseline.sql) and a one-row INSERT, measured in one
# backend by its kernel run time (bench/call_cpu.sql): a figure that does
# not move with the machine's load, unlike the transactions per second of
# bench/run.sh.  Each call is measured BENCH_REPS times (5) over
# BENCH_CALLS calls (400), interleaved; prints the median and the lowest
# microseconds per call.  The ledger is set up as bench/run.sh sets it up
# (1,000 buyers and merchants each, 20,000 captured holds).  Standalone (its
# own throwaway cluster) or BENCH_IN_CLUSTER=1.  As root after `make install`.
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/lib.sh
bench_cluster "shared_buffers = 256MB"
REPS=${BENCH_REPS:-5}
N=${BENCH_CALLS:-400}
CALLS=${BENCH_CALL_LIST:-"minimal_write hold base_hold capture base_capture transfer base_transfer"}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bench_calls "$@"; }

dropdb --if-exists bench_calls
createdb bench_calls
q -c "CREATE EXTENSION escrowpay" -f bench/baseline/baseline.sql -f bench/call_cpu.sql
PGOPTIONS='-c synchronous_commit=off' q <<'SQL' >/dev/null
CREATE TABLE bench_minimal (id bigserial PRIMARY KEY, account bigint NOT NULL,
                            amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
SELECT count(escrow.open_account('buyer ' || i, 'USD')) FROM generate_series(1, 1000) i;
SELECT count(escrow.open_account('merchant ' || i, 'USD')) FROM generate_series(1, 1000) i;
SELECT count(escrow.deposit(id, 1000000000000)) FROM escrow.accounts WHERE owner LIKE 'buyer %';
SELECT count(escrow.capture(escrow.hold(b.id, m.id, 100)))
  FROM escrow.accounts b JOIN escrow.accounts m ON m.owner = 'merchant ' || substr(b.owner, 7),
       generate_series(1, 20)
 WHERE b.owner LIKE 'buyer %';
SELECT baseline.open_account('funding', 'USD', 'system');
SELECT count(baseline.open_account('buyer ' || i, 'USD')) FROM generate_series(1, 1000) i;
SELECT count(baseline.open_account('merchant ' || i, 'USD')) FROM generate_series(1, 1000) i;
SELECT count(baseline.deposit(id, 1000000000000)) FROM baseline.accounts WHERE owner LIKE 'buyer %';
SELECT escrow.fold_journal(1000000);
VACUUM ANALYZE;
SQL

for _ in $(seq 1 "$REPS"); do
  for c in $CALLS; do
    echo "$c $(q -c "SELECT call_cpu('$c', $N)")"
  done
done | awk '{v[$1] = v[$1] " " $2; if (!($1 in order)) {order[$1] = ++k; name[k] = $1}}
  END {
    printf "%-14s %12s %12s\n", "call", "median us", "lowest us"
    for (i = 1; i <= k; i++) {
      n = split(v[name[i]], a, " ")
      for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] < a[x]) {t = a[x]; a[x] = a[y]; a[y] = t}
      med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      printf "%-14s %12.1f %12.1f\n", name[i], med, a[1]
    }
  }'
