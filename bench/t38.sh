#!/usr/bin/env bash
# bench/t38.sh: our T.38 terminals (t30 sessions over t38) measured in one
# run, with a short table at the end:
#
#  1. CPU per page against SpanDSP: the same 20-page document (V.17 14400,
#     MR, T.38 v2, redundancy 3) sent between two of our terminals and
#     between two SpanDSP t38_terminals, both in virtual time
#     (TestCPUPerPageVsSpanDSP in testbench/interop/spandsp).
#  2. N concurrent real-time calls over UDP on 127.0.0.1, senders in one
#     process and receivers in another, one page each, every page checked
#     pixel-equal (TestConcurrentCalls in t38): CPU and heap per call.
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

echo "== CPU per page, ours vs SpanDSP (20 pages, virtual time)" >&2
cpu_ok=1
run "$work/cpu.log" "$root/testbench/interop/spandsp" \
  "$work/spandsp.test" -test.run '^TestCPUPerPageVsSpanDSP$' -test.v -test.count=1 -test.timeout=10m || cpu_ok=0

for n in "${ns[@]}"; do
  echo "== $n concurrent real-time calls" >&2
  run "$work/calls-$n.log" "$root/t38" env FAXAGENT_CALLS="$n" \
    "$work/t38.test" -test.run '^TestConcurrentCalls$' -test.v -test.count=1 -test.timeout=30m || true
done

# The tests log (t.Logf) lines like:
#   ours:    1.2s CPU, 61ms per page (virtual call 5m1.2s)
#   SpanDSP: 800ms CPU, 40ms per page (virtual call 301.0s)
#   ratio ours/SpanDSP: 1.50x
#   N=100 concurrent real-time calls, 1 page each, ..., wall 52s
#   senders:   100/100 OK, CPU 3.1s (31ms per call), heap in use 9000 KiB (90 KiB per call), max RSS 40 MiB
#   receivers: 100/100 OK, 100 pages intact, CPU 3.5s (35ms per call), heap in use ... max RSS 45 MiB
field() { # field LOG REGEX: what follows REGEX on the first line matching it
  grep -m1 -E -- "$2" "$1" | sed -E "s|.*$2||"
}

echo
echo "T.38 terminal, 20-page document (1728x1100 standard, MR), V.17 14400, T.38 v2, redundancy 3, virtual time"
if [[ $cpu_ok == 1 ]]; then
  printf '%-9s %12s %12s %14s\n' side CPU CPU/page "virtual call"
  for who in ours SpanDSP; do
    l=$(grep -m1 -E "^ +[a-z_]+\.go:[0-9]+: $who: " "$work/cpu.log" | sed -E "s/.*$who: +//")
    cpu=$(sed -E 's/^([^ ]+) CPU.*/\1/' <<<"$l")
    per=$(sed -E 's/.*CPU, ([^ ]+) per page.*/\1/' <<<"$l")
    virt=$(sed -E 's/.*virtual call ([^)]+)\).*/\1/' <<<"$l")
    printf '%-9s %12s %12s %14s\n' "$who" "$cpu" "$per" "$virt"
  done
  echo "ratio ours/SpanDSP (CPU): $(field "$work/cpu.log" 'ratio ours/SpanDSP: ')  (< 1 means we use less CPU)"
else
  echo "(not measured: see the error above)"
fi

echo
echo "Concurrent real-time T.38 calls over UDP (1 page each, V.17 14400, redundancy 3); senders and receivers in separate processes"
printf '%6s %6s %9s %9s %8s %11s %11s %10s %10s %8s %8s\n' \
  N wall tx_OK rx_OK intact tx_CPU/call rx_CPU/call tx_KiB/call rx_KiB/call tx_RSS rx_RSS
for n in "${ns[@]}"; do
  log=$work/calls-$n.log
  if ! grep -q -- '--- PASS' "$log"; then
    printf '%6s %s\n' "$n" "FAILED (see above)"
    continue
  fi
  wall=$(field "$log" 'concurrent real-time calls.*wall ')
  tx=$(grep -m1 'senders: ' "$log")
  rx=$(grep -m1 'receivers: ' "$log")
  txok=$(sed -E 's/.*senders: +([0-9]+\/[0-9]+) OK.*/\1/' <<<"$tx")
  rxok=$(sed -E 's/.*receivers: +([0-9]+\/[0-9]+) OK.*/\1/' <<<"$rx")
  intact=$(sed -E 's/.*OK, ([0-9]+) pages intact.*/\1/' <<<"$rx")
  txcpu=$(sed -E 's/.*CPU [^ ]+ \(([^ ]+) per call\).*/\1/' <<<"$tx")
  rxcpu=$(sed -E 's/.*CPU [^ ]+ \(([^ ]+) per call\).*/\1/' <<<"$rx")
  txkib=$(sed -E 's/.*KiB \(([0-9]+) KiB per call\).*/\1/' <<<"$tx")
  rxkib=$(sed -E 's/.*KiB \(([0-9]+) KiB per call\).*/\1/' <<<"$rx")
  txrss=$(sed -E 's/.*max RSS ([0-9]+ MiB).*/\1/' <<<"$tx")
  rxrss=$(sed -E 's/.*max RSS ([0-9]+ MiB).*/\1/' <<<"$rx")
  printf '%6s %6s %9s %9s %8s %11s %11s %10s %10s %8s %8s\n' \
    "$n" "$wall" "$txok" "$rxok" "$intact" "$txcpu" "$rxcpu" "$txkib" "$rxkib" "${txrss// /}" "${rxrss// /}"
done
exit "$status"
