#!/usr/bin/env bash
# bench/memory.sh: `faxagent convert` against `tiffcp` on the same work: a
# PAGES-page fine-resolution MH TIFF transcoded to MMR (T.6), every page
# decoded and re-encoded, interleaved over ROUNDS rounds (which goes first
# alternates). For each it measures peak RSS and CPU time (user + system,
# the whole process: start-up, reading and writing the files included) with
# GNU time, and prints a summary and BENCH lines for bench/report.
#
#   bash bench/memory.sh [PAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-500}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/faxagent" ./cmd/faxagent
"$work/faxagent" convert testdata/sample/letter.png -o "$work/one.tif" --resolution fine --compression mh >/dev/null
tiffcp $(yes "$work/one.tif" | head -n "$pages") "$work/big.tif"

# measure CMD...: prints "RSS_KB CPU_SECONDS" of one run.
measure() {
  /usr/bin/time -f '%M %U %S' -o "$work/time.txt" "$@" >/dev/null
  awk '{printf "%d %.3f\n", $1, $2 + $3}' "$work/time.txt"
}
ours_rss=() ours_cpu=() ref_rss=() ref_cpu=()
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then order="ours tiffcp"; else order="tiffcp ours"; fi
  for who in $order; do
    rm -f "$work/out.tif"
    if [[ $who == ours ]]; then
      read -r rss cpu < <(measure "$work/faxagent" convert "$work/big.tif" -o "$work/out.tif" --compression mmr)
      ours_rss+=("$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')") ours_cpu+=("$cpu")
    else
      read -r rss cpu < <(measure tiffcp -c g4 "$work/big.tif" "$work/out.tif")
      ref_rss+=("$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')") ref_cpu+=("$cpu")
    fi
  done
  echo "round $r: faxagent convert ${ours_rss[-1]} MiB ${ours_cpu[-1]} s; tiffcp -c g4 ${ref_rss[-1]} MiB ${ref_cpu[-1]} s"
done
join() { local IFS=,; echo "$*"; }
ours="faxagent convert big.tif -o out.tif --compression mmr: the whole process (start-up, reading the MH TIFF, decoding and re-encoding every page as MMR, writing the TIFF)."
ref="tiffcp -c g4 big.tif out.tif: the whole process, the same transcoding."
ver=$(tiffcp 2>&1 | grep -m1 -oE 'LIBTIFF, Version [0-9.]+' | sed 's/LIBTIFF, Version /libtiff /' || true)
for m in "peak RSS|MiB|$(join "${ours_rss[@]}")|$(join "${ref_rss[@]}")" "CPU|s CPU|$(join "${ours_cpu[@]}")|$(join "${ref_cpu[@]}")"; do
  IFS='|' read -r name unit o t <<<"$m"
  printf 'BENCH {"group":"memory","name":"%s, %d-page fine MH TIFF to MMR","unit":"%s","ours":[%s],"ref":[%s],"ref_name":"tiffcp (%s)","ours_includes":"%s","ref_includes":"%s"}\n' \
    "$name" "$pages" "$unit" "$o" "$t" "${ver:-libtiff}" "$ours" "$ref"
done
