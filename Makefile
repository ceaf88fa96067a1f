# companyapi — the everyday commands. `make test` needs Go and, for the
# PostgreSQL half of the store tests and the e2e suite's two-node test, finds
# or starts a PostgreSQL through internal/storetest/with-postgres.sh; for the chat page's browser tests,
# finds or installs Chromium through internal/browsertest/with-chromium.sh.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
WITH_PG     := bash internal/storetest/with-postgres.sh
WITH_BROWSER := bash internal/browsertest/with-chromium.sh
FUZZTIME    ?= 10s
# E2E_CMD runs the end-to-end suite in test/e2e (phoenix.js clients against
# a real server); test-e2e runs it only once test/e2e/package.json exists,
# under with-postgres.sh, whose TEST_DATABASE_URL the several-node test
# (cluster.test.mjs) creates its database on.
E2E_CMD     ?= npm ci && npm test
export E2E_CMD

.PHONY: run build test test-e2e generate assets screenshots migration lint drift

run:
	$(GO) run ./cmd/companyapi serve

build:
	$(GO) build -o bin/companyapi ./cmd/companyapi

test:
	$(WITH_PG) $(WITH_BROWSER) $(GO) test -race -count=1 ./...
	@if grep -rqs --include='*_test.go' 'func FuzzDecodeFrame' internal/realtime; then \
		echo "$(GO) test -run='^$$' -fuzz=FuzzDecodeFrame -fuzztime=$(FUZZTIME) ./internal/realtime"; \
		$(GO) test -run='^$$' -fuzz=FuzzDecodeFrame -fuzztime=$(FUZZTIME) ./internal/realtime; \
	else \
		echo "no FuzzDecodeFrame in internal/realtime yet: fuzzing skipped"; \
	fi
	@$(MAKE) --no-print-directory test-e2e

test-e2e: build
	@if [ -f test/e2e/package.json ]; then \
		echo "cd test/e2e && $(E2E_CMD)  (under $(WITH_PG))"; \
		$(WITH_PG) sh -c 'cd test/e2e && eval "$$E2E_CMD"'; \
	else \
		echo "no test/e2e/package.json yet: end-to-end tests skipped"; \
	fi

generate:
	$(GO) generate ./ent

# assets rebuilds web/static/app.js, the chat page's bundle of web/app/src
# and the phoenix client, with esbuild, both pinned by web/app's
# package-lock. It needs Node and npm; the binary and make run do not (the
# bundle is committed and embedded). web's TestBundleUpToDate fails when
# the committed bundle is not what this builds.
assets:
	cd web/app && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

# screenshots runs the chat page's browser test and keeps the desktop and
# phone screenshots that README.md shows (docs/).
screenshots:
	$(WITH_BROWSER) env SCREENSHOT_DIR=$(CURDIR)/docs $(GO) test -count=1 -run '^TestBrowserChat$$' ./cmd/companyapi

migration:
	@if [ -z "$(name)" ]; then \
		echo "make migration: name is required, e.g. make migration name=add_avatar" >&2; \
		exit 1; \
	fi
	$(GO) run ./cmd/migrategen -name $(name)

lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# drift regenerates the Ent client and fails when that changed anything
# under ent/ or migrations/ against the commit (a schema edit without
# make generate / make migration). It needs a git checkout.
drift:
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { \
		echo "drift: not a git checkout, nothing to compare with" >&2; \
		exit 1; \
	}
	$(GO) generate ./ent
	@changed=$$(git status --porcelain ent migrations); \
	if [ -n "$$changed" ]; then \
		echo "drift: ent/ or migrations/ differ from the commit (run make generate / make migration, then commit):" >&2; \
		echo "$$changed" >&2; \
		exit 1; \
	fi

# bench runs cmd/chatbench at full size (19 000 idle sockets, the pairs ramp
# to the max sustained rate, a 100 000-message history), each figure beside
# its floor; a few minutes, ending with one "RESULT {json}" line on stdout.
# bench-smoke runs every scenario and floor tiny, to check the tool end to
# end (well under a minute, no thresholds). Both need PostgreSQL (found as
# for make test) and take the server's URL from TEST_DATABASE_URL. With
# ADMIN_ADDR set (ADMIN_ADDR=127.0.0.1:9090 make bench) the server under
# load serves /metrics there, for a Prometheus and Grafana to watch.
CHATBENCH_SMOKE ?= -sockets 200 -pairs 100 -rate 200 -duration 3s \
	-history-messages 2000 -history-duration 2s -insert-duration 1s -settle 1s -timeout 2m

.PHONY: bench bench-smoke bench-cluster bench-metrics

bench:
	$(WITH_PG) $(GO) run ./cmd/chatbench -scenario all -sockets 19000 -max -history-messages 100000

bench-smoke:
	$(WITH_PG) $(GO) run ./cmd/chatbench -scenario all $(CHATBENCH_SMOKE)
	$(WITH_PG) $(GO) run ./cmd/chatbench -scenario pairs -nodes 2 -floors=false $(CHATBENCH_SMOKE)

# bench-cluster runs two server processes on one database: 38 000 idle
# sockets spread over them, and the pairs ramp with every message crossing
# nodes, through PostgreSQL LISTEN/NOTIFY and then NATS, beside the
# one-node ramp of the same run.
bench-cluster:
	$(WITH_PG) $(GO) run ./cmd/chatbench -scenario all -nodes 2 -sockets 38000 -max -history-messages 100000 -timeout 25m

# bench-metrics is what the metrics cost: the pairs ramp's max sustained
# rate with ADMIN_ADDR set and /metrics scraped every second, beside the
# rate without, two rounds each (off, on, on, off); ~6 minutes.
bench-metrics:
	$(WITH_PG) $(GO) run ./cmd/chatbench -scenario metrics -cost-rounds 2 -start-rate 2000 -history-messages 100 -timeout 15m
