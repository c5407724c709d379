# bench/lib.sh -- what the standalone benchmarks share (sourced from the
# top of the tree by bench/balance_history.sh and bench/rls.sh).

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
