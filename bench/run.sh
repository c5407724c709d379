#!/bin/bash
# bench/run.sh -- escrowpay's benchmark suite (`make bench`).
#
# Runs, in one throwaway cluster and one run, pgbench's built-in tpcb-like
# workload and a minimal write transaction (one-row INSERT) as yardsticks,
# and escrowpay's workloads (bench/workloads/*.sql), at 1, 8 and 32 clients
# with -M prepared, each point repeated.  Absolute numbers on a shared
# 2-core machine are noise; the ratios against the yardsticks of the same
# run are the result.  Also measures p50/p99 latency (pgbench's per-
# transaction log), on-disk bytes per posted transfer, deadlocks and failed
# transactions, and how throughput holds up as the ledger grows.
#
# Writes bench/results/<date>.csv (every point), <date>.txt (the table) and
# <date>.png (TPS against clients).  Must run as root after `make install`.
#
# Knobs (environment): BENCH_SECONDS (per point, default 5), BENCH_REPS (rounds, 2),
# BENCH_CLIENTS ("1 8 32"), BENCH_WORKLOADS (all), BENCH_LONG_SECONDS (120,
# the run whose first and last 10 s are compared), BENCH_PRELOAD (1000000
# transfers before the grown-ledger run; 0 skips the growth and long runs),
# BENCH_PERF (1: record a perf profile of each escrowpay workload at 8
# clients into bench/results/<date>-perf-<workload>.txt), BENCH_WAITS (1:
# what each workload's server processes wait on at 8 clients, sampled from
# pg_stat_activity, into bench/results/<date>-waits-<workload>.txt), BENCH_RLS_DEALS (1000000 deals
# for the row-level security reads of bench/rls.sh; 0 skips them), BENCH_WAL
# (N: after each workload's warm-up, the WAL of N transactions at 8 clients,
# the worker's fold of them included, by record type and by relation, into
# bench/results/<date>-wal-<workload>.txt: a count of bytes that the load
# of the machine does not change), BENCH_CONF (more postgresql.conf lines for
# the cluster, e.g. the worker's settings).
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/cluster.sh
. bench/lib.sh

SECS=${BENCH_SECONDS:-5}
REPS=${BENCH_REPS:-2}
CLIENTS=${BENCH_CLIENTS:-"1 8 32"}
# The default order puts each target's two workloads side by side (the
# transfer's third, the hot deposit, one apart), so that a ratio compares
# points measured seconds apart, not minutes
WORKLOADS=${BENCH_WORKLOADS:-"base_hold hold minimal_write transfer base_transfer hot_deposit base_hot_deposit two_writes hold_capture_2calls base_hold_capture_2calls base_hot_merchant hot_merchant hold_capture base_hold_capture tpcb_like hold_batch capture_batch hold_release refund"}
LONG_SECS=${BENCH_LONG_SECONDS:-120}
PRELOAD=${BENCH_PRELOAD:-1000000}
ACCOUNTS=1000
BATCH=100

STAMP=$(date -u +%Y-%m-%dT%H%M)
RESULTS=bench/results
CSV=$RESULTS/$STAMP.csv
TXT=$RESULTS/$STAMP.txt
PNG=$RESULTS/$STAMP.png
mkdir -p "$RESULTS"

CLUSTER_EXTRA_CONF="$BENCH_DURABLE_CONF
escrowpay.maintenance_database = 'bench'
${BENCH_CONF:-}"
export CLUSTER_EXTRA_CONF
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
cluster_start
WORK=$(mktemp -d /tmp/escrowpay-bench.XXXXXX)
chmod 777 "$WORK"
trap 'cluster_stop; rm -rf "$WORK"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bench "$@"; }

