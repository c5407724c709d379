#!/bin/bash
# scripts/examples-check.sh -- run the example application service
# (examples/escrow_service.py) against the running server and check it (the
# `examples` kind of scripts/test.sh, on its throwaway cluster).
#
#   scripts/examples-check.sh        (as a superuser: PGHOST/PGPORT/PGUSER)
#
# Creates database escrow_example with the extension and the login role
# shop_backend (granted escrow_app), runs the service as shop_backend for
# DEALS deals, and while it runs -- once two deals are settled --
# terminates its listening backend with pg_terminate_backend().  Checks,
# one line each ("ok      ..." / "FAILED  ..."): the service ends well;
# the backend was terminated mid-run and the service reconnected; every
# deal is settled; every event of escrow.deal_events was processed exactly
# once (none lost, none repeated); verify_ledger() is empty.  Exit status
# is non-zero iff a check failed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
DB=escrow_example
ROLE=shop_backend
DEALS=${DEALS:-6}
PY=/usr/bin/python3          # Debian's, with python3-psycopg

TMP="$(mktemp -d /tmp/escrowpay-example.XXXXXX)" || exit 1
SVC=""
cleanup() {
  [ -z "$SVC" ] || kill "$SVC" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

ok=0 bad=0
check() {
  local what=$1
  shift
  if "$@"; then ok=$((ok + 1)); echo "ok      $what"
  else bad=$((bad + 1)); echo "FAILED  $what"; fi
}
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

if ! { export PGOPTIONS="-c client_min_messages=warning"
       dropdb --if-exists "$DB" &&
       createdb "$DB" &&
       psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c 'CREATE EXTENSION escrowpay' \
         -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN" \
         -c "GRANT escrow_app TO $ROLE"; }; then
  echo "FAILED  set up database $DB and role $ROLE"
  exit 1
fi

PGDATABASE=$DB "$PY" examples/escrow_service.py --deals "$DEALS" --step-delay 0.1 \
  --user "$ROLE" --tag t1 >"$TMP/out" 2>"$TMP/err" &
SVC=$!

# once two deals are settled, terminate the service's listening backend
terminated="" settled_then=""
for _ in $(seq 1 600); do
  kill -0 "$SVC" 2>/dev/null || break
  settled_then=$(q "SELECT count(*) FROM escrow.deals WHERE stage = 'settled'")
  if [ "${settled_then:-0}" -ge 2 ]; then
    terminated=$(q "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
                      FROM pg_stat_activity
                     WHERE application_name = 'escrow-service-events' AND usename = '$ROLE'")
    break
  fi
  sleep 0.1
done
wait "$SVC"
rc=$?
SVC=""

check "the service ran $DEALS deals as $ROLE and exited with status 0 (it said: $(tail -n 1 "$TMP/out"))" \
  test "$rc" = 0
check "its listening backend was terminated mid-run (after $settled_then of $DEALS deals settled)" \
  test "$terminated" = 1 -a "${settled_then:-0}" -lt "$DEALS"
check "it reconnected and caught up ($(grep -c 'connection lost' "$TMP/out") reconnect(s))" \
  grep -q 'connection lost' "$TMP/out"
check "all $DEALS deals are settled" \
  test "$(q "SELECT count(*) FROM escrow.deals WHERE stage = 'settled'")" = "$DEALS"

q "SELECT id FROM escrow.deal_events ORDER BY id" >"$TMP/table"
sed -n 's/^event \([0-9]*\) .*/\1/p' "$TMP/out" | sort -n >"$TMP/seen"
check "every one of the $(wc -l <"$TMP/table") events of escrow.deal_events was processed" \
  test -z "$(comm -23 <(sort "$TMP/table") <(sort -u "$TMP/seen"))"
check "no event was processed twice, none made up" \
  test -z "$(uniq -d "$TMP/seen")$(comm -13 <(sort "$TMP/table") <(sort -u "$TMP/seen"))"
check "verify_ledger() is empty" test -z "$(q 'SELECT * FROM escrow.verify_ledger()')"

if [ "$bad" != 0 ]; then
  echo "---- the service's output ----"
  tail -n 60 "$TMP/out"
  echo "---- its standard error ----"
  tail -n 30 "$TMP/err"
  echo "---- events in the table / processed ----"
  diff "$TMP/table" "$TMP/seen" | head -n 20
fi
echo "examples-check: $ok passed, $bad failed"
[ "$bad" = 0 ]
