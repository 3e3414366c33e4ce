# agentvisor: the two commands a new user needs are `make run` and `make test`.
GO        ?= go
ADDR      ?= 0.0.0.0:8080
FUZZTIME  ?= 10s
BENCHTIME ?= 1s

.PHONY: build test vet bench run fuzz ci

build:
	$(GO) build ./...

## test: every test, with the race detector.
test:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

## bench: the Go benchmarks, with allocations.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

## run: the seed agent on $(ADDR).
run:
	$(GO) run ./cmd/agent -addr $(ADDR)

## fuzz: a short run of every fuzz target (FUZZTIME each).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

ci: vet test fuzz
