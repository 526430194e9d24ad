# The test command from README.md; .ci/run calls it. It installs the Debian
# packages the tests use when they are missing, then runs every test.
SHELL := /bin/bash
DEBS := libtiff-tools netpbm poppler-utils libtiff-dev libspandsp-dev gcc pkg-config sip-tester kamailio

.PHONY: test deps vet bench build

test: deps vet
	go test -count=1 ./...

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

vet:
	go vet ./...

build:
	go build -o bin/faxagent ./cmd/faxagent

bench: deps
	bash bench/codecs.sh

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
