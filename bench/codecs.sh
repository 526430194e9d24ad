#!/usr/bin/env bash
# bench/codecs.sh: our MH/MR/MMR codecs against libtiff's on the same dense
# text pages, interleaved: each of ROUNDS rounds runs libtiff's side and ours
# (alternating which goes first), each coding every page REPS times. Both
# sides write a TIFF file on /dev/shm page by page (coding every row) and
# read it back (decoding every row); the figure is process CPU time per page
# of that work (libtiff: TIFFWriteEncodedStrip + TIFFWriteDirectory, and
# TIFFReadEncodedStrip; ours: tiff.Writer NewPage/WriteRow/Close, and
# tiff.Reader Page/ReadRow). Loading the source pages is not counted.
#
#   bash bench/codecs.sh [PAGES] [REPS] [ROUNDS]
#
# The same rounds also code the pages in memory against SpanDSP's T.4
# transmitter (bench/spandspt4bench.c: t4_tx_start_page with a row read
# handler, t4_tx_get_chunk; ours: imaging.Encoder into a reused buffer,
# codecbench's "mem" mode), MH in both bit orders and MR and MMR in the
# line's, and check that both sides code the same bytes (SpanDSP pads the
# last byte of a page with ones, so that byte is not compared).
#
# Prints a table (best and median per side, ratio ours/reference: below 1
# we use less CPU) and BENCH lines for bench/report. Needs gcc, libtiff-dev,
# libtiff-tools, netpbm and libspandsp-dev (make deps installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-20}
reps=${2:-2}
rounds=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -o "$work/libtiffbench" bench/libtiffbench.c -ltiff
gcc -O2 -o "$work/spandspt4bench" bench/spandspt4bench.c $(pkg-config --cflags --libs spandsp) -ltiff
go build -o "$work/codecbench" ./bench/codecbench
go build -o "$work/report" ./bench/report

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

# Each side prints "<who> <codec> <op> <pages> <seconds> <pages/s> <bytes/page> ...";
# the in-memory encoders (op encode-mem) add a hash of the coded bytes.
# The in-memory comparison codes every page 5x as often: it is quick.
declare -A samples bytes hashes
memreps=$((reps * 5))
for r in $(seq 1 "$rounds"); do
  if ((r % 2)); then order="libtiff ours spandsp oursmem"; else order="oursmem spandsp ours libtiff"; fi
  for who in $order; do
    case $who in
    libtiff) "$work/libtiffbench" "$work/pages.tif" "$reps" ;;
    ours) "$work/codecbench" "$work/pages.tif" "$reps" ;;
    spandsp) "$work/spandspt4bench" "$work/pages.tif" "$memreps" ;;
    oursmem) "$work/codecbench" "$work/pages.tif" "$memreps" mem ;;
    esac > "$work/out.txt"
    while read -r w codec op n secs _ b h; do
      ms=$(awk -v s="$secs" -v n="$n" 'BEGIN{printf "%.4f", s*1000/n}')
      samples["$w $codec $op"]+="${samples["$w $codec $op"]:+,}$ms"
      bytes["$w $codec $op"]=$b
      hashes["$w $codec $op"]=$h
    done < "$work/out.txt"
  done
done
for codec in MH MR MMR; do
  if [[ ${hashes["ours $codec encode-mem"]} != "${hashes["spandsp $codec encode-mem"]}" ]]; then
    echo "codecs.sh: $codec: ours and SpanDSP code different bytes (${hashes["ours $codec encode-mem"]} vs ${hashes["spandsp $codec encode-mem"]})" >&2
    exit 1
  fi
done

libtiff_version=$(pkg-config --modversion libtiff-4 2>/dev/null || echo "?")
{
  for codec in MH MR MMR; do
    for op in encode decode; do
      if [[ $op == encode ]]; then
        ours="codes every row of the page into a TIFF file on /dev/shm (tiff.Writer: NewPage, WriteRow per row, Close; file writes included)."
        ref="TIFFWriteEncodedStrip and TIFFWriteDirectory of the page into a TIFF file on /dev/shm (file writes included)."
      else
        ours="decodes every row of the page from that TIFF file (tiff.Reader: Page, ReadRow per row into one row buffer)."
        ref="TIFFReadEncodedStrip of the page from that TIFF file into one page buffer."
      fi
      printf 'BENCH {"group":"codecs","name":"%s %s (%d dense text pages 1728x2292 fine, x%d per round; %s %d B/page, libtiff %d B/page)","unit":"ms CPU/page","ours":[%s],"ref":[%s],"ref_name":"libtiff %s","ours_includes":"%s","ref_includes":"%s"}\n' \
        "$codec" "$op" "$pages" "$reps" ours "${bytes["ours $codec $op"]}" "${bytes["libtiff $codec $op"]}" \
        "${samples["ours $codec $op"]}" "${samples["libtiff $codec $op"]}" "$libtiff_version" "$ours" "$ref"
    done
  done
  spandsp_version=$(pkg-config --modversion spandsp 2>/dev/null || echo "?")
  for m in "MH MH lsb" "MH-msb MH msb" "MR MR lsb" "MMR MMR lsb"; do
    read -r key codec order <<< "$m"
    if [[ $order == lsb ]]; then
      ordername="line bit order (LSB first), as SpanDSP codes"
      ours="imaging.Encoder codes every row of the page from memory into one reused buffer, LSB first (the line's order)."
    else
      ordername="TIFF bit order (MSB first), SpanDSP in its line order"
      ours="imaging.Encoder codes every row of the page from memory into one reused buffer, MSB first (TIFF FillOrder 1)."
    fi
    ref="t4_tx_start_page codes the page from memory (a row read handler copies each row), t4_tx_get_chunk copies the coded page out, t4_tx_end_page; always in the line's bit order (LSB first)."
    printf 'BENCH {"group":"codecs","name":"%s encode in memory vs SpanDSP, %s (%d dense text pages 1728x2292 fine, x%d per round; %d B/page both, same bytes)","unit":"ms CPU/page","ours":[%s],"ref":[%s],"ref_name":"SpanDSP %s t4_tx","ours_includes":"%s","ref_includes":"%s"}\n' \
      "$codec" "$ordername" "$pages" "$memreps" "${bytes["ours $key encode-mem"]}" \
      "${samples["ours $key encode-mem"]}" "${samples["spandsp $codec encode-mem"]}" "$spandsp_version" "$ours" "$ref"
  done
} | tee "$work/bench.log"
"$work/report" -md "$work/report.md" -json "$work/report.json" "$work/bench.log"
