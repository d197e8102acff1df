# ssefs: encrypted, versioned FUSE filesystem.
GO      ?= go
BIN     := bin/ssefs
DEMO    ?= $(CURDIR)/demo
PKGS    := ./...

.PHONY: all deps build run stop-demo test race lint bench bench-rss bench-go bench-deps soak clean

all: build

deps:
	./scripts/deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/ssefs

# Installs what is needed, creates a demo store and mounts it on demo/mnt.
run: deps build
	@mkdir -p $(DEMO)/mnt
	@test -f $(DEMO)/passphrase || (head -c 24 /dev/urandom | base64 > $(DEMO)/passphrase && chmod 600 $(DEMO)/passphrase)
	@test -f $(DEMO)/store/store.json || $(BIN) init --passphrase-file $(DEMO)/passphrase $(DEMO)/store
	@mountpoint -q $(DEMO)/mnt || $(BIN) mount --passphrase-file $(DEMO)/passphrase $(DEMO)/store $(DEMO)/mnt
	@echo "demo store mounted on $(DEMO)/mnt (passphrase in $(DEMO)/passphrase)"
	@echo "try: echo hello > $(DEMO)/mnt/hello && $(BIN) status $(DEMO)/mnt && make stop-demo"

stop-demo:
	-$(BIN) umount $(DEMO)/mnt

# The test command of the README and of .ci/run.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)

race: deps
	$(GO) test -count=1 -race -timeout 20m ./dare/... ./chunkstore/... ./keyring/... ./object/... ./fs/...

lint:
	./scripts/deps.sh lint
	$(GO) vet $(PKGS)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

bench-deps:
	./scripts/deps.sh bench

# The side-by-side comparison with the peers (make bench-deps first; run as root).
BENCH_FLAGS ?=
bench: build
	$(BIN) bench --out bench-results --dir bench-scratch $(BENCH_FLAGS)

# Daemon peak RSS while one 8 GiB file is written (--big-size to change): does memory
# stay flat as files grow? Needs about 9 GiB free in bench-scratch; each system's file
# is deleted once measured, and the scratch directory at the end.
bench-rss: build
	$(BIN) bench --systems ssefs,gocryptfs,loopback --workloads bigfile --runs 1 --out bench-results/rss --dir bench-scratch $(BENCH_FLAGS)

# Go micro-benchmarks of the hot paths.
bench-go:
	$(GO) test -run XXX -bench . -benchtime 2s ./dare/ ./chunkstore/ ./keyring/ ./object/

soak: deps
	SSEFS_SOAK=1 $(GO) test -count=1 -timeout 60m -run 'Soak|RandomOps|Crash' ./fs/ ./cmd/ssefs/

clean:
	rm -rf bin
