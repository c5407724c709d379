#!/bin/bash
# scripts/test.sh -- build, install and run the whole test suite (called by
# `make test` and `make soak`).  Must run as root.
#
#   0. deps, build  scripts/deps.sh --package, then make all install
#   1. regress    pg_regress tests (REGRESS in the Makefile: sql/*.sql)
#   2. isolation  isolation specs (ISOLATION: test/isolation/specs/*.spec)
#   3. pgtap      pg_prove on test/pgtap/*.sql in a fresh database
#                 escrow_pgtap (CREATE EXTENSION pgtap, escrowpay)
#   3b. examples  the example application service examples/escrow_service.py,
#                 its event consumer's backend terminated mid-run
#                 (scripts/examples-check.sh)
#      -- 1 to 3b share one throwaway cluster (scripts/cluster.sh), driven as
#         root through PGHOST/PGPORT/PGUSER=postgres.
#   4. readme     the README's tour runs as written and prints what the README
#                 shows (scripts/readme-check.sh: blocks marked
#                 <!-- readme-check: run --> / output; its own cluster)
#   5. tap        Perl TAP tests (PROVE_TESTS: test/t/*.pl); they start their
#                 own clusters, so they run as `postgres` in a postgres-owned
#                 copy of the tree (scripts/tap-as-postgres.sh).
#   5b. citus     on a Citus cluster (coordinator + 2 workers,
#                 scripts/citus-cluster.sh), each file in a database of its
#                 own with escrowpay distributed (escrow.distribute()):
#                 test/citus/sql/*.sql, and the regress files listed in
#                 test/citus/regress_schedule with their one-server expected
#                 output; then the isolation specs test/citus/specs/*.spec
#                 in one distributed database; all against the coordinator
#                 (docs/scale-out.md, "Tests").  Skipped, with a line saying so, when Citus is
#                 not installed for this PostgreSQL (scripts/deps.sh
#                 installs ../shared/citus when present).
#   6. package    the Debian package (scripts/deb.sh, DEB_BUILD_OPTIONS=nocheck)
#                 and its checks: debian/changelog's version is
#                 escrowpay.control's; the package builds (as
#                 NAME_VERSION_ARCH.deb); dpkg -c lists the .so, the control
#                 file and every install and upgrade script; lintian has no
#                 errors or warnings.  Then scripts/package-installcheck.sh
#                 unpacks it (dpkg-deb -x) into a private relocated copy of
#                 PostgreSQL and runs the regress suite (make installcheck)
#                 on a fresh cluster of that copy, then checks CREATE
#                 EXTENSION loads the package's .so and every upgrade path
#                 to this version works: the package's files, not the build
#                 tree's; the system install is never touched.
#
# Output: one line per step, with the time since the start ("[   12s]
# regress 24/24 ok", "[ 1m40s] tap 3/9 003_model ok (41 s)"; on a terminal
# the running step's line is kept up to date), then the summary.  Everything
# the commands print goes to log/make-test.log (scripts/progress.sh); V=1
# (`make test V=1`) shows it as it comes.  A failure prints its failing
# part (diffs, the failed test's log tail) and names the log.
#
# After the build, the kinds run in two lanes at once (LANES=1: one lane,
# one kind after the other), and the TAP files two at a time (TAP_JOBS):
# see "main" at the end of this file.
#
# KINDS="regress tap" in the environment (`make test KINDS="regress tap"`)
# runs only those kinds, for iterating.
#
# Adding a kind: write run_KIND (it calls `record KIND PASSED FAILED
# [NOTE]` once) and add KIND to CLUSTER_KINDS (it runs against the shared
# throwaway cluster, PGHOST/PGPORT/PGUSER set) or POOL_KINDS (it starts
# what it needs itself, and may run beside any other kind), and to
# KIND_ORDER, at the end of this file.
#
# Each kind is skipped (counted 0) when it has no test files.  Regress and
# isolation count tests, pgtap and tap count test files, package counts its
# checks and the tests it runs.  A test that was
# expected but never reported (e.g. pg_regress aborted) counts as failed; a
# step that errors without any failure counted adds one failure.  On failure
# the diffs / logs are printed.  The last line of output is always
# `N passed, M failed`; exit status is non-zero iff M > 0.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
REPO="$(pwd)"
. scripts/citus-cluster.sh   # and scripts/cluster.sh
. scripts/progress.sh

