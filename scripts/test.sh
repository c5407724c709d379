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
#                 copy of the tree (scripts/tap-as-postgres.sh).
#   5. package    the Debian package (scripts/deb.sh, DEB_BUILD_OPTIONS=nocheck)
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
. scripts/cluster.sh

PGTAP_DB=escrow_pgtap

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: must run as root" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

WORK="$(mktemp -d /tmp/escrowpay-test.XXXXXX)"   # logs of this run
cleanup() {
  cluster_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()

# record KIND PASSED FAILED [NOTE]; the seconds since the previous record
# (or the start) are shown, to keep an eye on the suite's time
LAST_RECORD=$SECONDS
record() {
  TOTAL_PASS=$((TOTAL_PASS + $2))
  TOTAL_FAIL=$((TOTAL_FAIL + $3))
  SUMMARY+=("$(printf '%-10s %3d passed, %3d failed  [%4d s]%s' "$1:" "$2" "$3" \
                 $((SECONDS - LAST_RECORD)) "${4:+  ($4)}")")
  LAST_RECORD=$SECONDS
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
  make --no-print-directory installcheck "${args[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_pg_regress "$log" "$n" "$rc"
  if [ "$BAD" != 0 ] && [ -s "$diffs" ]; then
    banner "$kind: $diffs"
    cat "$diffs"
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
              -c "CREATE EXTENSION $EXTENSION"; }; then
    record pgtap 0 "$n" "could not set up database $PGTAP_DB"
    return
  fi
  pg_prove -d "$PGTAP_DB" "${files[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  record pgtap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- package
# pkg_check NAME CMD...: one counted package check (PKG_OK / PKG_BAD).
pkg_check() {
  local name=$1
  shift
  if "$@"; then
    PKG_OK=$((PKG_OK + 1)); echo "ok      $name"
  else
    PKG_BAD=$((PKG_BAD + 1)); echo "FAILED  $name"
  fi
}

# deb_lists DEB PATH: dpkg -c of DEB lists ./PATH
deb_lists() {
  dpkg -c "$1" | awk '{print $NF}' | grep -qxF "./$2"
}

# pkg_installcheck DEB MAJOR: scripts/package-installcheck.sh --regress-only
# (the regress suite on a relocated copy of PostgreSQL with DEB unpacked in
# it; the isolation specs test the same code, not the packaging, and `make
# deb` runs them at build time), counting its tests and its "ok"/"FAILED"
# check lines.
pkg_installcheck() {
  local deb=$1 v=$2 log="$WORK/package-installcheck-$2.log" n rc ok bad
  n=$(make_var REGRESS | wc -w)
  scripts/package-installcheck.sh --regress-only "$deb" "$v" 2>&1 | tee "$log"
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
  if ! DEB_BUILD_OPTIONS=nocheck scripts/deb.sh "$WORK/debs" >"$log" 2>&1; then
    tail -n 60 "$log"
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
    pkg_check "$pkg: lintian has no errors or warnings" \
      lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$deb"
    pkg_installcheck "$deb" "$v"
  done
  record package "$PKG_OK" "$PKG_BAD" "$PKG_NOTE"
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
  scripts/tap-as-postgres.sh "${files[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_prove "$log" "$n" "$rc"
  if [ "$F" != 0 ] && [ -d "$REPO/tmp_check/log" ]; then
    local t f
    # failed files, from prove's "Test Summary Report": "test/t/002_x.pl (Wstat: ..."
    # shellcheck disable=SC2013
    for t in $(sed -n 's/^\([^ ]*\.pl\) *(Wstat: .*/\1/p' "$log"); do
      f="$REPO/tmp_check/log/regress_log_$(basename "$t" .pl)"
      [ -e "$f" ] || continue
      banner "tap: tail of $f"
      tail -n 40 "$f"
    done
  fi
  record tap "$P" "$F" "$NOTE"
}

# ---------------------------------------------------------------- main
EXTENSION="$(make_var EXTENSION)"
EXTVERSION="$(make_var EXTVERSION)"
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
run_package

banner "summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" = 0 ]
