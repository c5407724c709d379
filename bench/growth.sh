#!/bin/bash
# bench/growth.sh -- bench/run.sh's grown-ledger measurement, A/B in one
# run: hold+capture at 8 clients on an empty ledger and on one with
# GROWTH_PRELOAD transfers (default 200000, sealed by a checkpoint like a
# ledger the worker has been sealing), for each build and each worker
# setting, GROWTH_REPS times in rotation, so that every figure is taken
# beside the others on the same machine.
#
# Builds: GROWTH_BINDIRS, the bin directories of PostgreSQL installs with
# escrowpay installed in each (default: pg_config --bindir); one throwaway
# cluster per build, one after the other in each round.
# Worker settings (GROWTH_VARIANTS):
#   away   the worker in another database, as bench/run.sh has it (the
#          measured database is neither folded nor checkpointed);
#   runsh  away, and the grown ledger measured as bench/run.sh does it:
#          right after VACUUM ANALYZE and CHECKPOINT, without a warm-up;
#   fold   the worker in the measured database, checkpoints off;
#   ckpt   the worker in the measured database, a checkpoint every
#          GROWTH_CHECKPOINT_INTERVAL seconds (default 5).
# Each point runs GROWTH_SECONDS (default 10) after a 3 s warm-up, in a
# fresh copy of its ledger; the worker's checkpoints during it (count, mean
# and longest ms, and their WAL bytes and blocks dirtied per transfer
# sealed, from pg_stat_statements) and the anchor tables' inserts, updates
# (HOT or not) and size are reported beside it; with GROWTH_TOP=N, also the
# N statements that took the most time (nested ones included).
# Must run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cluster.sh
. bench/lib.sh

PREFIXES=${GROWTH_BINDIRS:-$(pg_config --bindir)}
VARIANTS=${GROWTH_VARIANTS:-"runsh away fold ckpt"}
REPS=${GROWTH_REPS:-2}
SECS=${GROWTH_SECONDS:-10}
PRELOAD=${GROWTH_PRELOAD:-200000}
CKPT=${GROWTH_CHECKPOINT_INTERVAL:-5}
ACCOUNTS=1000
OUT=$(mktemp /tmp/escrowpay-growth.XXXXXX)

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# worker_to DB CHECKPOINT_INTERVAL: move the worker (it exits on a new
# database and the postmaster starts it again there) and wait for it
worker_to() {
  q -d postgres -c "ALTER SYSTEM SET escrowpay.maintenance_database = '$1'" \
    -c "ALTER SYSTEM SET escrowpay.checkpoint_interval = $2" -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 60); do
    [ "$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity
           WHERE backend_type = 'escrowpay maintenance' AND datname = '$1'")" = 1 ] && return 0
    sleep 1
  done
  echo "growth: the worker did not start in $1" >&2
  return 1
}

