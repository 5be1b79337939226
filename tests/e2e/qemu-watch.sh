#!/bin/bash
# qemu-watch.sh LOG TIMEOUT DONE_REGEX FAIL_REGEX -- QEMU-ARGS...
# The watchdog: runs qemu-system-x86_64 with the serial console in LOG and polls LOG. QEMU (by
# its own PID) is killed as soon as DONE_REGEX appears (after a grace second), FAIL_REGEX
# appears (panic, crash), or TIMEOUT seconds pass; so a hang fails fast. Exit 0 only on DONE.
LOG=$1; TO=$2; DONE=$3; BAD=$4; shift 5
: > "$LOG"
qemu-system-x86_64 -nographic -no-reboot -monitor none -serial file:"$LOG" "$@" > "$LOG.qemu-stderr" 2>&1 &
QPID=$!
trap 'kill $QPID 2>/dev/null' EXIT INT TERM
SECONDS=0
result=TIMEOUT
while kill -0 $QPID 2>/dev/null; do
  if grep -aqE "$DONE" "$LOG"; then result=DONE; sleep 1; break; fi
  if grep -aqE "$BAD" "$LOG"; then result="FAIL($(grep -aoE -m1 "$BAD" "$LOG"))"; sleep 2; break; fi
  if [ $SECONDS -ge "$TO" ]; then result="TIMEOUT(${TO}s)"; break; fi
  sleep 0.5
done
if kill -0 $QPID 2>/dev/null; then
  kill $QPID; wait $QPID 2>/dev/null
else
  wait $QPID; rc=$?
  if [ "$result" = TIMEOUT ]; then
    if grep -aqE "$DONE" "$LOG"; then result=DONE; else result="EXITED(rc=$rc: $(tail -c 300 "$LOG.qemu-stderr" | tr '\n' ' '))"; fi
  fi
fi
trap - EXIT INT TERM
echo "qemu-watch: $result after ${SECONDS}s"
[ "$result" = DONE ]
