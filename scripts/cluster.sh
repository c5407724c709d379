#!/bin/bash
# scripts/cluster.sh -- throwaway PostgreSQL 15 cluster for tests and demos.
#
# A sourceable bash library (do not execute it).  PostgreSQL refuses to run
# as root, so the cluster lives in a scratch directory owned by `postgres`
# (mktemp under /tmp) and initdb/pg_ctl run as `postgres` via runuser.  The
# server listens only on a unix socket inside that scratch directory.
#
# Usage (as root):
#     . scripts/cluster.sh
#     cluster_start          # initdb + start; exports PGHOST PGPORT PGUSER
#     psql -c 'select 1'     # talks to the throwaway cluster
#     cluster_stop           # optional: also runs automatically on EXIT
#
# cluster_start registers `trap cluster_stop EXIT` (and turns INT/TERM into
# an exit), so the cluster is stopped and its directory removed even when the
# caller fails or is interrupted.  This replaces any EXIT trap the caller had;
# a caller needing its own cleanup sets its trap after cluster_start and calls
# cluster_stop from it (cluster_stop is a no-op when no cluster is running, so
# calling it twice is fine).  One cluster per shell at a time.
#
# Optional environment, read by cluster_start:
#     CLUSTER_PRELOAD     more shared_preload_libraries, after escrowpay (default: none)
#     CLUSTER_EXTRA_CONF  extra postgresql.conf lines, appended verbatim
#     CLUSTER_PORT_BASE   first port to probe (default 54320)
#     CLUSTER_KEEP=1      do not delete the scratch directory on stop
# After cluster_start these are set: CLUSTER_DIR (scratch dir), CLUSTER_DATA
# (data dir), CLUSTER_LOG (server log), CLUSTER_KEYFILE (the key file),
# CLUSTER_CHECKPOINT_KEY (the Ed25519 key that signs checkpoints),
# PG_BINDIR, and PATH has PG_BINDIR in front.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "scripts/cluster.sh is a library: source it, then call cluster_start / cluster_stop" >&2
  exit 2
fi

PG_BINDIR="$(pg_config --bindir)"
case ":$PATH:" in
  *":$PG_BINDIR:"*) ;;
  *) PATH="$PG_BINDIR:$PATH"; export PATH ;;
esac

CLUSTER_DIR=""

# Run a command as postgres from a directory postgres can enter.
_cluster_as_pg() {
  (cd "${CLUSTER_DIR:-/tmp}" && runuser -u postgres -- "$@")
}

# Print the first port >= CLUSTER_PORT_BASE that nobody seems to use: no
# unix socket of that number in the usual places or in other scratch
# clusters, and nothing listening on it on localhost.
_cluster_free_port() {
  local port=${CLUSTER_PORT_BASE:-54320} s
  while [ "$port" -lt 65000 ]; do
    local used=0
    for s in /tmp/.s.PGSQL."$port" /var/run/postgresql/.s.PGSQL."$port" \
             /tmp/escrowpay-pg.*/.s.PGSQL."$port"; do
      if [ -e "$s" ] || [ -e "$s.lock" ]; then used=1; break; fi
    done
    if [ "$used" = 0 ] && ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    port=$((port + 1))
  done
  echo "cluster.sh: no free port found" >&2
  return 1
}

# _cluster_write_keyfile FILE: the key of identity codes, "<key id>
# <secret>", readable by postgres only.
_cluster_write_keyfile() {
  if ! (umask 077 &&
        printf 'test1 %s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$1" &&
        chown postgres: "$1"); then
    echo "cluster.sh: could not write $1" >&2
    return 1
  fi
}

# _cluster_write_checkpoint_key FILE: the key that signs checkpoints, an
# Ed25519 private key, readable by postgres only.
_cluster_write_checkpoint_key() {
  if ! (umask 077 &&
        openssl genpkey -algorithm ed25519 -out "$1" 2>/dev/null &&
        chown postgres: "$1"); then
    echo "cluster.sh: could not write $1 (openssl genpkey)" >&2
    return 1
  fi
}

