#!/bin/bash
# scripts/demo.sh -- run the demo (called by `make demo`).  Must run as
# root.  Installs what it needs (scripts/deps.sh), builds and installs the
# extension, starts a throwaway cluster (scripts/cluster.sh), creates
# database escrow_demo with the extension, runs scripts/demo.sql with psql
# (stopping at the first error), and stops the cluster again (also on
# failure).
#
# Output: one line per preparation step (scripts/progress.sh; the commands'
# output goes to log/make-demo.log, V=1 shows it), then the narrated demo.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
. scripts/cluster.sh
. scripts/progress.sh

LOG=log/make-demo.log
progress_init "$LOG"

# step STATUS CMD...: run a preparation step; on failure show its output
step() {
  local status=$1
  shift
  if ! progress_run "$status" "$@"; then
    progress_say "$status FAILED (full output: $LOG)"
    progress_fail_tail "$LOG" 40
    exit 1
  fi
}

step deps scripts/deps.sh
step build make --no-print-directory -j"$(nproc)" all install
progress_say "build ok"
progress_status "throwaway cluster"
if ! cluster_start >>"$PROGRESS_LOG" 2>&1; then    # not in a pipeline: it sets PGHOST...
  progress_say "throwaway cluster FAILED (full output: $LOG)"
  progress_fail_tail "$LOG" 40
  exit 1
fi
step "database escrow_demo" createdb escrow_demo
step "CREATE EXTENSION escrowpay" psql -X -q -v ON_ERROR_STOP=1 -d escrow_demo -c 'CREATE EXTENSION escrowpay'
progress_say "cluster started, database escrow_demo has the extension"
psql -X -v ON_ERROR_STOP=1 -d escrow_demo -f scripts/demo.sql
rc=$?
if [ "$rc" = 0 ]; then
  progress_say "demo finished"
else
  progress_say "demo FAILED (psql exit status $rc)"
fi
exit "$rc"