echo "== setting up: pgbench tables (scale 32), $ACCOUNTS buyers, $ACCOUNTS merchants, a hot merchant"
createdb bench
pgbench -i -q -s 32 bench >/dev/null 2>&1
q <<SQL
CREATE EXTENSION escrowpay;
CREATE TABLE bench_minimal (id bigserial PRIMARY KEY, account bigint NOT NULL,
                            amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_ids (role text PRIMARY KEY, lo bigint, hi bigint);
INSERT INTO bench_ids
SELECT 'buyer', min(id), max(id) FROM (
  SELECT escrow.open_account('buyer ' || i, 'USD') AS id FROM generate_series(1, $ACCOUNTS) i) b;
INSERT INTO bench_ids
SELECT 'merchant', min(id), max(id) FROM (
  SELECT escrow.open_account('merchant ' || i, 'USD') AS id FROM generate_series(1, $ACCOUNTS) i) m;
-- the hot merchant: no configuration (every capture credits this one row)
INSERT INTO bench_ids SELECT 'hot', id, id FROM escrow.open_account('hot merchant', 'USD') id;
SELECT count(escrow.deposit(a, 1000000000000)) FROM generate_series(
  (SELECT lo FROM bench_ids WHERE role = 'buyer'), (SELECT hi FROM bench_ids WHERE role = 'buyer')) a;
SQL
# The hand-rolled PL/pgSQL baseline ledger, same accounts, same run.
q -f bench/baseline/baseline.sql
q <<SQL
SELECT baseline.open_account('funding', 'USD', 'system');
INSERT INTO bench_ids
SELECT 'bbuyer', min(id), max(id) FROM (
  SELECT baseline.open_account('buyer ' || i, 'USD') AS id FROM generate_series(1, $ACCOUNTS) i) b;
INSERT INTO bench_ids
SELECT 'bmerchant', min(id), max(id) FROM (
  SELECT baseline.open_account('merchant ' || i, 'USD') AS id FROM generate_series(1, $ACCOUNTS) i) m;
INSERT INTO bench_ids SELECT 'bhot', id, id FROM baseline.open_account('hot merchant', 'USD') id;
SELECT count(baseline.deposit(a, 1000000000000)) FROM generate_series(
  (SELECT lo FROM bench_ids WHERE role = 'bbuyer'), (SELECT hi FROM bench_ids WHERE role = 'bbuyer')) a;
SQL
ids() { q -c "SELECT lo || ' ' || hi FROM bench_ids WHERE role = '$1'"; }
read -r BUYER_LO BUYER_HI < <(ids buyer)
read -r MERCHANT_LO MERCHANT_HI < <(ids merchant)
read -r HOT _ < <(ids hot)
read -r BBUYER_LO BBUYER_HI < <(ids bbuyer)
read -r BMERCHANT_LO BMERCHANT_HI < <(ids bmerchant)
read -r BHOT _ < <(ids bhot)
VARS="-D buyer_lo=$BUYER_LO -D buyer_hi=$BUYER_HI -D merchant_lo=$MERCHANT_LO -D merchant_hi=$MERCHANT_HI -D hot=$HOT -D batch=$BATCH"
VARS="$VARS -D bbuyer_lo=$BBUYER_LO -D bbuyer_hi=$BBUYER_HI -D bmerchant_lo=$BMERCHANT_LO -D bmerchant_hi=$BMERCHANT_HI -D bhot=$BHOT"

# Refunds need captures to refund: one capture per buyer/merchant pair.
if [[ " $WORKLOADS " == *" refund "* ]]; then
  q <<SQL
INSERT INTO bench_ids
SELECT 'capture', min(t), max(t) FROM (
  SELECT escrow.capture(escrow.hold($BUYER_LO + i % $ACCOUNTS, $MERCHANT_LO + i % $ACCOUNTS, 100000000)) AS t
    FROM generate_series(0, 19999) i) c;
SQL
  read -r CAPTURE_LO CAPTURE_HI < <(ids capture)
  VARS="$VARS -D capture_lo=$CAPTURE_LO -D capture_hi=$CAPTURE_HI"
fi
q -c "VACUUM ANALYZE" -c "CHECKPOINT"

# Is a workload's entry point installed?  (batch calls arrive in later versions)
available() {
  case $1 in
    hold_batch) q -c "SELECT to_regproc('escrow.hold_batch') IS NOT NULL" | grep -q t ;;
    capture_batch) q -c "SELECT to_regproc('escrow.capture_batch') IS NOT NULL" | grep -q t ;;
    *) return 0 ;;
  esac
}

# Units of work per transaction (holds per hold_batch call)
units() { case $1 in hold_batch|capture_batch) echo $BATCH ;; *) echo 1 ;; esac; }

