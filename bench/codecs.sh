#!/usr/bin/env bash
# bench/codecs.sh: our MH/MR/MMR codecs against libtiff's, in one run, on the
# same pages. Prints pages per second for each, bytes per page and the ratio
# ours/libtiff (>= 1.0 means we are at least as fast).
#
#   bash bench/codecs.sh [PAGES] [REPS]
#
# Needs gcc, libtiff-dev, libtiff-tools and netpbm (make deps installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-20}
reps=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -o "$work/libtiffbench" bench/libtiffbench.c -ltiff
go build -o "$work/codecbench" ./bench/codecbench

# Dense text pages at fine resolution, 1728 x 2292, made with netpbm's
# built-in font: realistic business-letter density, different on every page.
for i in $(seq 1 "$pages"); do
  for l in $(seq 1 100); do
    printf 'Page %03d line %03d  Invoice 2026-%04d  Qty %3d  Price %7.2f  Total %9.2f  ACME Fax Works\n' \
      "$i" "$l" $((i * 100 + l)) $(((i * l) % 97)) "$(((i * 31 + l * 7) % 1000)).$((l % 100))" "$(((i + l) * 13)).50"
  done | pbmtext -builtin fixed 2>/dev/null | pnmscale -xscale 2.6 -yscale 2.1 2>/dev/null | pgmtopbm -threshold 2>/dev/null \
    | pnmpad -white -width 1728 -height 2292 2>/dev/null | pamcut -width 1728 -height 2292 > "$work/p$i.pbm"
  pnmtotiff -none -xresolution 204 -yresolution 196 "$work/p$i.pbm" > "$work/p$i.tif" 2>/dev/null
done
tiffcp $(for i in $(seq 1 "$pages"); do echo "$work/p$i.tif"; done) "$work/pages.tif"

"$work/libtiffbench" "$work/pages.tif" "$reps" > "$work/libtiff.txt"
"$work/codecbench" "$work/pages.tif" "$reps" > "$work/ours.txt"

echo "$pages pages 1728x2292 fine, text, x$reps; pages/s (higher is better)"
printf '%-4s %-6s %12s %12s %7s %12s %12s %12s\n' codec op libtiff ours ratio libtiff_B/pg ours_B/pg allocs/pg
while read -r who codec op n secs pps bytes rest; do
  read -r _ _ _ _ _ opps obytes oallocs < <(grep "^ours $codec $op " "$work/ours.txt")
  ratio=$(awk -v a="$opps" -v b="$pps" 'BEGIN{printf "%.2f", a/b}')
  printf '%-4s %-6s %12.1f %12.1f %7s %12d %12d %12s\n' "$codec" "$op" "$pps" "$opps" "$ratio" "$bytes" "$obytes" "$oallocs"
done < "$work/libtiff.txt"
