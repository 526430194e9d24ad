# The test command from README.md; .ci/run calls it. It installs the Debian
# packages the tests use when they are missing, lints, then runs every test
# and summarizes the run (failing output in full, the slowest tests and
# packages, and a closing "tests: N passed, N failed, N skipped" line).
SHELL := /bin/bash
DEBS := libtiff-tools netpbm poppler-utils ghostscript libtiff-dev libspandsp-dev gcc pkg-config sip-tester kamailio chromium swaks
# staticcheck, pinned; go run fetches and caches it.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test deps vet lint bench build

test: deps lint
	set -o pipefail; go test -json -count=1 ./... | go run ./internal/cmd/testsummary

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

vet:
	go vet ./...

# go vet and staticcheck (all default checks); both must be clean.
lint: vet
	go run $(STATICCHECK) ./...

build:
	go build -o bin/faxagent ./cmd/faxagent

# Runs every benchmark in bench/ (CPU heavy: run it on an idle machine) and
# writes one report, bench/REPORT.md and bench/report.json, from the BENCH
# lines they print. A script that fails is listed and makes bench fail.
BENCHES := codecs t38 modem memory soap t30 dispatch
bench: deps
	@logs=$$(mktemp -d); status=0; \
	for b in $(BENCHES); do \
		echo "== bench/$$b.sh"; \
		bash bench/$$b.sh > $$logs/$$b.log 2>&1 || { status=1; echo "bench/$$b.sh failed:"; }; \
		grep -v '^BENCH ' $$logs/$$b.log | tail -n 30; \
	done; \
	go run ./bench/report -md bench/REPORT.md -json bench/report.json $$logs/*.log || status=1; \
	rm -rf $$logs; exit $$status

# Regenerates the committed protobuf code of the Brooktrout plugin bridge
# (needs Debian's protobuf-compiler; the Go plugins are installed with go install).
.PHONY: generate
generate:
	@command -v protoc >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get install -y -qq protobuf-compiler >/dev/null; }
	GOFLAGS= go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOFLAGS= go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
	PATH="$$(go env GOPATH)/bin:$$PATH" protoc -I drivers/brooktrout/internal/pb \
		--go_out=paths=source_relative:drivers/brooktrout/internal/pb \
		--go-grpc_out=paths=source_relative:drivers/brooktrout/internal/pb \
		drivers/brooktrout/internal/pb/brooktrout.proto
