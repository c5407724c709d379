#!/bin/bash
# scripts/citus-cluster.sh -- a throwaway local Citus cluster (a coordinator
# and workers) for tests, benchmarks and trying escrowpay on Citus.
#
# Needs Citus installed for the PostgreSQL that pg_config names (users:
# Citus's own packages; this project's tests: ../shared/citus/install.sh).
# Built from the pieces of scripts/cluster.sh: every node is initdb'd and
# started as `postgres` in one scratch directory under /tmp, with trust
# authentication, listening on localhost (the nodes connect to each other
# over TCP) and on a unix socket in the scratch directory, with
#     shared_preload_libraries = 'citus,escrowpay'   (citus must come first)
#     max_prepared_transactions = 100                (two-phase commit)
#     wal_level = logical                            (shard moves, rebalancing)
# Then CREATE EXTENSION citus runs in the database on every node, the
# coordinator registers itself (citus_set_coordinator_host) and the workers
# (citus_add_node).  escrowpay is not created: that is the caller's step
# (CREATE EXTENSION escrowpay; SELECT * FROM escrow.distribute()).
#
# As a library (as root), like scripts/cluster.sh:
#     . scripts/citus-cluster.sh
#     citus_cluster_start [WORKERS]   # default 2; exports PGHOST PGPORT PGUSER
#     psql -c 'SELECT * FROM citus_get_active_worker_nodes()'
#     citus_cluster_stop              # also runs automatically on EXIT
# As a command, for a person (the cluster outlives the command):
#     scripts/citus-cluster.sh start [WORKERS]   # prints the scratch dir and ports
#     scripts/citus-cluster.sh stop DIR
#
# Environment: CLUSTER_PORT_BASE (first port probed; the nodes take the
# first free ports from it, coordinator first; default 54320), CITUS_DB
# (database, default postgres), CLUSTER_PRELOAD / CLUSTER_EXTRA_CONF /
# CLUSTER_KEEP as in scripts/cluster.sh.  After citus_cluster_start:
# CLUSTER_DIR, CITUS_NODES (the data directories, coordinator first),
# CITUS_PORTS (their ports), CITUS_LOGS (their server logs),
# CLUSTER_KEYFILE and CLUSTER_CHECKPOINT_KEY (the keys of every node, as in
# scripts/cluster.sh).

_citus_self="${BASH_SOURCE[0]}"
. "$(dirname "$_citus_self")/cluster.sh"

CITUS_DB="${CITUS_DB:-postgres}"
CITUS_NODES=() CITUS_PORTS=() CITUS_LOGS=()

# citus_available: whether the PostgreSQL of pg_config has Citus installed.
citus_available() {
  [ -f "$(pg_config --sharedir)/extension/citus.control" ] &&
    [ -f "$(pg_config --pkglibdir)/citus.so" ]
}

# _citus_psql PORT SQL...: run SQL on the node of PORT, stopping at an error.
_citus_psql() {
  local port=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_DIR" -p "$port" -U postgres -d "$CITUS_DB" "$@"
}

citus_cluster_start() {
  local workers=${1:-2} i port base=${CLUSTER_PORT_BASE:-54320} name
  if [ -n "$CLUSTER_DIR" ]; then
    echo "citus-cluster.sh: a cluster is already running in $CLUSTER_DIR" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "citus-cluster.sh: must run as root (initdb/pg_ctl are run via runuser -u postgres)" >&2
    return 1
  fi
  if ! citus_available; then
    echo "citus-cluster.sh: Citus is not installed for $(pg_config --bindir)" >&2
    return 1
  fi
  CLUSTER_DIR="$(mktemp -d /tmp/escrowpay-pg.XXXXXX)" || return 1
  [ "${CITUS_NO_TRAP:-0}" = 1 ] || {
    trap citus_cluster_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  }
  chown postgres: "$CLUSTER_DIR" || return 1
  CLUSTER_KEYFILE="$CLUSTER_DIR/escrowpay.keys"
  _cluster_write_keyfile "$CLUSTER_KEYFILE" || return 1
  CLUSTER_CHECKPOINT_KEY="$CLUSTER_DIR/checkpoint.pem"
  _cluster_write_checkpoint_key "$CLUSTER_CHECKPOINT_KEY" || return 1
  CITUS_NODES=() CITUS_PORTS=() CITUS_LOGS=()
  local CLUSTER_EXTRA_CONF="wal_level = logical
escrowpay.checkpoint_key_file = '$CLUSTER_CHECKPOINT_KEY'
${CLUSTER_EXTRA_CONF:-}"
  for ((i = 0; i <= workers; i++)); do
    if [ "$i" = 0 ]; then name=coordinator; else name=worker$i; fi
    port="$(CLUSTER_PORT_BASE=$base _cluster_free_port)" || return 1
    base=$((port + 1))
    CITUS_NODES+=("$CLUSTER_DIR/$name") CITUS_PORTS+=("$port")
    CITUS_LOGS+=("$CLUSTER_DIR/$name.log")
    _cluster_node_start "$CLUSTER_DIR/$name" "$CLUSTER_DIR/$name.log" "$port" \
      localhost citus,escrowpay 100 || return 1
  done
  for port in "${CITUS_PORTS[@]}"; do
    if [ "$CITUS_DB" != postgres ]; then
      _citus_psql "$port" -d postgres -c "CREATE DATABASE \"$CITUS_DB\"" || return 1
    fi
    _citus_psql "$port" -c 'CREATE EXTENSION citus' || return 1
  done
  _citus_psql "${CITUS_PORTS[0]}" \
    -c "SELECT citus_set_coordinator_host('localhost', ${CITUS_PORTS[0]})" >/dev/null || return 1
  for port in "${CITUS_PORTS[@]:1}"; do
    _citus_psql "${CITUS_PORTS[0]}" \
      -c "SELECT citus_add_node('localhost', $port)" >/dev/null || return 1
  done
  export PGHOST="$CLUSTER_DIR" PGPORT="${CITUS_PORTS[0]}" PGUSER=postgres
  export CLUSTER_DIR CLUSTER_KEYFILE CLUSTER_CHECKPOINT_KEY CITUS_DB
  echo "citus-cluster.sh: coordinator on port ${CITUS_PORTS[0]}, workers on ports ${CITUS_PORTS[*]:1} (socket directory $CLUSTER_DIR, database $CITUS_DB)"
}

