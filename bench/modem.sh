#!/bin/sh
# CPU per page of an audio (modem) fax call, ours against SpanDSP's fax
# modems, both sides back to back in virtual time, interleaved reps.
# Needs gcc and libspandsp-dev. FAXAGENT_BENCH_MODEM=V29|V27ter picks a
# slower modulation (default V.17 14400).
set -e
cd "$(dirname "$0")/.."
FAXAGENT_BENCH=1 go test -count=1 -run 'TestAudioCPUPerPageVsSpanDSP' -v ./testbench/interop/spandsp | grep -E 'rep|ours|SpanDSP|ratio|page|SKIP|FAIL|ok'
