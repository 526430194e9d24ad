#!/usr/bin/env bash
# bench/dispatch.sh: the agent protocol (core/agentapi: an agent long-
# polling a core over TLS on loopback) against an agent on the database
# (--role agent --db: its own store on the same PostgreSQL schema, woken
# by LISTEN/NOTIFY), interleaved over ROUNDS rounds (which goes first
# alternates), with core/agentapi's benchmarks:
#
#   1. dispatch latency (BenchmarkDispatch): from a submission (the core's
#      Store.Submit, as the API calls it) to the agent's driver Dial, on an
#      agent of 8 ports polling once an hour: only wake-ups bring it jobs,
#      and a missed one fails the run. Also reported: Submit alone, and
#      from Submit's return to the Dial (wake-up, claim, document):
#        idle:  N submissions one at a time, each once the agent is waiting
#               (the long-poll's wake-up path);
#        burst: N submissions 8 at once (8 concurrent submitters);
#   2. claims+finishes per second (BenchmarkProtocolClaimFinish and
#      BenchmarkDirectClaimFinish): 8 workers, N jobs queued beforehand.
#
# It prints each round, the medians and protocol/direct ratios, and BENCH
# lines for bench/report.
#
#   bash bench/dispatch.sh [N] [ROUNDS]      # default 500 submissions, 5 rounds
#
# PostgreSQL: $FAXAGENT_TEST_POSTGRES (default the trust-auth database test
# on 127.0.0.1); every run makes and drops its own schema.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
rounds=${2:-5}
[[ $n =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [submissions [rounds]]" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/agentapi.test" ./core/agentapi

# metric FILE BENCH UNIT: the value of UNIT on the line of benchmark BENCH.
metric() {
  awk -v b="$2" -v u="$3" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$1"
}

# run KIND: one round of KIND (protocol or direct); appends to the arrays.
declare -A vals
run() {
  local kind=$1 cf out=$work/$1.txt
  cf=Protocol
  [[ $kind == direct ]] && cf=Direct
  (cd core/agentapi && "$work/agentapi.test" -test.run '^$' -test.bench "^BenchmarkDispatch\$/^$kind\$/" -test.benchtime "${n}x" &&
    "$work/agentapi.test" -test.run '^$' -test.bench "^Benchmark${cf}ClaimFinish\$" -test.benchtime "${n}x") >"$out" 2>&1 ||
    { cat "$out" >&2; echo "benchmark $kind failed" >&2; exit 1; }
  for load in idle burst; do
    for m in p50-ms p99-ms max-ms submit-p99-ms after-p50-ms after-p99-ms; do
      vals[$kind,$load,$m]+="$(metric "$out" "BenchmarkDispatch/$kind/$load" "$m") "
    done
  done
  vals[$kind,cf]+="$(metric "$out" "Benchmark${cf}ClaimFinish" jobs/s) "
}

last() { local a=($1); echo "${a[-1]}"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

echo "== $(nproc) CPUs, $(go version | cut -d' ' -f3), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then order="protocol direct"; else order="direct protocol"; fi
  for kind in $order; do run "$kind"; done
  line="round $r:"
  for kind in protocol direct; do
    line+=" $kind idle p50/p99 $(last "${vals[$kind,idle,p50-ms]}")/$(last "${vals[$kind,idle,p99-ms]}") ms,"
    line+=" burst $(last "${vals[$kind,burst,p50-ms]}")/$(last "${vals[$kind,burst,p99-ms]}") ms,"
    line+=" $(last "${vals[$kind,cf]}") jobs/s;"
  done
  echo "$line"
done

echo "== medians over $rounds rounds ($n submissions or jobs each; load now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-34s %10s %10s %8s\n' measurement protocol direct ratio
for load in idle burst; do
  for m in p50-ms p99-ms max-ms submit-p99-ms after-p50-ms after-p99-ms; do
    p=$(median "${vals[protocol,$load,$m]}") d=$(median "${vals[direct,$load,$m]}")
    printf '%-34s %10s %10s %8s\n' "dispatch $load $m" "$p" "$d" "$(ratio "$p" "$d")"
  done
done
p=$(median "${vals[protocol,cf]}") d=$(median "${vals[direct,cf]}")
printf '%-34s %10s %10s %8s\n' "claim+finish jobs/s" "$p" "$d" "$(ratio "$p" "$d")"

join() { tr -s ' ' <<<"$1" | sed 's/^ //; s/ $//; s/ /,/g'; }
ours="the agent protocol: agentapi.Client long-polling an agentapi.Server (one core, following the store's wake-ups as --role core) over TLS on loopback, PostgreSQL on the same machine; documents downloaded with each claim."
ref="an agent on the database (--role agent --db): core.AgentQueue on a store of its own on the same PostgreSQL schema, woken by LISTEN/NOTIFY."
for load in idle burst; do
  what="1 at a time, the agent waiting"
  [[ $load == burst ]] && what="8 at once"
  for m in p50 p99; do
    printf 'BENCH {"group":"dispatch","name":"submission to Dial %s, %d submissions %s (8 ports, PostgreSQL)","unit":"ms %s","ours":[%s],"ref":[%s],"ref_name":"direct-database agent","ours_includes":"%s","ref_includes":"%s"}\n' \
      "$m" "$n" "$what" "$m" "$(join "${vals[protocol,$load,$m-ms]}")" "$(join "${vals[direct,$load,$m-ms]}")" "$ours" "$ref"
  done
done
printf 'BENCH {"group":"dispatch","name":"claims+finishes, 8 workers, %d jobs (PostgreSQL)","unit":"jobs/s","higher":true,"ours":[%s],"ref":[%s],"ref_name":"direct-database agent","ours_includes":"%s","ref_includes":"%s"}\n' \
  "$n" "$(join "${vals[protocol,cf]}")" "$(join "${vals[direct,cf]}")" "$ours" "the core's store adapter (core.AgentQueue) called in the process, no network."
