# bench/lib.sh -- what the benchmarks share (sourced from the top of the
# tree by bench/run.sh, bench/growth.sh and the standalone ones).

# The durable configuration the throughput benchmarks (bench/run.sh,
# bench/growth.sh) measure with, as a payment system would run it, the
# maintenance worker's round every second.
BENCH_DURABLE_CONF="fsync = on
synchronous_commit = on
shared_buffers = 1GB
max_connections = 120
max_wal_size = 8GB
checkpoint_timeout = 30min
autovacuum_naptime = 10s
escrowpay.maintenance_interval = 1"

# bench_cluster CONF: standalone, start a throwaway cluster
# (scripts/cluster.sh) with the postgresql.conf lines CONF; with
# BENCH_IN_CLUSTER=1 (bench/run.sh) use the cluster in PGHOST/PGPORT.
bench_cluster() {
  if [ -z "${BENCH_IN_CLUSTER:-}" ]; then
    . scripts/cluster.sh
    CLUSTER_EXTRA_CONF="$1"
    export CLUSTER_EXTRA_CONF
    cluster_start
  fi
}

# bench_fresh_db DB DONE SQL [psql options]: database DB made anew with
# escrowpay, then SQL run in it with synchronous_commit off; prints
# "   DONE in N s".
bench_fresh_db() {
  local db=$1 done=$2 sql=$3 start
  shift 3
  dropdb --if-exists "$db"
  createdb "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION escrowpay"
  start=$(date +%s)
  PGOPTIONS='-c synchronous_commit=off' psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@" -f "$sql"
  echo "   $done in $(( $(date +%s) - start )) s"
}