# The WAL of $BENCH_WAL transactions of workload $1 at 8 clients, from a
# queue with nothing waiting to fold to the same again (the worker folds
# them as in production): bytes and records per transaction, by record
# type (pg_waldump --stats=record) and by relation and record.
wal_per_transaction() {
  local w=$1 n=$2 start end out=$RESULTS/$STAMP-wal-$1.txt
  folded() {
    for _ in $(seq 1 240); do
      [ "$(q -c "SELECT count(*) FROM escrow.unfolded")" = 0 ] && return
      sleep 0.5
    done
    echo "bench: $w: legs still waiting after 120 s; the count below misses their fold" >&2
  }
  folded
  q -c "SELECT pg_switch_wal()" >/dev/null   # the range starts in a fresh segment
  start=$(q -c "SELECT pg_current_wal_insert_lsn()")
  run_pgbench "$w" 8 0 -t $((n / 8)) | grep -q '^tps' || { echo "bench: $w failed" >&2; exit 1; }
  folded
  end=$(q -c "SELECT pg_current_wal_insert_lsn()")
  # pg_waldump reads the files: wait until the range is written
  until [ "$(q -c "SELECT pg_current_wal_lsn() >= '$end'")" = t ]; do sleep 0.2; done
  q -F ' ' -c "SELECT relfilenode, relname FROM pg_class WHERE relfilenode <> 0" > "$WORK/rels"
  {
    q -c "SELECT format('%s: %s transactions at 8 clients, %s WAL bytes per transaction',
                        '$w', $n, round(('$end'::pg_lsn - '$start'::pg_lsn) / $n::numeric))"
    pg_waldump -p "$CLUSTER_DATA/pg_wal" -s "$start" -e "$end" --stats=record 2>/dev/null
    echo
    echo "by relation and record (bytes and records per transaction, full-page images included):"
    pg_waldump -p "$CLUSTER_DATA/pg_wal" -s "$start" -e "$end" 2>/dev/null |
      awk -v n="$n" 'NR == FNR {name[$1] = $2; next}
        {
          rel = "-"
          if (match($0, /blkref #0: rel [0-9]+\/[0-9]+\/[0-9]+/)) {
            split(substr($0, RSTART + 15, RLENGTH - 15), r, "/")
            rel = (r[3] in name) ? name[r[3]] : r[3]
          }
          match($0, /desc: [A-Z_+]+/); d = substr($0, RSTART + 6, RLENGTH - 6)
          match($0, /\/ *[0-9]+,/); len = substr($0, RSTART + 1, RLENGTH - 2) + 0
          k = sprintf("%-28s %-10s %-16s", rel, $2, d); b[k] += len; c[k]++
        }
        END {for (k in b) printf "%s %8.1f %6.2f\n", k, b[k] / n, c[k] / n}' "$WORK/rels" - |
      sort -k4 -n -r
  } > "$out"
  head -1 "$out"
}

deadlocks() { q -c "SELECT deadlocks + conflicts FROM pg_stat_database WHERE datname = 'bench'"; }

# run_pgbench WORKLOAD CLIENTS SECONDS [extra pgbench args] -> pgbench output
# on stdout (SECONDS 0: no -T, the extra arguments say how much)
run_pgbench() {
  local w=$1 c=$2 s=$3
  shift 3
  local j=$((c < 2 ? c : 2))
  [ "$s" = 0 ] || set -- -T "$s" "$@"
  if [ "$w" = tpcb_like ]; then
    pgbench -n -b tpcb-like -M prepared -c "$c" -j "$j" "$@" bench 2>&1
  else
    # shellcheck disable=SC2086
    pgbench -n -f "bench/workloads/$w.sql" $VARS -M prepared -c "$c" -j "$j" "$@" bench 2>&1
  fi
}

# beside_workload W CMD...: run CMD (which takes $SECS s) while workload W
# runs at 8 clients, in a run of its own after W's points (what CMD
# measures costs the server a little CPU): W starts 1 s before CMD and
# ends about 1 s after it.
beside_workload() {
  local w=$1
  shift
  run_pgbench "$w" 8 $((SECS + 2)) >/dev/null &
  sleep 1
  "$@"
  wait
}