# setup: an empty ledger (template growth_empty) and a grown one
# (growth_grown), and the idle database the worker waits in when away
setup() {
  local s
  q -d postgres -c "CREATE DATABASE growth_idle" -c "CREATE DATABASE growth_empty"
  q -d growth_idle -c "CREATE EXTENSION escrowpay"
  q -d growth_empty -c "CREATE EXTENSION escrowpay" -c "CREATE EXTENSION pg_stat_statements"
  read -r BUYER_LO BUYER_HI < <(q -d growth_empty -F ' ' -c "
    SELECT min(id), max(id) FROM (SELECT escrow.open_account('buyer ' || i, 'USD') AS id
                                    FROM generate_series(1, $ACCOUNTS) i) a")
  read -r MERCHANT_LO MERCHANT_HI < <(q -d growth_empty -F ' ' -c "
    SELECT min(id), max(id) FROM (SELECT escrow.open_account('merchant ' || i, 'USD') AS id
                                    FROM generate_series(1, $ACCOUNTS) i) a")
  q -d growth_empty <<SQL >/dev/null
SELECT count(escrow.deposit(a, 1000000000000)) FROM generate_series($BUYER_LO, $BUYER_HI) a;
SELECT escrow.fold_journal(1000000);
SELECT escrow.checkpoint();
VACUUM ANALYZE;
SQL
  VARS="-D buyer_lo=$BUYER_LO -D buyer_hi=$BUYER_HI -D merchant_lo=$MERCHANT_LO -D merchant_hi=$MERCHANT_HI"
  q -d postgres -c "CREATE DATABASE growth_grown TEMPLATE growth_empty"
  s=$(date +%s)
  # as bench/run.sh preloads: two sessions of 10,000-transfer transactions
  for half in 0 1; do
    (
      for _ in $(seq 1 $((PRELOAD / 2 / 10000))); do
        echo "SELECT count(escrow.transfer($BUYER_LO + $half * $ACCOUNTS / 2 + (i * 7) % ($ACCOUNTS / 2), $MERCHANT_LO + $half * $ACCOUNTS / 2 + i % ($ACCOUNTS / 2), 1)) FROM generate_series(1, 10000) i;"
      done | PGOPTIONS='-c synchronous_commit=off' q -d growth_grown >/dev/null
    ) &
  done
  wait
  q -d growth_grown -c "SELECT escrow.fold_journal(1000000)" >/dev/null
  local c
  c=$(date +%s)
  q -d growth_grown -c "SELECT escrow.checkpoint()" >/dev/null
  echo "   $1: preloaded $PRELOAD transfers in $((c - s)) s, sealed them in $(( $(date +%s) - c )) s" | tee -a "$OUT"
  q -d growth_grown -c "VACUUM ANALYZE" -c "CHECKPOINT"
}

# point BUILD VARIANT LEDGER: one measurement in a fresh copy of the ledger
point() {
  local build=$1 v=$2 ledger=$3 db=growth_run tps ck
  q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE growth_$ledger"
  case $v in
    away|runsh) worker_to growth_idle -1 ;;
    fold) worker_to $db -1 ;;
    ckpt) worker_to $db "$CKPT" ;;
  esac
  q -d $db -c "SELECT pg_stat_statements_reset()" >/dev/null
  local sealed_before
  sealed_before=$(q -d $db -c "SELECT coalesce(max(tree_size), 0) FROM escrow.checkpoints")
  if [ "$v-$ledger" = runsh-grown ]; then
    q -d $db -c "VACUUM ANALYZE" -c "CHECKPOINT"
  else
    # shellcheck disable=SC2086
    pgbench -n -f bench/workloads/hold_capture.sql $VARS -M prepared -c 8 -j 2 -T 3 $db >/dev/null 2>&1
  fi
  # shellcheck disable=SC2086
  tps=$(pgbench -n -f bench/workloads/hold_capture.sql $VARS -M prepared -c 8 -j 2 -T "$SECS" $db 2>&1 |
          sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
  # the worker's checkpoints: count, mean and longest ms, and per sealed
  # transfer their WAL bytes and shared blocks dirtied (the same whatever
  # the machine's load)
  ck=$(q -d $db -F ' ' -c "
    SELECT coalesce(sum(calls), 0), round(coalesce(sum(total_exec_time) / nullif(sum(calls), 0), 0)::numeric),
           round(coalesce(max(max_exec_time), 0)::numeric),
           round(coalesce(sum(wal_bytes) / nullif(n.sealed, 0), 0)::numeric),
           round(coalesce(sum(shared_blks_dirtied)::numeric / nullif(n.sealed, 0), 0), 3)
      FROM pg_stat_statements,
           (SELECT coalesce(max(tree_size), 0) - $sealed_before AS sealed FROM escrow.checkpoints) n
     WHERE query LIKE '%escrow.checkpoint()%' AND toplevel GROUP BY n.sealed")
  ck=${ck:-0 0 0 0 0}
  if [ -n "${GROWTH_TOP:-}" ]; then
    q -d $db -F ' | ' -c "
      SELECT round(total_exec_time::numeric), calls, round((total_exec_time / calls)::numeric, 3),
             left(regexp_replace(query, '\s+', ' ', 'g'), 150)
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $GROWTH_TOP" |
      sed "s|^|   $v $ledger top: |" >> "$OUT"
  fi
  worker_to growth_idle -1
  # (the worker reports its table statistics as it leaves the database)
  local anchors
  anchors=$(q -d $db -F ' ' -c "
    SELECT sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_hot_upd), sum(pg_total_relation_size(relid))
      FROM pg_stat_user_tables
     WHERE relid IN (to_regclass('escrow.balance_anchors'), to_regclass('escrow.open_balance_anchors'))")
  printf '%s %s %s %s %s %s\n' "$build" "$v" "$ledger" "$tps" "$ck" "$anchors" | tee -a "$OUT"
}

CLUSTER_EXTRA_CONF="$BENCH_DURABLE_CONF
escrowpay.maintenance_database = 'growth_idle'
pg_stat_statements.track = all"
CLUSTER_PRELOAD=pg_stat_statements
export CLUSTER_EXTRA_CONF CLUSTER_PRELOAD
ORIG_PATH=$PATH
echo "# build variant ledger tps checkpoints ckpt_mean_ms ckpt_max_ms ckpt_wal_bytes_per_transfer ckpt_blocks_dirtied_per_transfer anchors_ins anchors_upd anchors_hot_upd anchors_bytes" | tee "$OUT"
# one cluster per build, set up once, started for its turn in each round
declare -A DIRS
ALL_DIRS=""
pg_as() { (cd /tmp && runuser -u postgres -- "$@"); }
stop_all() {
  local d
  set +e
  for d in $ALL_DIRS; do
    if [ -f "$d/data/postmaster.pid" ]; then
      pg_as "${DIRS[$d]}/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null 2>&1
    fi
    rm -rf "$d"
  done
}
for p in $PREFIXES; do
  PG_BINDIR=$p
  export PATH=$PG_BINDIR:$ORIG_PATH
  CLUSTER_DIR=""
  cluster_start
  trap stop_all EXIT
  DIRS[$p]=$CLUSTER_DIR
  DIRS[$CLUSTER_DIR]=$PG_BINDIR
  ALL_DIRS="$ALL_DIRS $CLUSTER_DIR"
  echo "== $p: setting up (port $PGPORT)"
  setup "$p"
  pg_as "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DATA" -m fast -w stop >/dev/null
done
for _ in $(seq 1 "$REPS"); do
  for p in $PREFIXES; do
    d=${DIRS[$p]}
    export PATH=${DIRS[$d]}:$ORIG_PATH PGHOST=$d
    PGPORT=$(sed -n 's/^port = //p' "$d/data/postgresql.conf")
    export PGPORT
    pg_as "${DIRS[$d]}/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w start >/dev/null
    for v in $VARIANTS; do
      point "$p" "$v" empty
      point "$p" "$v" grown
    done
    pg_as "${DIRS[$d]}/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
  done
done
echo "== grown / empty ledger, mean over $REPS rounds"
awk 'NF == 13 && !/^#/ {k = $1 " " $2; t[k " " $3] += $4; c[k " " $3]++; keys[k] = 1}
     END {for (k in keys) printf "%s: empty %.0f tps, grown %.0f tps, grown/empty %.2f\n", k,
          t[k " empty"] / c[k " empty"], t[k " grown"] / c[k " grown"],
          (t[k " grown"] / c[k " grown"]) / (t[k " empty"] / c[k " empty"])}' "$OUT" | sort
echo "points: $OUT"