# citus_create_db NAME: a new database NAME on every node with Citus, the
# coordinator and the workers registered in it (Citus keeps its metadata
# per database), escrowpay created on the coordinator (Citus creates it on
# the workers) and distributed (escrow.distribute()).  A fresh distributed
# ledger for a test: Citus cannot drop escrowpay once it is distributed.
# citus_create_db NAME on-create: escrowpay created but not distributed, as
# pg_regress --load-extension leaves a database; an event trigger
# distributes it as soon as a CREATE EXTENSION creates it again (a regress
# file starts by dropping and creating it).
citus_create_db() {
  local db=$1 mode=${2:-} port pid rc=0
  local -a pids=()
  # the nodes one at a time would wait for each in turn: all at once
  for port in "${CITUS_PORTS[@]}"; do
    {
      _citus_psql "$port" -d postgres -c "CREATE DATABASE \"$db\"" 2>&1 |
        grep -v -e '^NOTICE:  Citus partially supports CREATE DATABASE' \
                -e '^DETAIL:  Citus does not propagate' -e '^HINT:  You can manually create' >&2
      _citus_psql "$port" -d "$db" -c 'CREATE EXTENSION citus'
    } &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  [ "$rc" = 0 ] || return 1
  _citus_psql "${CITUS_PORTS[0]}" -d "$db" \
    -c "SELECT citus_set_coordinator_host('localhost', ${CITUS_PORTS[0]})" >/dev/null || return 1
  for port in "${CITUS_PORTS[@]:1}"; do
    _citus_psql "${CITUS_PORTS[0]}" -d "$db" \
      -c "SELECT citus_add_node('localhost', $port)" >/dev/null || return 1
  done
  if [ "$mode" != on-create ]; then
    _citus_psql "${CITUS_PORTS[0]}" -d "$db" -c 'CREATE EXTENSION escrowpay' \
      -c 'SELECT count(*) FROM escrow.distribute()' >/dev/null
    return
  fi
  _citus_psql "${CITUS_PORTS[0]}" -d "$db" >/dev/null <<'EOF'
CREATE EXTENSION escrowpay;
CREATE FUNCTION public.escrowpay_distribute() RETURNS event_trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'escrowpay')
     AND NOT EXISTS (SELECT 1 FROM pg_dist_partition
                      WHERE logicalrelid = 'escrow.accounts'::regclass) THEN
    PERFORM count(*) FROM escrow.distribute();
  END IF;
END $$;
CREATE EVENT TRIGGER escrowpay_distribute ON ddl_command_end
  WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION public.escrowpay_distribute();
-- for the transaction of a CREATE EXTENSION: its objects go to the workers
-- (also when the session has metadata sync off), and distribute() runs
-- over the one connection per worker that created them there, the only
-- one that sees them before the commit
CREATE FUNCTION public.escrowpay_before_create() RETURNS event_trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('citus.enable_metadata_sync', 'on', true);
  PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
END $$;
CREATE EVENT TRIGGER escrowpay_before_create ON ddl_command_start
  WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION public.escrowpay_before_create();
EOF
}

# citus_drop_db NAME: drop database NAME on every node (each database with
# Citus keeps a maintenance worker of its own on each node).
citus_drop_db() {
  local port pid rc=0
  local -a pids=()
  for port in "${CITUS_PORTS[@]}"; do
    _citus_psql "$port" -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}

# Stop every node (fast) and remove the scratch directory.  Safe to call
# more than once and after a failed start.
citus_cluster_stop() {
  local data
  [ -n "$CLUSTER_DIR" ] || return 0
  for data in "$CLUSTER_DIR"/*/; do
    data=${data%/}
    [ -f "$data/postmaster.pid" ] || continue
    _cluster_as_pg "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 ||
      echo "citus-cluster.sh: warning: pg_ctl stop failed for $data" >&2
  done
  if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
    echo "citus-cluster.sh: kept $CLUSTER_DIR" >&2
  else
    rm -rf "$CLUSTER_DIR"
  fi
  CLUSTER_DIR=""
  CITUS_NODES=() CITUS_PORTS=() CITUS_LOGS=()
  unset PGHOST PGPORT PGUSER
}

if [ "$_citus_self" = "$0" ]; then
  case "${1:-}" in
    start)
      CITUS_NO_TRAP=1
      citus_cluster_start "${2:-2}" || { CLUSTER_KEEP=0 citus_cluster_stop; exit 1; }
      echo "connect: psql -h $CLUSTER_DIR -p ${CITUS_PORTS[0]} -U postgres $CITUS_DB"
      echo "stop:    $0 stop $CLUSTER_DIR"
      ;;
    stop)
      [ -d "${2:-}" ] && case $2 in /tmp/escrowpay-pg.*) true ;; *) false ;; esac || {
        echo "usage: $0 stop /tmp/escrowpay-pg.XXXXXX" >&2; exit 2; }
      CLUSTER_DIR=$2
      citus_cluster_stop
      ;;
    *)
      echo "usage: $0 start [WORKERS] | stop DIR   (or source it: citus_cluster_start / citus_cluster_stop)" >&2
      exit 2
      ;;
  esac
fi
