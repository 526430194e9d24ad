#!/usr/bin/env bash
# bench/modem.sh: CPU per page of an audio (modem) fax call, ours against
# SpanDSP's fax modems: the same 20-page TIFF sent back to back in virtual
# time by two of our modem terminals and by two SpanDSP fax terminals, both
# reading the pages from a TIFF file and writing the received pages to one,
# interleaved over FAXAGENT_BENCH_ROUNDS rounds (default 7): best and median
# per side (TestAudioCPUPerPageVsSpanDSP in testbench/interop/spandsp).
# Prints a summary and a BENCH line for bench/report.
#
# Needs gcc and libspandsp-dev. FAXAGENT_BENCH_MODEM=V29|V27ter picks a
# slower modulation (default V.17 14400).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! FAXAGENT_BENCH=1 go test -count=1 -timeout 30m -run '^TestAudioCPUPerPageVsSpanDSP$' -v ./testbench/interop/spandsp > "$log" 2>&1 \
  || grep -q -- '--- SKIP' "$log"; then
  tail -n 20 "$log" >&2
  echo "bench/modem.sh: failed or skipped" >&2
  exit 1
fi
grep -E 'round [0-9]+:|rounds: ours best' "$log" | sed -E 's/^ +[a-z_]+\.go:[0-9]+: //'
grep -o 'BENCH {.*' "$log"
# Concurrent real-time calls (both ends in this process; FAXAGENT_CALLS,
# default 200). Needs a quiet machine: it is a wall-clock test.
if [ -n "${FAXAGENT_CAPACITY:-}" ]; then
  FAXAGENT_BENCH=1 go test -count=1 -run '^TestRealTimeCapacity$' -v ./modem | grep -E 'concurrent|lost their|ok|FAIL'
fi