# What the server's processes wait on while workload $1 runs (with
# beside_workload): pg_stat_activity sampled every 10 ms for $SECS s by
# one session (one process, whatever the number of samples), each backend
# type's samples counted by wait event ("CPU" when it waits on none), into
# bench/results/<date>-waits-<workload>.txt.
wait_events() {
  local w=$1
  q > "$RESULTS/$STAMP-waits-$w.txt" <<SQL
CREATE TEMP TABLE wait_samples (backend_type text, pid int, wait text);
DO \$\$
BEGIN
  FOR i IN 1 .. $SECS * 100 LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO wait_samples
    SELECT backend_type, pid, coalesce(wait_event_type || ':' || wait_event, 'CPU')
      FROM pg_stat_activity
     WHERE pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'
       AND backend_type IN ('client backend', 'escrowpay maintenance', 'walwriter',
                            'autovacuum worker', 'checkpointer', 'background writer');
    PERFORM pg_sleep(0.01);
  END LOOP;
END
\$\$;
\\pset format aligned
\\pset tuples_only off
\\pset footer off
\\echo '$w at 8 clients: pg_stat_activity sampled every 10 ms for $SECS s'
\\echo '(% of time: of the samples of every process of the type, busy or idle)'
SELECT backend_type, wait, count(*) AS samples,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY backend_type), 1) AS "% of busy",
       round(100.0 * count(*) / ($SECS * 100 * (SELECT count(DISTINCT pid) FROM wait_samples s
                                                 WHERE s.backend_type = w.backend_type)), 1) AS "% of time"
  FROM wait_samples w GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 3 DESC;
SQL
}

# Where the server spends workload $1's time (with beside_workload): a
# perf profile of this cluster's processes only (the machine is shared)
# for $SECS s, into bench/results/<date>-perf-<workload>.txt.
perf_profile() {
  local w=$1 pids
  pids=$(pgrep -d, -P "$(head -1 "$CLUSTER_DATA/postmaster.pid")" || true)
  perf record -q -g -p "$pids" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 || true
}

echo "date,workload,clients,rep,tps,units_per_s,p50_ms,p99_ms,failed" > "$CSV"
DL_BEFORE=$(deadlocks)
FAILED_TOTAL=0

