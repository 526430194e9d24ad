#!/bin/sh
# Regenerates the fixtures with netpbm (Debian netpbm 11). They are
# committed; tests do not run this script. All pictures here are made by
# netpbm, an encoder independent of ours.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

# 400x400 white picture with a black 100x100 square at (100,100).
pbmmake -white 400 400 >"$t/w.pbm"
pbmmake -black 100 100 >"$t/b.pbm"
pnmpaste -replace "$t/b.pbm" 100 100 "$t/w.pbm" >square.pbm
pnmtopng square.pbm >square.png
pnmtojpeg -quality 90 square.pbm >square.jpg
ppmtogif square.pbm >square.gif 2>/dev/null
pnmtotiff square.pbm >square.tif

# Text and patterns from netpbm's own generators, raw and plain.
pbmtext "HELLO" >hello.pbm
pnmtoplainpnm hello.pbm >hello.plain.pbm
pbmmake -gray 64 32 >gray.pbm
pgmramp -lr 64 8 >ramp.pgm
pnmtoplainpnm ramp.pgm >ramp.plain.pgm
pgmramp -diag 33 17 | pamdepth 1000 >ramp16.pgm
ppmrainbow -width 40 -height 10 red blue >rainbow.ppm
pnmtoplainpnm rainbow.ppm >rainbow.plain.ppm
pnmtopng rainbow.ppm >rainbow.png

# An A4-shaped (1000x1414) page of text, and a photograph-like gradient.
pbmmake -white 1000 1414 >"$t/page.pbm"
pbmtext "FAX AGENT TEST PAGE 0123456789" | pnmenlarge 3 >"$t/line.pbm"
cp "$t/page.pbm" "$t/acc.pbm"
for y in 80 300 520 740 960 1180; do
	pnmpaste -replace "$t/line.pbm" 60 $y "$t/acc.pbm" >"$t/next.pbm"
	mv "$t/next.pbm" "$t/acc.pbm"
done
pnmtopng "$t/acc.pbm" >a4text.png
pgmramp -ellipse 300 200 | pnmtojpeg -quality 85 >photo.jpg