# _cluster_node_start DATA LOG PORT LISTEN PRELOAD PREPARED [CONF]: initdb
# a node in DATA (trust authentication) and start it on PORT, with its unix
# socket in CLUSTER_DIR, listening on TCP at LISTEN ('' for none),
# preloading PRELOAD (then CLUSTER_PRELOAD), with PREPARED
# max_prepared_transactions, using CLUSTER_KEYFILE, with the
# postgresql.conf lines CONF, then CLUSTER_EXTRA_CONF.  cluster_start's
# node, and scripts/citus-cluster.sh's.
_cluster_node_start() {
  local data=$1 log=$2 port=$3 listen=$4 preload=$5 prepared=$6 conf=${7:-}
  if ! _cluster_as_pg "$PG_BINDIR/initdb" -D "$data" -U postgres \
         --auth=trust -E UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1; then
    echo "cluster.sh: initdb failed:" >&2
    cat "$data.initdb.log" >&2
    return 1
  fi

  _cluster_as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- throwaway test cluster (scripts/cluster.sh) ---
listen_addresses = '$listen'
unix_socket_directories = '$CLUSTER_DIR'
port = $port
fsync = off
max_prepared_transactions = $prepared
shared_preload_libraries = '$preload${CLUSTER_PRELOAD:+,$CLUSTER_PRELOAD}'
escrowpay.hmac_key_file = '$CLUSTER_KEYFILE'
$conf
${CLUSTER_EXTRA_CONF:-}
EOF

  if ! _cluster_as_pg "$PG_BINDIR/pg_ctl" -D "$data" -l "$log" \
         -w -t 60 start >/dev/null; then
    echo "cluster.sh: pg_ctl start failed; server log:" >&2
    cat "$log" >&2
    return 1
  fi
}

cluster_start() {
  if [ -n "$CLUSTER_DIR" ]; then
    echo "cluster.sh: a cluster is already running in $CLUSTER_DIR" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "cluster.sh: must run as root (initdb/pg_ctl are run via runuser -u postgres)" >&2
    return 1
  fi

  CLUSTER_DIR="$(mktemp -d /tmp/escrowpay-pg.XXXXXX)" || return 1
  # Stop/clean up on any exit from now on, including failures below.
  trap cluster_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  chown postgres: "$CLUSTER_DIR" || return 1
  CLUSTER_DATA="$CLUSTER_DIR/data"
  CLUSTER_LOG="$CLUSTER_DIR/postgres.log"
  CLUSTER_KEYFILE="$CLUSTER_DIR/escrowpay.keys"
  CLUSTER_CHECKPOINT_KEY="$CLUSTER_DIR/checkpoint.pem"

  local port
  port="$(_cluster_free_port)" || return 1

  _cluster_write_keyfile "$CLUSTER_KEYFILE" || return 1

  _cluster_write_checkpoint_key "$CLUSTER_CHECKPOINT_KEY" || return 1

  _cluster_node_start "$CLUSTER_DATA" "$CLUSTER_LOG" "$port" '' escrowpay 0 \
    "escrowpay.checkpoint_key_file = '$CLUSTER_CHECKPOINT_KEY'" || return 1

  export PGHOST="$CLUSTER_DIR" PGPORT="$port" PGUSER=postgres
  export CLUSTER_DIR CLUSTER_DATA CLUSTER_LOG CLUSTER_KEYFILE CLUSTER_CHECKPOINT_KEY
  echo "cluster.sh: started PostgreSQL on socket $PGHOST port $PGPORT"
}

# Stop the cluster (fast) and remove its scratch directory.  Safe to call
# more than once and when start failed half-way.
cluster_stop() {
  [ -n "$CLUSTER_DIR" ] || return 0
  if [ -f "$CLUSTER_DATA/postmaster.pid" ]; then
    _cluster_as_pg "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DATA" -m fast -w stop >/dev/null 2>&1 ||
      echo "cluster.sh: warning: pg_ctl stop failed for $CLUSTER_DATA" >&2
  fi
  if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
    echo "cluster.sh: kept $CLUSTER_DIR" >&2
  else
    rm -rf "$CLUSTER_DIR"
  fi
  CLUSTER_DIR=""
  unset PGHOST PGPORT PGUSER
}