# The points run in rounds: each round runs every workload once at each
# client count, the odd rounds in the listed order and the even ones in
# reverse (A B ... B A), so that a drift of the machine over the run (the
# disk's fsync latency moves by tens of per cent over minutes here) falls
# on a workload and its yardstick alike.  A ratio is computed within each
# round and the rounds' ratios are averaged (their range is shown).
reversed() { local out="" x; for x in $1; do out="$x${out:+ $out}"; done; echo "$out"; }
for r in $(seq 1 "$REPS"); do
  order=$WORKLOADS
  [ $((r % 2)) = 1 ] || order=$(reversed "$WORKLOADS")
  echo "== round $r of $REPS"
  for w in $order; do
    if ! available "$w"; then
      [ "$r" != 1 ] || echo "== $w: not available in this build, skipped"
      continue
    fi
    # every point after a warm-up of its own: what the previous workload
    # left to fold is folded, the plans are made
    run_pgbench "$w" 8 2 >/dev/null
    if [ "$r" = 1 ] && [ -n "${BENCH_WAL:-}" ]; then
      wal_per_transaction "$w" "$BENCH_WAL"
    fi
    for c in $CLIENTS; do
      rm -f "$WORK"/log.*
      out=$(run_pgbench "$w" "$c" "$SECS" -l --log-prefix="$WORK/log")
      tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
      failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
      failed=${failed:-0}
      if [ -z "$tps" ]; then
        echo "$out" >&2
        echo "bench: pgbench failed for $w at $c clients" >&2
        exit 1
      fi
      read -r p50 p99 < <(cat "$WORK"/log.* | awk '{print $3}' | sort -n |
        awk '{v[NR]=$1} END {if (NR == 0) {print "0 0"; exit}
             i50 = int(NR * 0.50); if (i50 < 1) i50 = 1;
             i99 = int(NR * 0.99); if (i99 < 1) i99 = 1;
             printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000}')
      u=$(awk -v t="$tps" -v n="$(units "$w")" 'BEGIN {printf "%.1f", t * n}')
      FAILED_TOTAL=$((FAILED_TOTAL + failed))
      echo "$STAMP,$w,$c,$r,$tps,$u,$p50,$p99,$failed" >> "$CSV"
      printf '   %-14s %2d clients round %d: %9.1f tps  p50 %7.3f ms  p99 %7.3f ms  failed %s\n' \
        "$w" "$c" "$r" "$tps" "$p50" "$p99" "$failed"
    done
    if [ "$r" = 1 ] && [ "${BENCH_WAITS:-0}" = 1 ]; then
      beside_workload "$w" wait_events "$w"
    fi
    if [ "$r" = 1 ] && [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
      beside_workload "$w" perf_profile "$w"
      perf report -q -i "$WORK/perf.data" --no-children --comm postgres --sort dso,symbol \
        --percent-limit 0.7 -g none 2>/dev/null | sed 's/ *$//' > "$RESULTS/$STAMP-perf-$w.txt" || true
    fi
  done
done
DL_AFTER=$(deadlocks)

echo "== storage: on-disk bytes per posted transfer (folded, after VACUUM)"
q -c "SELECT escrow.fold_journal(1000000)" >/dev/null
q -c "VACUUM ANALYZE escrow.transfers, escrow.entries, escrow.unfolded, escrow.holds"
read -r N_TRANSFERS JOURNAL_BYTES HOLD_BYTES N_HOLDS < <(q -F ' ' -c "
  SELECT (SELECT count(*) FROM escrow.transfers),
         pg_total_relation_size('escrow.transfers') + pg_total_relation_size('escrow.entries')
         + pg_total_relation_size('escrow.unfolded'),
         pg_total_relation_size('escrow.holds'),
         (SELECT count(*) FROM escrow.holds)")
BYTES_PER_TRANSFER=$(awk -v b="$JOURNAL_BYTES" -v n="$N_TRANSFERS" 'BEGIN {printf "%.0f", b / n}')
BYTES_PER_HOLD=$(awk -v b="$HOLD_BYTES" -v n="$N_HOLDS" 'BEGIN {printf "%.0f", b / (n ? n : 1)}')
VERIFY=$(q -c "SELECT count(*) FROM escrow.verify_ledger()")

GROWN_N=0 GROWN_BYTES="" GROWN_TPS="" EMPTY_TPS="" FIRST10="" LAST10="" VERIFY_GROWTH=0
if [ "$PRELOAD" != 0 ]; then
echo "== growth: hold+capture at 8 clients on an empty ledger, then with $PRELOAD transfers"
q -c "CREATE DATABASE bench_growth" -d bench
growth_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d bench_growth "$@"; }
growth_db <<SQL
CREATE EXTENSION escrowpay;
SELECT count(escrow.open_account('buyer ' || i, 'USD')) FROM generate_series(1, $ACCOUNTS) i;
SELECT count(escrow.open_account('merchant ' || i, 'USD')) FROM generate_series(1, $ACCOUNTS) i;
SELECT count(escrow.deposit(a, 1000000000000)) FROM generate_series($BUYER_LO, $BUYER_HI) a;
VACUUM ANALYZE;
SQL
growth_tps() {
  # shellcheck disable=SC2086
  pgbench -n -f bench/workloads/hold_capture.sql $VARS -M prepared -c 8 -j 2 -T "$SECS" bench_growth 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}
growth_tps >/dev/null   # warm-up, so that both runs start warm
EMPTY_TPS=$(growth_tps)
# Preload in two parallel sessions of 10,000-transfer transactions.
per=$((PRELOAD / 2 / 10000))
for s in 0 1; do
  (
    for _ in $(seq 1 "$per"); do
      # each session uses its own half of the buyers and merchants: a
      # multi-transfer transaction locks accounts in no fixed order
      echo "SELECT count(escrow.transfer($BUYER_LO + $s * $ACCOUNTS / 2 + (i * 7) % ($ACCOUNTS / 2), $MERCHANT_LO + $s * $ACCOUNTS / 2 + i % ($ACCOUNTS / 2), 1)) FROM generate_series(1, 10000) i;"
    done | PGOPTIONS='-c synchronous_commit=off' growth_db >/dev/null
  ) &
done
wait
growth_db -c "SELECT escrow.fold_journal(1000000)" >/dev/null
growth_db -c "VACUUM ANALYZE" -c "CHECKPOINT"
GROWN_N=$(growth_db -c "SELECT count(*) FROM escrow.transfers")
GROWN_BYTES=$(growth_db -c "SELECT round((pg_total_relation_size('escrow.transfers')
  + pg_total_relation_size('escrow.entries') + pg_total_relation_size('escrow.unfolded'))
  / count(*)::numeric) FROM escrow.transfers")
