#!/bin/bash
# scripts/progress.sh -- one line per step, the full output in a log file.
#
# A sourceable bash library (do not execute it), used by scripts/test.sh and
# scripts/demo.sh.  Each step prints one line with the time since the start:
#
#     [   4s] build ok
#     [  12s] regress 24/24 ok
#     [ 1m40s] tap 3/9 003_model ok (41 s)
#
# while everything the step's commands print goes to the log file
# (PROGRESS_LOG).  On a terminal, the line of the running step is kept up
# to date every second ("[ 1m12s] tap 3/9 003_model ..."), so a long test
# is never a silent stretch.  With V=1 in the environment (`make test V=1`:
# make passes command-line variables on) the commands' output is shown as
# well, as it comes.
#
#     . scripts/progress.sh
#     progress_init log/make-test.log
#     progress_run build "build ok" make all install   # a step in one go
#     some_cmd 2>&1 | progress_stream my_handler          # a streamed step
#     progress_say "regress $ok/$n ok"                    # its line
#     progress_status "regress $ok/$n"                    # live, terminal only

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "scripts/progress.sh is a library: source it" >&2
  exit 2
fi

PROGRESS_LOG=/dev/null
PROGRESS_T0=$SECONDS
PROGRESS_VERBOSE=0
case "${V:-0}" in 0|"") ;; *) PROGRESS_VERBOSE=1 ;; esac
PROGRESS_TTY=0
[ -t 1 ] && [ "$PROGRESS_VERBOSE" = 0 ] && PROGRESS_TTY=1
PROGRESS_COLS=100
[ "$PROGRESS_TTY" = 0 ] || PROGRESS_COLS=$(tput cols 2>/dev/null || echo 100)
PROGRESS_STATUS=""          # text of the live line (terminal only)

# progress_init LOG: start the clock; the log file is emptied
progress_init() {
  PROGRESS_LOG=$1
  mkdir -p "$(dirname "$PROGRESS_LOG")"
  : >"$PROGRESS_LOG"
  PROGRESS_T0=$SECONDS
}

# progress_elapsed: "   12s", " 1m40s", "12m05s"
progress_elapsed() {
  local s=$((SECONDS - PROGRESS_T0))
  if [ "$s" -lt 60 ]; then
    printf '%5ds' "$s"
  else
    printf '%2dm%02ds' $((s / 60)) $((s % 60))
  fi
}

# (a live line may have been left by a handler in a pipeline's subshell:
# on a terminal the line is always cleared)
_progress_clear() {
  [ "$PROGRESS_TTY" = 1 ] && printf '\r\033[K'
  return 0
}

# progress_say TEXT: the line of a step (also written to the log)
progress_say() {
  _progress_clear
  printf '[%s] %s\n' "$(progress_elapsed)" "$*"
  printf '[%s] %s\n' "$(progress_elapsed)" "$*" >>"$PROGRESS_LOG"
  PROGRESS_STATUS=""
  _progress_lane_status
}

# progress_status TEXT: what is running now, kept up to date on a terminal
progress_status() {
  PROGRESS_STATUS=$*
  _progress_lane_status
  _progress_tick
}

# Steps may run in lanes at once (scripts/test.sh): each lane, a process
# of its own, sets PROGRESS_LANE to its name and PROGRESS_LANES_DIR to a
# directory they share, where it keeps its live status (a file named after
# the lane); the live line then shows every lane's running step, " | "
# between them.  Each lane prints its own step lines.
_progress_lane_status() {
  [ -n "${PROGRESS_LANES_DIR:-}" ] || return 0
  printf '%s' "$PROGRESS_STATUS" >"$PROGRESS_LANES_DIR/$PROGRESS_LANE" 2>/dev/null
  return 0
}

_progress_tick() {
  [ "$PROGRESS_TTY" = 1 ] || return 0
  local text=$PROGRESS_STATUS f s width=$PROGRESS_COLS
  if [ -n "${PROGRESS_LANES_DIR:-}" ]; then
    text=""
    for f in "$PROGRESS_LANES_DIR"/*; do
      [ -s "$f" ] && s=$(<"$f") && text+="${text:+ | }$s"
    done
  fi
  [ -n "$text" ] || return 0
  # one terminal line: the time (10), " ..." (4)
  [ "${#text}" -le $((width - 15)) ] || text="${text:0:$((width - 18))}..."
  printf '\r[%s] %s ...\033[K' "$(progress_elapsed)" "$text"
}

# progress_show TEXT...: print a block (a failure's diffs, a log tail) in
# full, on the terminal and in the log
progress_show() {
  _progress_clear
  printf '%s\n' "$@" | tee -a "$PROGRESS_LOG"
}

# ... | progress_stream [HANDLER]: read a step's output to its end.  Every
# line goes to the log (and to the terminal with V=1) and to HANDLER (a
# function, called with the line as $1) which may call progress_status or
# progress_say; the live line is refreshed every second without output.
progress_stream() {
  local handler=${1:-:} line buf="" rc
  while :; do
    if IFS= read -r -t 1 line; then
      rc=0
      line="$buf$line"
      buf=""
    else
      rc=$?
      if [ "$rc" -gt 128 ]; then       # a second without a whole line
        buf+="$line"
        _progress_tick
        continue
      fi
      line="$buf$line"                 # end of input
      [ -n "$line" ] || break
    fi
    printf '%s\n' "$line" >>"$PROGRESS_LOG"
    [ "$PROGRESS_VERBOSE" = 1 ] && printf '%s\n' "$line"
    "$handler" "$line"
    [ "$rc" = 0 ] || break
  done
  _progress_tick
  return 0
}

# progress_run STATUS CMD...: run CMD with its output to the log (shown
# with V=1), showing STATUS while it runs; returns CMD's exit status.  The
# caller prints the step's line.
progress_run() {
  local status=$1 rc
  shift
  progress_status "$status"
  "$@" 2>&1 | progress_stream :
  rc=${PIPESTATUS[0]}
  return "$rc"
}

# progress_fail_tail FILE [N]: the last N (40) lines of FILE, and where the
# whole of it is
progress_fail_tail() {
  local f=$1 n=${2:-40}
  progress_show "---- last $n lines of $f ----"
  _progress_clear
  tail -n "$n" "$f" | tee -a "$PROGRESS_LOG"
  progress_show "----"
}
