#!/usr/bin/env bash
# Kill-and-resume with real processes: a worker trains with a checkpoint every few steps; it is stopped
# at a random moment after its first checkpoint (SIGKILL, then SIGTERM, then SIGINT), resumed to the end
# with --resume, and its final checkpoint (weights, Adam moments, step, data position) must equal the
# uninterrupted run's byte for byte.
#   check_kill_and_resume.sh WORKER WORK_DIR
set -euo pipefail
worker=$1
work=$2
steps=150
every=10

fail() { echo "FAILED: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

rm -rf "$work"
mkdir -p "$work"

start=$(now_ms)
"$worker" "$work/straight" $steps $every > "$work/straight.log"
duration=$(( $(now_ms) - start ))
grep -q "finished at step $steps" "$work/straight.log" || fail "the uninterrupted run did not finish: $(cat "$work/straight.log")"
echo "uninterrupted run: $steps steps in ${duration} ms"

# Stops a worker in DIR with SIGNAL at a random moment (at most MAX_DELAY_MS) after its first checkpoint.
# Returns 0 when the worker was stopped by it (exit status EXPECTED), 3 when it finished first.
stop_at_random() {
  local signal=$1 expected=$2 dir=$3 max_delay_ms=$4 log=$5
  rm -rf "$dir"
  "$worker" "$dir" $steps $every > "$log" 2>&1 &
  local pid=$! waited=0
  until [ -e "$dir/checkpoint.safetensors" ]; do
    kill -0 $pid 2>/dev/null || fail "$signal: the worker exited before its first checkpoint: $(cat "$log")"
    sleep 0.01
    waited=$(( waited + 1 ))
    [ $waited -lt 3000 ] || fail "$signal: no checkpoint after 30 s"
  done
  delay_ms=$(( RANDOM % (max_delay_ms + 1) ))
  sleep "$(printf '%d.%03d' $(( delay_ms / 1000 )) $(( delay_ms % 1000 )))"
  kill -s "$signal" $pid 2>/dev/null || true
  local status=0
  { wait $pid; } 2>/dev/null || status=$?  # (the redirection keeps bash from reporting the kill)
  [ $status -eq 0 ] && return 3
  [ $status -eq "$expected" ] || fail "$signal: the worker exited with $status, expected $expected: $(cat "$log")"
  return 0
}

# signal name, expected exit status of the stopped worker
for case in "KILL 137" "TERM 143" "INT 130"; do
  read -r signal expected <<< "$case"
  dir="$work/$signal"
  # The run's speed varies with the machine's load: if it finished before the signal, try again sooner.
  max_delay_ms=$(( duration * 6 / 10 ))
  for attempt in 1 2 3 4 5; do
    outcome=0
    stop_at_random "$signal" "$expected" "$dir" $max_delay_ms "$work/$signal.log" || outcome=$?
    [ $outcome -eq 0 ] && break
    [ $attempt -lt 5 ] || fail "$signal: the worker finished before the signal in 5 attempts"
    max_delay_ms=$(( max_delay_ms / 3 ))
  done
  if [ "$signal" != KILL ]; then
    grep -q "interrupted by signal" "$work/$signal.log" || fail "$signal: no interruption reported: $(cat "$work/$signal.log")"
    [ ! -e "$dir/checkpoint.safetensors.partial" ] || fail "$signal: a partial checkpoint was left behind"
  fi

  "$worker" "$dir" $steps $every --resume > "$work/$signal.resume.log" 2>&1 || fail "$signal: resume failed: $(cat "$work/$signal.resume.log")"
  resumed_from=$(sed -n 's/^resuming from step \([0-9]*\)$/\1/p' "$work/$signal.resume.log")
  [ -n "$resumed_from" ] || fail "$signal: the resumed run did not say where it resumed: $(cat "$work/$signal.resume.log")"
  grep -q "finished at step $steps" "$work/$signal.resume.log" || fail "$signal: the resumed run did not finish: $(cat "$work/$signal.resume.log")"
  if ! cmp -s "$work/straight/checkpoint.safetensors" "$dir/checkpoint.safetensors"; then
    "$worker" --compare "$work/straight/checkpoint.safetensors" "$dir/checkpoint.safetensors" || true
    fail "$signal: the resumed run's final checkpoint differs from the uninterrupted run's"
  fi
  echo "SIG$signal ${delay_ms} ms after the first checkpoint (attempt $attempt): resumed from step $resumed_from of $steps, final state bit-identical"
done