# warmed up like the empty ledger: measured cold, right after the
# CHECKPOINT above (every page's first change then writes a full-page
# image), it was not the same measurement (bench/README.md, "The grown
# ledger")
growth_tps >/dev/null
GROWN_TPS=$(growth_tps)

echo "== long run: hold+capture, 8 clients, $LONG_SECS s; first vs last 10 s"
# shellcheck disable=SC2086
LONG_OUT=$(pgbench -n -f bench/workloads/hold_capture.sql $VARS -M prepared -c 8 -j 2 \
             -T "$LONG_SECS" -P 10 bench_growth 2>&1)
FIRST10=$(sed -n 's/^progress: [0-9.]* s, \([0-9.]*\) tps.*/\1/p' <<<"$LONG_OUT" | head -1)
LAST10=$(sed -n 's/^progress: [0-9.]* s, \([0-9.]*\) tps.*/\1/p' <<<"$LONG_OUT" | tail -1)
# verify_ledger() over a million transfers would take most of a minute;
# the bench database is verified in full, this one by its zero sum
VERIFY_GROWTH=$(growth_db -c "SELECT count(*) FROM (SELECT currency FROM escrow.balances GROUP BY currency HAVING sum(posted) <> 0) c")
fi

if [ "${BENCH_RLS_DEALS:-1000000}" != 0 ]; then
  BENCH_IN_CLUSTER=1 bench/rls.sh | tee "$RESULTS/$STAMP-rls.txt"
fi

