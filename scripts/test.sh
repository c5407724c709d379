#!/bin/bash
# scripts/test.sh -- run the whole test suite (called by `make test`, after
# `make all install`).  Must run as root.
#
#   1. regress    pg_regress tests (REGRESS in the Makefile: sql/*.sql)
#   2. isolation  isolation specs (ISOLATION: test/isolation/specs/*.spec)
#   3. pgtap      pg_prove on test/pgtap/*.sql in a fresh database
#                 escrow_pgtap (CREATE EXTENSION pgtap, escrowpay)
#      -- 1 to 3 share one throwaway cluster (scripts/cluster.sh), driven as
#         root through PGHOST/PGPORT/PGUSER=postgres.
#   4. tap        Perl TAP tests (PROVE_TESTS: test/t/*.pl); they start their
#                 own clusters, so they run as `postgres` in a postgres-owned
#                 copy of the tree via `make installcheck REGRESS= ISOLATION=`.
#
# Each kind is skipped (counted 0) when it has no test files.  Regress and
# isolation count tests, pgtap and tap count test files.  A test that was
# expected but never reported (e.g. pg_regress aborted) counts as failed; a
# step that errors without any failure counted adds one failure.  On failure
# the diffs / logs are printed.  The last line of output is always
# `N passed, M failed`; exit status is non-zero iff M > 0.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
REPO="$(pwd)"
. scripts/cluster.sh

PGTAP_DB=escrow_pgtap

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: must run as root" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

