#!/usr/bin/env bash
# bench/soap.sh: the FaxCore SOAP API (core/soap, mounted by `faxagent
# serve`) under load, on each store backend.
#
# For each backend it starts `faxagent serve --role core` on 127.0.0.1
# (a fresh data directory; the core only, so no agent competes for the
# CPU and queued faxes stay queued: this measures the web service and the
# store, not fax calls), then bench/soapload runs C concurrent clients
# (default 32) posting raw SOAP 1.1 as a .NET client does, D seconds per
# operation:
#
#   1. SendCompleteMessage with a 10-page TIFF (core/soap/testdata/ten.tif)
#      to one recipient: decode, spool the document, store the message and
#      its job;
#   2. GetMessageStatus of the messages phase 1 made.
#
# and prints requests/s, p50, p99 and max latency per operation and backend.
#
#   bash bench/soap.sh              # 32 clients, 10 s per operation
#   bash bench/soap.sh 32 20        # C clients, D seconds
#
# Backends: SQLite always; PostgreSQL when it answers at $FAXAGENT_BENCH_PG
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable), in a
# schema of its own (serve's `schema:` setting) dropped afterwards with psql.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

clients=${1:-32}
secs=${2:-10}
[[ $clients =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [clients [seconds]]" >&2; exit 2; }
pg=${FAXAGENT_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
password=bench-admin-password-$$

work=$(mktemp -d)
pid=
schema=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [[ -n $schema ]]; then psql -q "$pg" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/faxagent" ./cmd/faxagent
go build -o "$work/soapload" ./bench/soapload

# run_backend LABEL [serve args...]: one serve, both phases, then stop it.
run_backend() {
  local label=$1; shift
  local dir=$work/$label
  mkdir -p "$dir"
  (cd "$dir" && exec env FAXAGENT_LISTEN=127.0.0.1:0 FAXAGENT_ADMIN_PASSWORD="$password" FAXAGENT_LOG_LEVEL=warn \
    "$work/faxagent" serve --role core "$@" >"$dir/serve.log" 2>&1) &
  pid=$!
  local url=
  for _ in $(seq 300); do
    if [[ -s $dir/faxagent-data/server-url ]]; then
      url=$(cat "$dir/faxagent-data/server-url")
      curl -fsS "$url/readyz" >/dev/null 2>&1 && break
      url=
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.log" >&2; echo "serve ($label) exited" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $url ]] || { cat "$dir/serve.log" >&2; echo "serve ($label) did not come up" >&2; exit 1; }
  "$work/soapload" -url "$url/webservices/wfapi.asmx" -user admin -password "$password" \
    -tiff "$root/core/soap/testdata/ten.tif" -clients "$clients" -duration "${secs}s" -label "$label"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  # Server-side errors behind any failed requests.
  grep -E 'level=(ERROR|WARN)' "$dir/serve.log" | sort | uniq -c | sort -rn | head -5 | cut -c1-400 || true
}

echo "== $(nproc) CPUs, $(go version | cut -d' ' -f3), $(date -u +%FT%TZ)"
run_backend sqlite

if command -v psql >/dev/null && psql -q "$pg" -c 'SELECT 1' >/dev/null 2>&1; then
  schema=faxagent_bench_soap_$$
  printf 'schema: %s\n' "$schema" >"$work/pg.yaml"
  run_backend postgres --db "$pg" --config "$work/pg.yaml"
else
  echo "postgres: not reachable at $pg (or psql missing): skipped"
fi