PGTAP_DB=escrow_pgtap

LOG="log/make-test.log"                          # the full output, in the tree
progress_init "$REPO/$LOG"

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: must run as root" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

WORK="$(mktemp -d /tmp/escrowpay-test.XXXXXX)"   # logs of this run
cleanup() {
  cluster_stop
  citus_cluster_stop
  if [ -n "${SIDE_PID:-}" ]; then
    kill -TERM -- -"$SIDE_PID" 2>/dev/null
    wait "$SIDE_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()

# record KIND PASSED FAILED [NOTE]: the kind's summary line; the seconds
# since the previous record (or the start) are shown, to keep an eye on the
# suite's time.  Also prints the kind's step line.
LAST_RECORD=$SECONDS
record() {
  local secs=$((SECONDS - LAST_RECORD)) res="ok"
  TOTAL_PASS=$((TOTAL_PASS + $2))
  TOTAL_FAIL=$((TOTAL_FAIL + $3))
  SUMMARY+=("$(printf '%-10s %3d passed, %3d failed  [%4d s]%s' "$1:" "$2" "$3" \
                 "$secs" "${4:+  ($4)}")")
  LAST_RECORD=$SECONDS
  [ "$3" = 0 ] || res="$3 FAILED (full output: $LOG)"
  [ $(($2 + $3)) != 0 ] || res="skipped"
  progress_say "$(printf '%-9s %s/%s %s%s  (%d s)' "$1" "$2" $(($2 + $3)) "$res" "${4:+, $4}" "$secs")"
}

# banner TEXT: a heading in the log (and before a failure's output)
banner() { printf '\n======== %s ========\n' "$*" >>"$PROGRESS_LOG"; }

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

# Progress of a prove / pg_prove run over STREAM_FILES, STREAM_JOBS of
# them at a time (prove -j; they start in the order given, and finish in
# any order): a line per finished file ("tap 3/9 003_model ok (41 s)"),
# the running ones as the live line.  A file's time is the one prove
# --timer prints ("[17:20:33] test/t/003_model.pl .. ok   41234 ms (...)"),
# else (one at a time) the time since the previous file finished.
stream_prove_start() {
  STREAM_KIND=$1 STREAM_JOBS=$2
  shift 2
  STREAM_FILES=("$@") STREAM_DONE=0 STREAM_T=$SECONDS STREAM_FINISHED=" "
  stream_prove_status
}
stream_prove_status() {
  local i f running="" started=$((STREAM_DONE + STREAM_JOBS))
  for ((i = 0; i < ${#STREAM_FILES[@]} && i < started; i++)); do
    f=${STREAM_FILES[$i]}
    [[ $STREAM_FINISHED == *" $f "* ]] && continue
    f=${f##*/}
    running+="${running:+, }${f%.*}"
  done
  [ -z "$running" ] || progress_status "$STREAM_KIND $((STREAM_DONE + 1))/${#STREAM_FILES[@]} $running"
}
stream_prove() {
  local line=$1 f name res secs
  [[ $line =~ ^\[[0-9:]+\]\ (.*)$ ]] && line=${BASH_REMATCH[1]}
  # "test/t/003_model.pl ....... ok", "... skipped: why", "... Dubious, ..."
  f=${line%% *}
  [[ " ${STREAM_FILES[*]} " == *" $f "* ]] && [[ $STREAM_FINISHED != *" $f "* ]] || return 0
  name=${f##*/}
  res=$(printf '%s' "${line#"$f"}" | sed 's/^ *\.* *//')
  secs=$((SECONDS - STREAM_T))
  if [[ $res =~ ^(.*[^\ ])\ +([0-9]+)\ ms(\ \(.*\))?$ ]]; then
    res=${BASH_REMATCH[1]}
    secs=$(((BASH_REMATCH[2] + 500) / 1000))
  fi
  case $res in ok*|skipped*) ;; "") res="FAILED" ;; *) res="FAILED: $res" ;; esac
  STREAM_DONE=$((STREAM_DONE + 1))
  STREAM_FINISHED+="$f "
  progress_say "$(printf '%-9s %d/%d %s %s (%d s)' "$STREAM_KIND" "$STREAM_DONE" \
                  "${#STREAM_FILES[@]}" "${name%.*}" "$res" "$secs")"
  STREAM_T=$SECONDS
  [ "$STREAM_DONE" -lt "${#STREAM_FILES[@]}" ] && stream_prove_status
}

# ---------------------------------------------------------------- regress
# count_pg_regress LOG N RC -> sets OK, BAD and NOTE from the "test NAME ...
# ok|FAILED" lines of a make installcheck run that should have run N tests.
count_pg_regress() {
  local log=$1 n=$2 rc=$3
  # PG15: "test foo   ... ok   12 ms", "     foo ... FAILED", "... failed (ignored)"
  OK=$(grep -cE '^(test | +)?[^ ]+ +\.\.\. ok( |$)' "$log")
  BAD=$(grep -E '^(test | +)?[^ ]+ +\.\.\. ' "$log" | grep -cvE '\.\.\. ok( |$)')
  NOTE=""
  if [ $((OK + BAD)) -lt "$n" ]; then
    NOTE="$((n - OK - BAD)) test(s) not run"
    BAD=$((n - OK))
  fi
  if [ "$rc" != 0 ] && [ "$BAD" = 0 ]; then
    BAD=1; NOTE="make installcheck exit status $rc"
  fi
}

# progress of a pg_regress run: "KIND 13/24"
stream_pg_regress() {
  if [[ $1 =~ ^(test\ |\ +)?[^\ ]+\ +\.\.\.\  ]]; then
    STREAM_DONE=$((STREAM_DONE + 1))
    progress_status "$STREAM_KIND $STREAM_DONE/$STREAM_N"
  fi
}

# run_pg_regress KIND VAR DIFFS: runs make installcheck with only VAR's tests
# enabled (TAP off) and counts "test NAME ... ok|FAILED" lines.
run_pg_regress() {
  local kind=$1 var=$2 diffs=$3 tests n log rc
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
  STREAM_KIND=$kind STREAM_N=$n STREAM_DONE=0
  progress_status "$kind 0/$n"
  make --no-print-directory installcheck "${args[@]}" 2>&1 | tee "$log" |
    progress_stream stream_pg_regress
  rc=${PIPESTATUS[0]}
  count_pg_regress "$log" "$n" "$rc"
  if [ "$BAD" != 0 ]; then
    progress_show "$kind: failed: $(grep -E '^(test | +)?[^ ]+ +\.\.\. ' "$log" |
                    grep -vE '\.\.\. ok( |$)' | awk '{print ($1 == "test" ? $2 : $1)}' | xargs)"
    if [ -s "$diffs" ]; then
      progress_show "---- $diffs (first 200 lines; all of it stays in $diffs) ----"
      head -n 200 "$diffs" | tee -a "$PROGRESS_LOG"
    else
      progress_fail_tail "$log"
    fi
  fi
  record "$kind" "$OK" "$BAD" "$NOTE"
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
              -c "CREATE EXTENSION $EXTENSION"; } >>"$PROGRESS_LOG" 2>&1; then
    progress_fail_tail "$PROGRESS_LOG" 10
    record pgtap 0 "$n" "could not set up database $PGTAP_DB"
    return
  fi
  stream_prove_start pgtap 1 "${files[@]}"
  pg_prove -d "$PGTAP_DB" "${files[@]}" 2>&1 | tee "$log" | progress_stream stream_prove
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  [ "$F" = 0 ] || progress_fail_tail "$log" 60
  record pgtap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- package
# pkg_check NAME CMD...: one counted package check (PKG_OK / PKG_BAD).
pkg_check() {
  local name=$1
  shift
  if "$@" >>"$PROGRESS_LOG" 2>&1; then
    PKG_OK=$((PKG_OK + 1)); echo "ok      $name" >>"$PROGRESS_LOG"
  else
    PKG_BAD=$((PKG_BAD + 1)); progress_show "FAILED  $name"
  fi
}

# deb_lists DEB PATH: dpkg -c of DEB lists ./PATH.  The listing is read to
# its end (grep -q would stop at the first match and, under pipefail, the
# writer's SIGPIPE would fail the check at random).
deb_lists() {
  local listing
  listing=$(dpkg -c "$1") || return 1
  awk '{print $NF}' <<<"$listing" | grep -xF "./$2" >/dev/null
}

# pkg_installcheck DEB MAJOR: scripts/package-installcheck.sh --regress-only
# (the regress suite on a relocated copy of PostgreSQL with DEB unpacked in
# it; the isolation specs test the same code, not the packaging, and `make
# deb` runs them at build time), counting its tests and its "ok"/"FAILED"
# check lines.
pkg_installcheck() {
  local deb=$1 v=$2 log="$WORK/package-installcheck-$2.log" n rc ok bad
  n=$(make_var REGRESS | wc -w)
  STREAM_KIND="package: installcheck" STREAM_N=$n STREAM_DONE=0
  scripts/package-installcheck.sh --regress-only "$deb" "$v" 2>&1 | tee "$log" |
    progress_stream stream_pg_regress
  rc=${PIPESTATUS[0]}
  ok=$(grep -c '^ok      ' "$log")
  bad=$(grep -c '^FAILED  ' "$log")
  count_pg_regress "$log" "$n" 0
  PKG_OK=$((PKG_OK + ok + OK))
  PKG_BAD=$((PKG_BAD + bad + BAD))
  [ -z "$NOTE" ] || PKG_NOTE="installcheck of $(basename "$deb"): $NOTE"
  if [ "$rc" != 0 ] && [ $((bad + BAD)) = 0 ]; then
    PKG_BAD=$((PKG_BAD + 1))
    PKG_NOTE="package-installcheck.sh exit status $rc"
  fi
  if [ $((bad + BAD)) != 0 ] || [ "$rc" != 0 ]; then
    progress_fail_tail "$log" 60
  fi
}

run_package() {
  local debver arch pkg v deb f log="$WORK/package-build.log"
  PKG_OK=0 PKG_BAD=0 PKG_NOTE=""
  if [ ! -f debian/control ]; then
    record package 0 0 "no debian/"
    return
  fi
  banner "package"
  pkg_check "debian/changelog's version is escrowpay.control's ($EXTVERSION)" \
    debian/rules check-version
  progress_status "package: building the .deb"
  if ! DEB_BUILD_OPTIONS=nocheck scripts/deb.sh "$WORK/debs" 2>&1 | tee "$log" | progress_stream; then
    progress_fail_tail "$log" 60
    pkg_check "dpkg-buildpackage (log above)" false
    record package "$PKG_OK" "$PKG_BAD" "the package did not build"
    return
  fi
  pkg_check "dpkg-buildpackage -us -uc -b" true
  debver="$(dpkg-parsechangelog -S Version)"
  arch="$(dpkg --print-architecture)"
  # shellcheck disable=SC2013
  for pkg in $(sed -n 's/^Package: *//p' debian/control); do
    v="$(echo "$pkg" | sed -n 's/^postgresql-\([0-9][0-9]*\)-.*/\1/p')"
    deb="$WORK/debs/${pkg}_${debver}_${arch}.deb"
    pkg_check "$pkg: built as $(basename "$deb")" test -f "$deb"
    [ -f "$deb" ] || continue
    for f in "usr/lib/postgresql/$v/lib/$EXTENSION.so" \
             "usr/share/postgresql/$v/extension/$EXTENSION.control" \
             $(make_var DATA_built) $(make_var DATA); do
      case $f in */*) ;; *) f="usr/share/postgresql/$v/extension/$f" ;; esac
      pkg_check "$pkg: dpkg -c lists /$f" deb_lists "$deb" "$f"
    done
    # initial-upload-closes-no-bugs: the package is not an upload to Debian
    # (no ITP bug to close)
    progress_status "package: lintian"
    pkg_check "$pkg: lintian has no errors or warnings" \
      lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$deb"
    pkg_installcheck "$deb" "$v"
  done
  record package "$PKG_OK" "$PKG_BAD" "$PKG_NOTE"
}

# ---------------------------------------------------------------- Perl TAP
# The TAP files run TAP_JOBS (2) at a time (prove -j): each spends most of
# its time waiting -- for its clusters to start, stop and recover, for
# deadlines and timeouts to pass, for one client's round trip at a time --
# so two of them at once on 2 cores finish well before one after the other.
# Each file has its own clusters, ports (PostgreSQL::Test::Cluster reserves
# them) and log (tmp_check/log/regress_log_NAME).  The longest files
# (TAP_LONGEST, as measured, longest first) start first, so that the two
# lanes end together; the others follow in order.
TAP_JOBS=${TAP_JOBS:-2}
TAP_LONGEST="005_fuzz 004_crash_cycles 013_citus_2pc_crash 010_failover 003_model"

# tap_order FILE...: the files, TAP_LONGEST's first, one per line
tap_order() {
  local name f
  for name in $TAP_LONGEST; do
    for f in "$@"; do [ "$(basename "$f" .pl)" != "$name" ] || echo "$f"; done
  done
  for f in "$@"; do
    [[ " $TAP_LONGEST " == *" $(basename "$f" .pl) "* ]] || echo "$f"
  done
}

run_tap() {
  local -a files
  if [ -z "$(make_var TAP_TESTS)" ]; then
    record tap 0 0 "TAP_TESTS not set"
    return
  fi
  # shellcheck disable=SC2046
  mapfile -t files < <(tap_order $(expand_globs $(make_var PROVE_TESTS)))
  local n=${#files[@]} log="$WORK/tap.log" rc
  if [ "$n" = 0 ]; then
    record tap 0 0 "no tests"
    return
  fi
  banner "tap: $n file(s), $TAP_JOBS at a time"
  stream_prove_start tap "$TAP_JOBS" "${files[@]}"
  PROVE_FLAGS="-j$TAP_JOBS --timer${PROVE_FLAGS:+ $PROVE_FLAGS}" \
    scripts/tap-as-postgres.sh "${files[@]}" 2>&1 | tee "$log" | progress_stream stream_prove
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  if [ "$F" != 0 ]; then
    local t f shown=0
    # failed files, from prove's "Test Summary Report": "test/t/002_x.pl (Wstat: ..."
    # shellcheck disable=SC2013
    for t in $(sed -n 's/^\([^ ]*\.pl\) *(Wstat: .*/\1/p' "$log"); do
      progress_show "---- $t: what prove said ----"
      # (its result line and what follows it, up to the next file's; prove
      # --timer puts "[hh:mm:ss] " in front of each result line)
      sed 's/^\[[0-9:]*\] //' "$log" |
        awk -v f="$t" 'index($0, f " ") == 1 {p = 1} p && /^test\/t\/.* \.\./ && index($0, f " ") != 1 {p = 0} p' |
        head -n 60 | tee -a "$PROGRESS_LOG"
      f="$REPO/tmp_check/log/regress_log_$(basename "$t" .pl)"
      [ -e "$f" ] || continue
      progress_fail_tail "$f" 40
      shown=1
    done
    [ "$shown" = 1 ] || progress_fail_tail "$log" 60
  fi
  record tap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- check scripts
# run_checks KIND CMD...: a script that prints one "ok      WHAT" or
# "FAILED  WHAT" line per check (and what failed after them); counts them.
run_checks() {
  local kind=$1 log="$WORK/$1.log" rc ok bad note=""
  shift
  banner "$kind: $*"
  progress_status "$kind"
  "$@" 2>&1 | tee "$log" | progress_stream
  rc=${PIPESTATUS[0]}
  ok=$(grep -c '^ok      ' "$log")
  bad=$(grep -c '^FAILED  ' "$log")
  if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
    bad=1; note="$1 exit status $rc"
  fi
  if [ "$bad" != 0 ]; then
    progress_show "---- $kind: $* ----"
    grep -v '^ok      ' "$log" | head -n 120 | tee -a "$PROGRESS_LOG"
  fi
  record "$kind" "$ok" "$bad" "$note"
}

# ---------------------------------------------------------------- citus
# Each file runs in a database of its own with a fresh distributed ledger
# (citus_create_db), dropped afterwards: Citus 13.2 cannot drop an
# extension owning distributed tables, so a file cannot start over as the
# regress files do (DROP/CREATE EXTENSION; docs/scale-out.md, "Tests").
#   - test/citus/sql/*.sql, in a database where escrowpay is distributed;
#   - the regress files of test/citus/regress_schedule (sql/NAME.sql with
#     the one-server expected/NAME.out), in a database where the file's own
#     CREATE EXTENSION escrowpay distributes it (citus_create_db on-create);
#   - the isolation specs of test/citus/specs (citus_isolation).
# The TAP test of a worker killed during two-phase commit (test/t/013)
# runs with the tap kind.

# citus_setup WHAT N DB CMD...: a new database DB for WHAT (N tests), set
# up by CMD... (after DB is dropped if it exists); counts the N tests as
# failed when that fails
citus_setup() {
  local what=$1 n=$2 db=$3
  shift 3
  progress_status "citus $STREAM_DONE/$STREAM_N: a distributed database for $what"
  if ! { citus_drop_db "$db" && "$@"; } >>"$PROGRESS_LOG" 2>&1; then
    progress_fail_tail "$PROGRESS_LOG" 20
    CITUS_BAD=$((CITUS_BAD + n)) CITUS_NOTE="could not set up a distributed database for $what"
    return 1
  fi
}

# citus_run DB N OUTPUTDIR MAKEARGS...: make installcheck MAKEARGS... (N
# tests, in database DB, results in OUTPUTDIR); adds to CITUS_OK /
# CITUS_BAD, its diffs to $WORK/citus.diffs; then drops DB
citus_run() {
  local db=$1 n=$2 outdir=$3 log="$WORK/citus.log" rc
  shift 3
  # citus.enable_metadata_sync=off: the tests' pg_temp functions stay on
  # the coordinator without a warning each
  PGOPTIONS="-c citus.enable_metadata_sync=off" \
    make --no-print-directory installcheck TAP_TESTS= PROVE_TESTS= "$@" 2>&1 |
    tee "$log.1" | progress_stream stream_pg_regress
  rc=${PIPESTATUS[0]}
  cat "$log.1" >>"$log"
  count_pg_regress "$log.1" "$n" "$rc"
  CITUS_OK=$((CITUS_OK + OK)) CITUS_BAD=$((CITUS_BAD + BAD))
  [ -z "$NOTE" ] || CITUS_NOTE="$NOTE"
  # pg_regress starts regression.diffs anew for each run
  [ ! -s "$outdir/regression.diffs" ] || cat "$outdir/regression.diffs" >>"$WORK/citus.diffs"
  citus_drop_db "$db" >>"$PROGRESS_LOG" 2>&1
}

# citus_file NAME DB INPUTDIR OUTPUTDIR [on-create]: one regress file in a
# new database DB
citus_file() {
  local name=$1 db=$2 indir=$3 outdir=$4 mode=${5:-}
  citus_setup "$name" 1 "$db" citus_create_db "$db" $mode || return
  citus_run "$db" 1 "$outdir" REGRESS="$name" ISOLATION= \
    REGRESS_OPTS="--inputdir=$indir --outputdir=$outdir --use-existing --dbname=$db"
}

# citus_isolation_db DB: a distributed database DB prepared for the
# isolation specs (test/citus/isolation_setup.sql)
citus_isolation_db() {
  citus_create_db "$1" && _citus_psql "${CITUS_PORTS[0]}" -d "$1" -f test/citus/isolation_setup.sql
}

# citus_isolation SPEC...: the isolation specs test/citus/specs/SPEC.spec
# against the coordinator, one after the other in one distributed database
# (made once: each permutation opens fresh accounts through the API
# instead of creating escrowpay anew)
citus_isolation() {
  local db=isolation out="$WORK/citus-isolation"
  citus_setup "the isolation specs" $# "$db" citus_isolation_db "$db" || return
  mkdir -p "$out"
  citus_run "$db" $# "$out" ISOLATION="$*" REGRESS= \
    ISOLATION_OPTS="--inputdir=test/citus --outputdir=$out --use-existing --dbname=$db"
}

run_citus() {
  local -a tests regress specs
  local t n
  mapfile -t tests < <(expand_globs 'test/citus/sql/*.sql')
  mapfile -t regress < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' test/citus/regress_schedule 2>/dev/null)
  mapfile -t specs < <(expand_globs 'test/citus/specs/*.spec' | sed -e 's,.*/,,' -e 's,\.spec$,,')
  n=$((${#tests[@]} + ${#regress[@]} + ${#specs[@]}))
  if ! citus_available; then
    record citus 0 0 "skipped: Citus is not installed for $(pg_config --bindir)"
    return
  fi
  banner "citus: $n test(s) on a coordinator and 2 workers"
  progress_status "citus: starting a coordinator and 2 workers"
  # 4 shards per distributed table, not Citus's 32: two on each worker
  # still spread accounts over both and several shards per worker, and
  # distributing a database and every query over all shards (the views'
  # repartition joins, verify_ledger()) cost an eighth as much
  # citus_cluster_start replaces the EXIT trap: the lane's own comes back
  # after it (cleanup in the main lane, which also stops this cluster; in
  # the side lane, which has none, just stopping this cluster: cleanup
  # there would stop the main lane's cluster and remove $WORK under it)
  local lane_trap
  lane_trap=$(trap -p EXIT)
  if ! CLUSTER_EXTRA_CONF="citus.shard_count = 4" citus_cluster_start 2 >>"$PROGRESS_LOG" 2>&1; then
    eval "${lane_trap:-trap citus_cluster_stop EXIT}"
    progress_fail_tail "$PROGRESS_LOG" 20
    citus_cluster_stop
    record citus 0 "$n" "could not start the Citus cluster"
    return
  fi
  eval "${lane_trap:-trap citus_cluster_stop EXIT}"
  rm -f test/citus/regression.diffs "$WORK/citus.diffs"
  CITUS_OK=0 CITUS_BAD=0 CITUS_NOTE=""
  STREAM_KIND=citus STREAM_N=$n STREAM_DONE=0
  for t in "${tests[@]}"; do
    t=$(basename "$t" .sql)
    citus_file "$t" "$t" test/citus test/citus
  done
  for t in "${regress[@]}"; do
    t=$(echo $t)
    citus_file "$t" "regress_$t" . "$WORK/citus-regress" on-create
  done
  [ ${#specs[@]} = 0 ] || citus_isolation "${specs[@]}"
  if [ "$CITUS_BAD" != 0 ]; then
    if [ -s "$WORK/citus.diffs" ]; then
      cp "$WORK/citus.diffs" test/citus/regression.diffs
      progress_show "---- test/citus/regression.diffs (first 200 lines) ----"
      head -n 200 test/citus/regression.diffs | tee -a "$PROGRESS_LOG"
    else
      progress_fail_tail "$WORK/citus.log"
    fi
  fi
  citus_cluster_stop
  record citus "$CITUS_OK" "$CITUS_BAD" "$CITUS_NOTE"
}

# the README's tour, as written (scripts/readme-check.sh: it starts its own
# throwaway cluster, as the README says)
run_readme() { run_checks readme scripts/readme-check.sh README.md; }

# the example application service (scripts/examples-check.sh: on the shared
# cluster, with its backend terminated mid-run)
run_examples() { run_checks examples scripts/examples-check.sh; }

# ---------------------------------------------------------------- deps, build
# run_build: scripts/deps.sh --package, then make all install (a job per
# core: the C files and their JIT bitcode compile in parallel).  Returns
# non-zero (after recording the failure) when either fails.
run_build() {
  if ! progress_run "deps" scripts/deps.sh --package; then
    progress_fail_tail "$PROGRESS_LOG" 30
    record deps 0 1 "scripts/deps.sh --package failed"
    return 1
  fi
  if ! progress_run "build" make --no-print-directory -j"$(nproc)" all install; then
    progress_fail_tail "$PROGRESS_LOG" 40
    record build 0 1 "make all install failed"
    return 1
  fi
  progress_say "build ok: $(make_var EXTENSION).so and the install scripts installed into $(pg_config --sharedir)"
  LAST_RECORD=$SECONDS
}

# ---------------------------------------------------------------- main
# Kinds run in two lanes at once.  The main lane runs the CLUSTER_KINDS on
# one throwaway cluster (started before the first, stopped after the
# last); the side lane, started first, and then the main lane take the
# POOL_KINDS, which start their own clusters or need none, in the order
# given (the longest first), each kind run by the first lane to take it.
# Most of the suite's time is spent waiting (clusters starting and
# stopping, deadlines passing, one round trip at a time), so on 2 cores
# two lanes finish well before one (README.md, "Set-up", has the times).
# Each lane prints its step lines as they come (on a terminal the live
# line shows both lanes' running steps); each lane's log goes to $LOG in
# one piece, the side lane's after the main lane's; the summary lists the
# kinds in KIND_ORDER.  LANES=1 (`make test LANES=1`) runs everything in
# the main lane, one kind after the other.
CLUSTER_KINDS=(regress isolation pgtap examples)
POOL_KINDS=(tap citus package readme)
KIND_ORDER=(deps build cluster regress isolation pgtap examples readme citus tap package side)

run_regress()   { run_pg_regress regress REGRESS regression.diffs; }
run_isolation() { run_pg_regress isolation ISOLATION output_iso/regression.diffs; }

# KINDS="regress tap" (`make test KINDS=...`) runs only those kinds
selected() { [ -z "${KINDS:-}" ] || [[ " $KINDS " == *" $1 "* ]]; }

# take KIND: true for the first lane to ask (mkdir is atomic)
take() { mkdir "$WORK/taken.$1" 2>/dev/null; }

# run_pool: the POOL_KINDS that no lane has taken yet
run_pool() {
  local kind
  for kind in "${POOL_KINDS[@]}"; do
    selected "$kind" && take "$kind" && "run_$kind"
  done
  return 0
}

# the main lane
run_main_lane() {
  local kind need_cluster=0
  for kind in "${CLUSTER_KINDS[@]}"; do selected "$kind" && need_cluster=1; done
  if [ "$need_cluster" = 0 ]; then
    :
  elif banner "starting throwaway cluster" && progress_status "starting a throwaway cluster" &&
       cluster_start >>"$PROGRESS_LOG" 2>&1; then
    trap cleanup EXIT   # cluster_start replaced our trap
    progress_say "cluster   started: socket $PGHOST port $PGPORT"
    LAST_RECORD=$SECONDS
    for kind in "${CLUSTER_KINDS[@]}"; do selected "$kind" && "run_$kind"; done
    cluster_stop
  else
    trap cleanup EXIT
    progress_fail_tail "$PROGRESS_LOG" 20
    record cluster 0 1 "could not start the throwaway cluster"
  fi
  run_pool
}

# the side lane, a subshell in a process group of its own (cleanup stops
# it): its log goes to $WORK/side.log, its summary lines and totals to
# $WORK/side.summary and $WORK/side.totals
SIDE_PID=""
start_side_lane() {
  set -m
  (
    set +m
    trap - EXIT INT TERM
    PROGRESS_LOG="$WORK/side.log" PROGRESS_LANE=side SUMMARY=() TOTAL_PASS=0 TOTAL_FAIL=0
    : >"$PROGRESS_LOG"
    LAST_RECORD=$SECONDS
    run_pool
    progress_status ""
    [ ${#SUMMARY[@]} = 0 ] || printf '%s\n' "${SUMMARY[@]}" >"$WORK/side.summary"
    echo "$TOTAL_PASS $TOTAL_FAIL" >"$WORK/side.totals"
  ) </dev/null &
  SIDE_PID=$!
  set +m
}

# wait for the side lane; its log, summary lines and totals join ours
finish_side_lane() {
  local pass fail
  [ -n "$SIDE_PID" ] || return 0
  wait "$SIDE_PID"
  SIDE_PID=""
  cat "$WORK/side.log" >>"$PROGRESS_LOG"
  if read -r pass fail <"$WORK/side.totals" 2>/dev/null; then
    TOTAL_PASS=$((TOTAL_PASS + pass)) TOTAL_FAIL=$((TOTAL_FAIL + fail))
    [ ! -s "$WORK/side.summary" ] || mapfile -t -O ${#SUMMARY[@]} SUMMARY <"$WORK/side.summary"
  else
    record side 0 1 "the side lane ended without its results"
  fi
}

# the summary lines ("KIND: ...") in KIND_ORDER
sorted_summary() {
  local kind line
  for kind in "${KIND_ORDER[@]}"; do
    for line in "${SUMMARY[@]}"; do
      [[ $line != "$kind:"* ]] || echo "$line"
    done
  done
}

main() {
  run_build || return
  EXTENSION="$(make_var EXTENSION)"
  EXTVERSION="$(make_var EXTVERSION)"
  if [ "${LANES:-2}" != 1 ]; then
    PROGRESS_LANES_DIR="$WORK/lanes" PROGRESS_LANE=main
    mkdir -p "$PROGRESS_LANES_DIR"
    start_side_lane
  fi
  run_main_lane
  progress_status ""
  finish_side_lane
}

main
banner "summary"
progress_show "" "summary (full output: $LOG):"
mapfile -t SUMMARY < <(sorted_summary)
progress_show "${SUMMARY[@]}"
progress_show "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
