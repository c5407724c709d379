#!/bin/bash
# bench/citus.sh -- escrowpay's throughput on one server and on a Citus
# cluster of a coordinator and 2 workers (docs/scale-out.md), as root after
# `make install`, with Citus installed.  Same workloads, same clients:
#   transfer      escrow.transfer() between two random accounts of 1,000
#   hold_capture  escrow.capture(escrow.hold(...)) in one statement
# at BENCH_CLIENTS clients (default 8) for BENCH_SECONDS each (default 10),
# pgbench in simple query mode.  Prints one line per setup and workload: TPS and
# mean latency.  All nodes share this machine's cores: on 2 cores the
# cluster cannot be faster, and is not expected to be.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/citus-cluster.sh

SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
ACCOUNTS=1000
TMP=$(mktemp -d /tmp/escrowpay-citus-bench.XXXXXX)

cat >"$TMP/transfer.sql" <<'EOF'
\set a random(1, 1000)
\set b random(1001, 2000)
SELECT escrow.transfer(:a + :lo - 1, :b + :lo - 1, 1);
EOF
cat >"$TMP/hold_capture.sql" <<'EOF'
\set a random(1, 1000)
\set b random(1001, 2000)
SELECT escrow.capture(escrow.hold(:a + :lo - 1, :b + :lo - 1, 1));
EOF

# setup DISTRIBUTE: the extension, 2 x ACCOUNTS funded accounts
setup() {
  psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION escrowpay' >/dev/null
  [ "$1" = 0 ] || psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT count(*) FROM escrow.distribute()' >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -c "
    SELECT count(escrow.open_account('bench ' || i, 'USD')) FROM generate_series(1, 2 * $ACCOUNTS) i" \
    -c "WITH a AS MATERIALIZED (SELECT id FROM escrow.accounts WHERE owner LIKE 'bench %')
        SELECT count(escrow.deposit(a.id, 1000000000)) FROM a" \
    >/dev/null
  LO=$(psql -X -At -c "SELECT min(id) FROM escrow.accounts WHERE owner LIKE 'bench %'")
}

measure() {
  local setup=$1 w
  for w in transfer hold_capture; do
    pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -D lo="$LO" -f "$TMP/$w.sql" \
      >"$TMP/out" 2>&1 || { cat "$TMP/out"; return 1; }
    printf '%-28s %-13s %8.0f TPS  %7.2f ms\n' "$setup" "$w" \
      "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TMP/out")" \
      "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$TMP/out")"
  done
}

echo "escrowpay on Citus: $CLIENTS clients, ${SECS} s per point, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
# the Citus nodes first: cluster_stop alone would remove their directory
# (CLUSTER_DIR is theirs by then) without stopping them
cleanup() { citus_cluster_stop; cluster_stop; rm -rf "$TMP"; }
CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-54320} cluster_start >/dev/null
trap cleanup EXIT   # cluster_start set its own
setup 0
measure "one server"
cluster_stop
citus_cluster_start 2 >/dev/null
trap cleanup EXIT
setup 1
measure "coordinator + 2 workers"
psql -X -At -c "SELECT 'verify_ledger problems after the run: ' || count(*) FROM escrow.verify_ledger()"
