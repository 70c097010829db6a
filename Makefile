# evaljob — the targets people expect. `make run` and `make test` need only Go.
GO      ?= go
BIN     := bin/evaljob
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Fuzz budgets are execution counts, not durations: a duration -fuzztime
# can fail with "context deadline exceeded" and no crasher on go1.26
# (golang/go#75804). The counts take ~10 s per target on a 2-core machine.
FUZZ_READERS ?= 4000x
FUZZ_METRICS ?= 100000x
FUZZ_PIPELINE ?= 20000x
# The AVX-512 kernels of pipeline/metrics/vector_amd64.s run where the CPU
# has AVX-512; `go build -tags purego` leaves all to the scalar loops (the
# same bits; CI tests both).

.PHONY: build run test bench bench-go fuzz lint testdata baseline interop clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/evaljob

## run: evaluate the bundled example (configs/example.yaml on testdata/example)
run: build
	./$(BIN) run --config configs/example.yaml

## test: unit, end-to-end and fuzz-seed tests, plus every benchmark once
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

## bench: evaljob vs DuckDB on large generated inputs (scripts/bench/run.sh;
## WORKLOADS, SCALE, REPEAT, BENCH_DIR: see the script)
bench:
	bash scripts/bench/run.sh
	bash scripts/bench/join/run.sh

## bench-go: Go benchmarks of the kernels, readers and pipeline
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: a short run of every fuzz target
fuzz:
	@for spec in ./readers:$(FUZZ_READERS) ./pipeline/metrics:$(FUZZ_METRICS) ./pipeline:$(FUZZ_PIPELINE); do \
	  pkg=$${spec%%:*}; budget=$${spec##*:}; \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t ($$budget)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$budget -fuzzminimizetime 100x $$pkg || exit 1; \
	  done; \
	done

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo 'gofmt needed'; exit 1)
	$(GO) vet ./...

## testdata: regenerate the small fixtures in testdata/
testdata:
	$(GO) run ./scripts/gentestdata -out testdata

## baseline: regenerate the baseline summary configs/ci-gate.yaml compares with
baseline: build
	./$(BIN) run --config configs/example.yaml --set output.dir=out/baseline --log-level warn
	cp out/baseline/summary.parquet testdata/baselines/example-summary.parquet

## interop: open the example's outputs with DuckDB (from npm) and compare
interop: run
	bash scripts/interop.sh out/example 'testdata/example/*.parquet'

clean:
	rm -rf bin out
