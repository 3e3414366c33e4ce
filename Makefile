# agentvisor: the two commands a new user needs are `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
AGENTBENCH_FLAGS ?=

.PHONY: build test vet bench run local fuzz soak ci image

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

## local: the seed agent behind agentcore-local, the AgentCore Runtime
## emulator, on 127.0.0.1:8090: one agent process per session, ended as the
## platform ends it (docs/agentcore-local.md). LOCAL_FLAGS passes flags to
## the emulator, like LOCAL_FLAGS="-idle-timeout 60s".
LOCAL_FLAGS ?=
local:
	$(GO) build -o bin/agent ./cmd/agent
	$(GO) build -o bin/agentcore-local ./cmd/agentcore-local
	exec bin/agentcore-local $(LOCAL_FLAGS) -- bin/agent

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

## image: the seed agent's OCI image for IMAGE_PLATFORMS, one index written as
## the OCI layout IMAGE_OUT, by build/image (go-containerregistry, its own
## module; no Docker daemon). PUSH=registry/repo:tag also pushes it, with the
## credentials of docker login or a credential helper. VERSION and COMMIT are
## stamped into the binary (agent -version); SOURCE_DATE_EPOCH, the last
## commit's time, dates the image and the binary's layer, so a commit builds
## the same digests.
## See docs/deploy.md.
IMAGE_OUT       ?= build/oci
IMAGE_PLATFORMS ?= linux/arm64,linux/amd64
PUSH            ?=
VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT          ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	$(GO) -C build/image run . -go $(GO) -src $(CURDIR) -out $(abspath $(IMAGE_OUT)) -platforms $(IMAGE_PLATFORMS) \
	  -version $(VERSION) -commit $(COMMIT) -epoch $(SOURCE_DATE_EPOCH)$(if $(PUSH), -push $(PUSH))

ci: vet test fuzz
