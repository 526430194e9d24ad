#!/usr/bin/env bash
# bench/t38.sh: our T.38 terminals (t30 sessions over t38) measured in one
# run; it prints a summary per measurement and BENCH lines for bench/report:
#
#  1. CPU per page against SpanDSP: the same 20-page TIFF (V.17 14400, MR,
#     T.38 v2, redundancy 3) sent between two of our terminals and between
#     two SpanDSP t38_terminals, both in virtual time, both reading the
#     pages from a TIFF file and writing the received pages to one,
#     interleaved over FAXAGENT_BENCH_ROUNDS rounds (default 9): best and
#     median per side (TestCPUPerPageVsSpanDSP in testbench/interop/spandsp).
#  2. N concurrent real-time calls over UDP on 127.0.0.1, senders in one
#     process and receivers in another, one page each, every page checked
#     pixel-equal (TestConcurrentCalls in t38): CPU and heap per call, ours
#     alone (no reference runs this).
#
#   bash bench/t38.sh            # N = 100
#   bash bench/t38.sh all        # N = 100, 500 and 1000
#   bash bench/t38.sh 250 2000   # the N given
#
# Needs gcc, pkg-config and libspandsp-dev for the SpanDSP side. The calls
# of part 2 run in real time (about a minute each N, whatever N); 1000 calls
# need 2000 UDP sockets per process.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ns=(100)
if [[ $# -gt 0 ]]; then
  if [[ $1 == all ]]; then
    ns=(100 500 1000)
  else
    ns=()
    for a in "$@"; do
      [[ $a =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [all | N...]" >&2; exit 2; }
      ns+=("$a")
    done
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build both test binaries once; run them from their package directories,
# as go test does (-count=1 semantics: nothing comes from the test cache).
go test -c -o "$work/spandsp.test" ./testbench/interop/spandsp
go test -c -o "$work/t38.test" ./t38

status=0

# run LOG DIR BINARY ARGS...: runs one measuring test, keeps its -v output,
# and fails (showing the tail) if it did not pass or was skipped.
run() {
  local log=$1 dir=$2
  shift 2
  if ! (cd "$dir" && FAXAGENT_BENCH=1 "$@") > "$log" 2>&1 || grep -q -- '--- SKIP' "$log"; then
    echo "FAILED or skipped: $*" >&2
    tail -n 20 "$log" >&2
    status=1
    return 1
  fi
}

echo "== CPU per page, ours vs SpanDSP (20 pages, TIFF to TIFF, virtual time, interleaved rounds)" >&2
run "$work/cpu.log" "$root/testbench/interop/spandsp" \
  "$work/spandsp.test" -test.run '^TestCPUPerPageVsSpanDSP$' -test.v -test.count=1 -test.timeout=20m || true

for n in "${ns[@]}"; do
  echo "== $n concurrent real-time calls" >&2
  run "$work/calls-$n.log" "$root/t38" env FAXAGENT_CALLS="$n" \
    "$work/t38.test" -test.run '^TestConcurrentCalls$' -test.v -test.count=1 -test.timeout=30m || true
done

# The tests log a summary per measurement and BENCH lines for bench/report.
for log in "$work"/cpu.log "$work"/calls-*.log; do
  grep -E 'rounds: ours best|concurrent real-time calls|senders: |receivers: ' "$log" | sed -E 's/^ +[a-z_]+\.go:[0-9]+: //' || true
  grep -o 'BENCH {.*' "$log" || true
done
exit "$status"
