#!/bin/bash
# scripts/readme-check.sh -- the README's tour runs as written (the
# `readme` kind of scripts/test.sh).  Must run as root, after make install.
#
#   scripts/readme-check.sh [FILE]          (default README.md)
#
# Marker convention: a fenced block meant to run is preceded by the line
#
#     <!-- readme-check: run -->            (a ```sh or ```sql block)
#     <!-- readme-check: output -->         (a ``` block: what the last
#                                            statement of the run SQL block
#                                            before it prints)
#
# (an HTML comment: invisible on GitHub).  Blocks without a marker are not
# run.  The check does what a reader does: it runs the marked sh blocks, in
# order, in one bash (from the top of the tree; they start a throwaway
# cluster and open psql), and pastes the marked SQL blocks, in order, into
# that psql's standard input -- so \gset variables carry from one block to
# the next, as in a reader's session.  psql reads a psqlrc that sets
# ON_ERROR_STOP, so the first error stops the tour.
#
# Checks, one line each ("ok      ..." / "FAILED  ..."): each SQL block ran
# without an error; each output block's lines (trailing blanks ignored)
# appear, in a row, in what the SQL block before it printed.  Exit status is
# non-zero iff a check failed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
FILE=${1:-README.md}

TMP="$(mktemp -d /tmp/escrowpay-readme.XXXXXX)" || exit 1
trap 'rm -rf "$TMP"' EXIT

# Extract the marked blocks: $TMP/N.KIND (KIND: sh, sql or out), and
# $TMP/N.line (the README line of the block's fence).
awk -v dir="$TMP" '
  /^<!-- readme-check: (run|output) -->$/ { want = ($3 == "output") ? "out" : "run"; next }
  !inblock && /^```/ {
    if (want != "") {
      lang = substr($0, 4); sub(/[ \t].*/, "", lang)
      kind = (want == "out") ? "out" : lang
      n++; f = sprintf("%s/%02d.%s", dir, n, kind)
      printf "" > f
      print NR > sprintf("%s/%02d.line", dir, n)
      inblock = 1; capture = 1; want = ""
      next
    }
    inblock = 1; capture = 0; next
  }
  inblock && /^```/ { inblock = 0; if (capture) close(f); capture = 0; next }
  inblock && capture { print > f }
  !inblock && NF { want = "" }     # a marker is for the block right after it
' "$FILE"

shopt -s nullglob
blocks=("$TMP"/[0-9][0-9].sh "$TMP"/[0-9][0-9].sql "$TMP"/[0-9][0-9].out)
shopt -u nullglob
if [ ${#blocks[@]} = 0 ]; then
  echo "FAILED  $FILE has no block marked <!-- readme-check: run -->"
  exit 1
fi
mapfile -t blocks < <(printf '%s\n' "${blocks[@]}" | sort)

SH="$TMP/tour.sh" SQL="$TMP/tour.sql"
: >"$SH"
: >"$SQL"
for b in "${blocks[@]}"; do
  n=$(basename "$b"); n=${n%%.*}
  case $b in
    *.sh)  cat "$b" >>"$SH" ;;
    *.sql) printf '\\echo @@readme-check %s\n' "$n" >>"$SQL"; cat "$b" >>"$SQL" ;;
    *.out) ;;
    *) echo "FAILED  $FILE:$(cat "$TMP/$n.line"): a run block must be sh or sql"; exit 1 ;;
  esac
done
printf '\\echo @@readme-check end\n' >>"$SQL"

printf '\\set ON_ERROR_STOP on\n' >"$TMP/psqlrc"
(PSQLRC="$TMP/psqlrc" bash -e "$SH" <"$SQL" >"$TMP/stdout" 2>"$TMP/stderr")
rc=$?

# what each SQL block printed: $TMP/N.printed
awk -v dir="$TMP" '
  /^@@readme-check / { if (f) close(f); f = ($2 == "end") ? "" : sprintf("%s/%s.printed", dir, $2); if (f) printf "" > f; next }
  f { print > f }
' "$TMP/stdout"

ok=0 bad=0 last_sql=""
check() {
  local what=$1
  shift
  if "$@"; then
    ok=$((ok + 1)); echo "ok      $what"
  else
    bad=$((bad + 1)); echo "FAILED  $what"
  fi
}
ran() { [ -e "$TMP/$1.printed" ] && { [ -e "$TMP/$2.printed" ] || grep -q '^@@readme-check end$' "$TMP/stdout"; }; }
# contains EXPECTED PRINTED: EXPECTED's lines, in a row, in PRINTED
contains() {
  awk 'function rt(s) { sub(/[ \t]+$/, "", s); return s }
       NR == FNR { want[++n] = rt($0); next }
       { got[++m] = rt($0) }
       END { for (i = 0; i + n <= m; i++) { for (j = 1; j <= n && got[i + j] == want[j]; j++); if (j > n) exit 0 }
             exit 1 }' "$1" "$2"
}

sqls=()
for b in "${blocks[@]}"; do case $b in *.sql) n=$(basename "$b"); sqls+=("${n%%.*}") ;; esac; done
for i in "${!sqls[@]}"; do
  n=${sqls[$i]}
  next=${sqls[$((i + 1))]:-end}
  check "$FILE:$(cat "$TMP/$n.line"): the SQL block runs without an error" ran "$n" "$next"
done
for b in "${blocks[@]}"; do
  n=$(basename "$b"); n=${n%%.*}
  case $b in
    *.sql) last_sql=$n ;;
    *.out)
      if [ -z "$last_sql" ]; then
        check "$FILE:$(cat "$TMP/$n.line"): an output block follows a SQL block" false
      else
        check "$FILE:$(cat "$TMP/$n.line"): the output is what the block above prints" \
          contains "$b" "$TMP/$last_sql.printed"
      fi ;;
  esac
done

if [ "$bad" != 0 ] || [ "$rc" != 0 ]; then
  echo "---- the tour's shell commands ($FILE's sh blocks), exit status $rc ----"
  cat "$SH"
  echo "---- what psql printed ----"
  grep -v '^@@readme-check ' "$TMP/stdout" | tail -n 60
  echo "---- standard error ----"
  tail -n 30 "$TMP/stderr"
  [ "$bad" != 0 ] || { bad=1; echo "FAILED  the tour's shell commands exited with status $rc"; }
fi
echo "readme-check: $ok passed, $bad failed"
[ "$bad" = 0 ]