WORK="$(mktemp -d /tmp/escrowpay-test.XXXXXX)"   # logs of this run
TAPDIR=""                                         # postgres-owned tree copy
cleanup() {
  cluster_stop
  rm -rf "$WORK"
  [ -z "$TAPDIR" ] || rm -rf "$TAPDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()

# record KIND PASSED FAILED [NOTE]
record() {
  TOTAL_PASS=$((TOTAL_PASS + $2))
  TOTAL_FAIL=$((TOTAL_FAIL + $3))
  SUMMARY+=("$(printf '%-10s %3d passed, %3d failed%s' "$1:" "$2" "$3" "${4:+  ($4)}")")
}

banner() { printf '\n======== %s ========\n' "$*"; }

# Value of a variable as the Makefile (plus PGXS and make's command line)
# defines it.
make_var() {
  # shellcheck disable=SC2016
  printf 'print-%%:\n\t@echo $($*)\n' |
    make -s --no-print-directory -f Makefile -f - "print-$1"
}

# Expand the glob patterns in "$@" to existing files, one per line.
expand_globs() {
  local pat f
  shopt -s nullglob
  for pat in "$@"; do
    for f in $pat; do [ -e "$f" ] && echo "$f"; done
  done
  shopt -u nullglob
}

# Count a prove / pg_prove run: count_prove LOG NFILES RC -> sets P and F.
# Files run come from "Files=N,"; failures are the files listed in the
# "Test Summary Report" (each as "name (Wstat: W Tests: T Failed: N)")
# with a non-zero exit status or failed tests -- a file listed only for
# "TODO passed" has not failed.
count_prove() {
  local log=$1 nfiles=$2 rc=$3 run
  run="$(sed -n 's/^Files=\([0-9]*\),.*/\1/p' "$log" | tail -1)"
  F="$(awk '/^Test Summary Report/ {s = 1; next}
            s && /^[^ ].* \(Wstat: / && !/\(Wstat: 0 Tests: [0-9]* Failed: 0\)/ {n++}
            END {print n + 0}' "$log")"
  NOTE=""
  if [ -z "$run" ]; then
    P=0; F=$nfiles; NOTE="prove produced no result"
  else
    P=$((run - F))
    [ "$P" -ge 0 ] || P=0
    if [ "$run" -lt "$nfiles" ]; then
      F=$((F + nfiles - run)); NOTE="$((nfiles - run)) file(s) not run"
    fi
  fi
  if [ "$rc" != 0 ] && [ "$F" = 0 ]; then
    F=1; NOTE="exit status $rc without a counted failure"
  fi
}

# ---------------------------------------------------------------- regress
# run_pg_regress KIND VAR DIFFS: runs make installcheck with only VAR's tests
# enabled (TAP off) and counts "test NAME ... ok|FAILED" lines.
run_pg_regress() {
  local kind=$1 var=$2 diffs=$3 tests n log rc ok bad
  tests="$(make_var "$var")"
  n=$(echo "$tests" | wc -w)
  if [ "$n" = 0 ]; then
    record "$kind" 0 0 "no tests"
    return
  fi
  banner "$kind: $n test(s)"
  log="$WORK/$kind.log"
  local -a args=(TAP_TESTS= PROVE_TESTS=)
  if [ "$var" = REGRESS ]; then args+=(ISOLATION=); else args+=(REGRESS=); fi
  rm -f "$diffs"
  make --no-print-directory installcheck "${args[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # PG15: "test foo   ... ok   12 ms", "     foo ... FAILED", "... failed (ignored)"
  ok=$(grep -cE '^(test | +)?[^ ]+ +\.\.\. ok( |$)' "$log")
  bad=$(grep -E '^(test | +)?[^ ]+ +\.\.\. ' "$log" | grep -cvE '\.\.\. ok( |$)')
  NOTE=""
  if [ $((ok + bad)) -lt "$n" ]; then
    NOTE="$((n - ok - bad)) test(s) not run"
    bad=$((n - ok))
  fi
  if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
    bad=1; NOTE="make installcheck exit status $rc"
  fi
  if [ "$bad" != 0 ] && [ -s "$diffs" ]; then
    banner "$kind: $diffs"
    cat "$diffs"
  fi
  record "$kind" "$ok" "$bad" "$NOTE"
}

# ---------------------------------------------------------------- pgtap
run_pgtap() {
  local -a files
  mapfile -t files < <(expand_globs 'test/pgtap/*.sql')
  local n=${#files[@]} log="$WORK/pgtap.log" rc
  if [ "$n" = 0 ]; then
    record pgtap 0 0 "no tests"
    return
  fi
  banner "pgtap: $n file(s)"
  if ! { PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$PGTAP_DB" &&
         createdb "$PGTAP_DB" &&
         psql -X -q -v ON_ERROR_STOP=1 -d "$PGTAP_DB" \
              -c 'CREATE EXTENSION pgtap' \
              -c "CREATE EXTENSION $EXTENSION"; }; then
    record pgtap 0 "$n" "could not set up database $PGTAP_DB"
    return
  fi
  pg_prove -d "$PGTAP_DB" "${files[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  record pgtap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- Perl TAP
run_tap() {
  local -a files
  if [ -z "$(make_var TAP_TESTS)" ]; then
    record tap 0 0 "TAP_TESTS not set"
    return
  fi
  # shellcheck disable=SC2046
  mapfile -t files < <(expand_globs $(make_var PROVE_TESTS))
  local n=${#files[@]} log="$WORK/tap.log" rc
  if [ "$n" = 0 ]; then
    record tap 0 0 "no tests"
    return
  fi
  banner "tap: $n file(s)"
  TAPDIR="$(mktemp -d /tmp/escrowpay-tap.XXXXXX)"
  if ! { tar -C "$REPO" --exclude=./.git --exclude=./results \
            --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
            -cf - . | tar -C "$TAPDIR" -xf - &&
          chown -R postgres: "$TAPDIR"; }; then
    record tap 0 "$n" "could not copy the tree to $TAPDIR"
    return
  fi
  (cd "$TAPDIR" &&
     runuser -u postgres -- env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
       make --no-print-directory installcheck REGRESS= ISOLATION=) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  if [ "$F" != 0 ] && [ -d "$TAPDIR/tmp_check/log" ]; then
    # keep the logs: the scratch copy is deleted on exit
    rm -rf "$REPO/tmp_check/log"
    mkdir -p "$REPO/tmp_check"
    cp -a "$TAPDIR/tmp_check/log" "$REPO/tmp_check/log"
    local t f
    # failed files, from prove's "Test Summary Report": "test/t/002_x.pl (Wstat: ..."
    # shellcheck disable=SC2013
    for t in $(sed -n 's/^\([^ ]*\.pl\) *(Wstat: .*/\1/p' "$log"); do
      f="$REPO/tmp_check/log/regress_log_$(basename "$t" .pl)"
      [ -e "$f" ] || continue
      banner "tap: tail of $f"
      tail -n 40 "$f"
    done
    echo "(all TAP logs kept in $REPO/tmp_check/log)"
  fi
  record tap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- main
EXTENSION="$(make_var EXTENSION)"
banner "starting throwaway cluster"
if cluster_start; then
  trap cleanup EXIT   # cluster_start replaced our trap
  run_pg_regress regress REGRESS regression.diffs
  run_pg_regress isolation ISOLATION output_iso/regression.diffs
  run_pgtap
  cluster_stop
else
  trap cleanup EXIT
  record cluster 0 1 "could not start the throwaway cluster"
fi
run_tap

banner "summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