# ---- the table -----------------------------------------------------------
mean() { awk -F, -v w="$1" -v c="$2" -v col="$3" '$2 == w && $3 == c {s += $col; n++} END {if (n) printf "%.1f", s / n}' "$CSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else printf "-"}'; }
# rratio W1 C1 W2 C2: units/s of W1 at C1 clients over W2's at C2, computed
# within each round; prints the rounds' mean and their range ("0.83
# 0.78-0.88"), or "- " when a point is missing
rratio() {
  awk -F, -v w1="$1" -v c1="$2" -v w2="$3" -v c2="$4" '
    $2 == w1 && $3 == c1 {a[$4] = $6}
    $2 == w2 && $3 == c2 {b[$4] = $6}
    END {
      for (r in a) if ((r in b) && b[r] > 0) {
        v = a[r] / b[r]; s += v; n++
        if (n == 1 || v < lo) lo = v
        if (n == 1 || v > hi) hi = v
      }
      if (n == 0) {print "- "; exit}
      printf "%.2f %.2f-%.2f\n", s / n, lo, hi
    }' "$CSV"
}
{
  echo "escrowpay benchmark $STAMP: $(nproc) cores, PostgreSQL $(q -c 'SHOW server_version'), fsync on, synchronous_commit on"
  echo "machine load average (1, 5, 15 min) at the start: $LOAD_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "each point: mean of $REPS rounds of $SECS s (odd rounds in order, even ones reversed), -M prepared, $ACCOUNTS buyers x $ACCOUNTS merchants"
  echo "a ratio: computed within each round, the mean of the rounds, their range after it"
  echo
  printf '%-14s %7s %11s %11s %9s %9s %8s %8s\n' workload clients tps units/s "x tpcb" "x minimal" "p50 ms" "p99 ms"
  for w in $WORKLOADS; do
    for c in $CLIENTS; do
      t=$(mean "$w" "$c" 5)
      [ -n "$t" ] || continue
      printf '%-14s %7s %11s %11s %9s %9s %8s %8s\n' "$w" "$c" "$t" "$(mean "$w" "$c" 6)" \
        "$(ratio "$(mean "$w" "$c" 6)" "$(mean tpcb_like "$c" 5)")" \
        "$(ratio "$(mean "$w" "$c" 6)" "$(mean minimal_write "$c" 5)")" \
        "$(mean "$w" "$c" 7)" "$(mean "$w" "$c" 8)"
    done
  done
  echo
  echo "targets (8 clients):"
  # a target: the rounds' mean ratio against it, and the rounds' range
  check() { awk -v v="$2" -v t="$3" -v name="$1" -v range="${4:-}" 'BEGIN {printf "  %-58s %8s  (target >= %s)  %-6s %s\n", name, v, t, (v != "-" && v + 0 >= t) ? "met" : "MISSED", range == "" ? "" : "rounds " range}'; }
  target() { local name=$1 t=$2 v range; shift 2; read -r v range < <(rratio "$@"); check "$name" "$v" "$t" "$range"; }
  info() { local name=$1 v range; shift; read -r v range < <(rratio "$@"); printf '  %-58s %8s  %s\n' "$name" "$v" "${range:+rounds $range}"; }
  target "hold / minimal write" 0.85 hold 8 minimal_write 8
  target "transfer / minimal write" 0.8 transfer 8 minimal_write 8
  target "hold+capture, two calls / minimal two-write transaction" 0.8 hold_capture_2calls 8 two_writes 8
  target "hot merchant / uniform hold+capture (no configuration)" 0.9 hot_merchant 8 hold_capture 8
  target "hot funding account: deposit / transfer" 0.9 hot_deposit 8 transfer 8
  target "hold_batch holds per second / tpcb-like tps" 10 hold_batch 8 tpcb_like 8
  target "escrowpay / baseline: transfer" 1.3 transfer 8 base_transfer 8
  target "escrowpay / baseline: hot merchant" 2 hot_merchant 8 base_hot_merchant 8
  info "escrowpay / baseline: transfer, 1 client" transfer 1 base_transfer 1
  info "escrowpay / baseline: hold" hold 8 base_hold 8
  info "escrowpay / baseline: hold+capture" hold_capture 8 base_hold_capture 8
  info "escrowpay / baseline: hold+capture, two calls" hold_capture_2calls 8 base_hold_capture_2calls 8
  info "escrowpay / baseline: hot deposit" hot_deposit 8 base_hot_deposit 8
  info "hold+capture (one statement) / minimal two-write" hold_capture 8 two_writes 8
  target "client scaling: transfer 32 clients / 8 clients" 0.9 transfer 32 transfer 8
  if [ "$PRELOAD" != 0 ]; then
    check "grown ledger ($GROWN_N transfers) / empty ledger" "$(ratio "$GROWN_TPS" "$EMPTY_TPS")" 0.9
    check "long run: last 10 s / first 10 s" "$(ratio "$LAST10" "$FIRST10")" 0.9
    printf '  %-58s %8s\n' "bytes per posted transfer at $GROWN_N transfers" "$GROWN_BYTES"
  fi
  printf '  %-58s %8s  (target <= 300)  %s\n' "bytes per posted transfer (transfers + entries + indexes)" \
    "$BYTES_PER_TRANSFER" "$([ "$BYTES_PER_TRANSFER" -le 300 ] && echo met || echo MISSED)"
  printf '  %-58s %8s\n' "bytes per hold (holds table + indexes)" "$BYTES_PER_HOLD"
  printf '  %-58s %8s  (target 0)  %s\n' "deadlocks + failed transactions" \
    "$((DL_AFTER - DL_BEFORE + FAILED_TOTAL))" "$([ $((DL_AFTER - DL_BEFORE + FAILED_TOTAL)) -eq 0 ] && echo met || echo MISSED)"
  printf '  %-58s %8s\n' "verify_ledger() problems (bench db) + unbalanced currencies (growth db)" "$((VERIFY + VERIFY_GROWTH))"
  echo "  (empty ledger $EMPTY_TPS tps, grown $GROWN_TPS tps; long run first 10 s $FIRST10, last 10 s $LAST10 tps)"
} | tee "$TXT"

# ---- the plot ------------------------------------------------------------
if command -v gnuplot >/dev/null; then
  plot=""
  for w in $WORKLOADS; do
    for c in $CLIENTS; do
      t=$(mean "$w" "$c" 6)
      [ -n "$t" ] && echo "$c $t"
    done > "$WORK/$w.dat"
    [ -s "$WORK/$w.dat" ] && plot="$plot${plot:+, }'$WORK/$w.dat' using 1:2 with linespoints title '$w'"
  done
  gnuplot <<EOF
set terminal png size 900,600 noenhanced
set output '$PNG'
set title 'escrowpay $STAMP: units per second against clients (same run)'
set xlabel 'clients'
set ylabel 'transactions (batch: holds) per second'
set logscale xy
set xtics (1, 8, 32)
set key outside right
set grid
plot $plot
EOF
  echo "plot: $PNG"
fi
echo "csv: $CSV  table: $TXT"
