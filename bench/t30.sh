#!/usr/bin/env bash
# bench/t30.sh: how close the T.30 engine alone comes to the protocol
# minimum: a 5-page fine MR call between two t30 sessions over t30's ideal
# line model (no T.38, no modems, virtual time), its duration divided by the
# minimum the frames, page bits, trainings and gaps of that call need
# (TestVirtualDurationNearProtocolMinimum in t30, which fails above 1.03).
# This is a T.30 figure only: T.38 and audio calls add their own timing.
# Prints the test's lines and BENCH lines for bench/report.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(go test -count=1 -run '^TestVirtualDurationNearProtocolMinimum$' -v ./t30)
grep -E 'protocol minimum' <<<"$log" | sed -E 's/^ +[a-z_]+\.go:[0-9]+: //'
for ecm in false true; do
  ratio=$(grep -m1 "ECM=$ecm: virtual" <<<"$log" | sed -E 's/.*ratio ([0-9.]+).*/\1/')
  name="virtual call duration / protocol minimum, 5 fine MR pages, ECM $ecm (T.30 only)"
  printf 'BENCH {"group":"t30","name":"%s","unit":"ratio","ours":[%s],"ours_includes":"the t30 engine alone: two sessions over t30.LineModel{} (no T.38, no modem) in virtual time; the minimum adds up every frame, page and ECM block at the line rate with the trainings and gaps T.30 requires; deterministic, so one round."}\n' "$name" "$ratio"
done
