#!/usr/bin/env bash
# bench/memory.sh: peak RSS of `faxagent convert` on a 500-page TIFF (each
# page transcoded MH -> MMR and stamped with a header line), beside tiffcp
# doing the same transcoding in the same run.
#
#   bash bench/memory.sh [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/faxagent" ./cmd/faxagent
"$work/faxagent" convert testdata/sample/letter.png -o "$work/one.tif" --resolution fine --compression mh >/dev/null
tiffcp $(yes "$work/one.tif" | head -n "$pages") "$work/big.tif"
ours=$( { /usr/bin/time -f '%M %U' "$work/faxagent" convert "$work/big.tif" -o "$work/out.tif" --compression mmr --header '%d %t PAGE %p/%s' >/dev/null; } 2>&1 | tail -1)
theirs=$( { /usr/bin/time -f '%M %U' tiffcp -c g4 "$work/big.tif" "$work/out2.tif"; } 2>&1 | tail -1)
echo "$pages pages, fine, MH -> MMR"
echo "faxagent convert (with header): peak RSS ${ours% *} KB, CPU ${ours#* } s"
echo "tiffcp -c g4:                   peak RSS ${theirs% *} KB, CPU ${theirs#* } s"
