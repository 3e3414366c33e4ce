# agentvisor: the two commands a new user needs are `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
AGENTBENCH_FLAGS ?=

.PHONY: build test vet bench run fuzz soak ci

build:
	$(GO) build ./...

## test: every test, with the race detector. Without -v go test does not
## show a skip, so say here when the browser test (httpapi) skipped itself:
## it looks for chromium where this does, $$CHROMIUM or /usr/bin/chromium.
test:
	$(GO) test -race -count=1 ./...
	@chromium="$${CHROMIUM:-/usr/bin/chromium}"; command -v "$$chromium" >/dev/null 2>&1 || \
	  echo "browser test skipped: chromium not found at $$chromium (CI installs it; apt-get install chromium)"

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

## bench: the Go benchmarks, with allocations, then the HTTP load and
## in-process figures of internal/cmd/agentbench against issue 11's targets (about
## 4 min; AGENTBENCH_FLAGS=-quick for a short run). Installs wrk with
## apt-get when it is missing; see docs/benchmarks.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...
	@command -v wrk >/dev/null 2>&1 || { \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing wrk"; $$sudo apt-get update -qq && $$sudo apt-get install -y -qq wrk; }
	$(GO) run ./internal/cmd/agentbench $(AGENTBENCH_FLAGS)

## run: the seed agent on 0.0.0.0:$PORT (8080), or on ADDR (host:port) if set.
## No -addr otherwise: a given -addr wins over PORT, which the platform sets.
## Built into bin/ and exec'd, not `go run`, which exits 1 after a Ctrl-C
## even when the agent stopped cleanly.
ADDR ?=
run:
	$(GO) build -o bin/agent ./cmd/agent
	exec bin/agent$(if $(ADDR), -addr $(ADDR))

## screenshot: docs/debug-page.png, the debug page in headless chromium
## with a few tasks, finished ones, a long request and a status history
## (about 15 s: the history takes real seconds). Needs chromium.
.PHONY: screenshot
screenshot:
	DEBUG_PAGE_SCREENSHOT=$(CURDIR)/docs/debug-page.png $(GO) test -count=1 -run '^TestDebugPageInBrowser$$/^screenshot$$' ./httpapi

## soak: SOAKTIME of load on the kitchensink agent on 127.0.0.1 (not in CI).
SOAKTIME ?= 60s
soak:
	$(GO) run ./internal/cmd/agentsoak -duration $(SOAKTIME)

## fuzz: a short run of every fuzz target (FUZZTIME each).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

ci: vet test fuzz
