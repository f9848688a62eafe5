# flowsync — build, test, demo, benchmarks.
GO      ?= go
BIN     ?= bin/flowsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/flowsync/flowsync/internal/cli.Version=$(VERSION)

.PHONY: build test demo bench lint fmt vet clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# The test command the README and .ci/run use. Corpus tests run when
# FLOWSYNC_CORPUS points at the corpus flows directory.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

# The main job end to end on the embedded emulator: seed a demo tenant, list
# its environments and flows through the real client, export them to a Git
# repository, export again (no new commit), show the history.
demo: build
	rm -rf .tmp/demo
	$(BIN) demo --dir .tmp/demo

# Benchmarks; figures go to the README's benchmark table. The 10k-flow runs
# derive their flows from the corpus when FLOWSYNC_CORPUS is set
# (FLOWSYNC_BENCH_FLOWS overrides the count).
bench:
	$(GO) test -run '^$$' -bench 'Export10k|GitCLIAddCommit10k' -benchtime 1x -benchmem -timeout 30m ./export/
	$(GO) test -run '^$$' -bench 'Commit10k|Push10k' -benchtime 1x -benchmem -timeout 30m ./repo/
	$(GO) test -run '^$$' -bench 'GetFlow' -benchtime 3s -benchmem ./internal/emulator/
	$(GO) test -run '^$$' -bench 'Pacer' -benchtime 1x ./internal/pacer/ ./internal/conformance/
	$(GO) test -run '^$$' -bench 'Canonicalize|Normalize$$|Redact' -benchmem ./internal/canon/ ./internal/model/ ./internal/secrets/
	$(GO) test -run '^$$' -bench 'NoopImport1000' -benchtime 3x -timeout 30m ./sync/

# staticcheck is a tool dependency in go.mod, so `go tool` fetches the pinned
# version from the module proxy on a fresh machine; nothing to install first.
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .tmp
