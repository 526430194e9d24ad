# The test command from README.md; .ci/run calls it. It installs the Debian
# packages the tests use when they are missing, then runs every test.
SHELL := /bin/bash
DEBS := libtiff-tools netpbm poppler-utils libtiff-dev libspandsp-dev gcc pkg-config sip-tester

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
