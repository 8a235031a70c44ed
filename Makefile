# flusso — build, test and run. Every target installs what it needs through `setup`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DENO_VERSION := 2.9.6
BUN_VERSION  := 1.4.5
TOOLS := .tools
DENO  := $(TOOLS)/node_modules/deno/deno
BUN   := $(TOOLS)/node_modules/bun/bin/bun.exe
STAMP := $(TOOLS)/.stamp-$(DENO_VERSION)-$(BUN_VERSION)
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(PATH)
export DENO_NO_UPDATE_CHECK := 1

.PHONY: help setup test test-unit test-integration test-e2e build demo bench soak fmt fmt-check lint check clean pg-start pg-stop emulator conformance

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

setup: $(STAMP) node_modules/.deno-install-stamp ## install deno, bun and the npm dependencies (idempotent)

$(STAMP):
	@mkdir -p $(TOOLS)
	@printf '{ "private": true, "name": "flusso-tools", "dependencies": { "deno": "%s", "bun": "%s" } }\n' $(DENO_VERSION) $(BUN_VERSION) > $(TOOLS)/package.json
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error
	@test -x $(BUN) || (cd $(TOOLS)/node_modules/bun && node install.js)
	@touch $@

node_modules/.deno-install-stamp: $(STAMP) deno.json deno.lock
	$(DENO) install --frozen
	@touch $@

test: setup ## format check, lint, type check, every test; ends with "N passed, N failed"
	@bash tests/support/run_tests.sh

build: dist/flusso ## the single binary: dist/flusso

dist/flusso: setup $(shell find src -name '*.ts' 2>/dev/null) deno.json
	@mkdir -p dist
	$(BUN) build --compile --minify --bytecode --splitting --format=esm src/main.ts --outfile dist/flusso

demo: setup build ## a local Postgres with the example shop, the emulator, and flusso sync
	@bash examples/demo.sh

bench: setup build ## the benchmark suite; prints one table
	$(DENO) run -A bench/main.ts $(ARGS)

soak: setup build ## the full reliability suite; prints its results table (also written to tests/reliability/README.md)
	@rm -f cov/reliability/results-soak.jsonl
	@FLUSSO_SOAK=1 $(DENO) test -A --no-check tests/reliability/; status=$$?; \
	  FLUSSO_SOAK=1 $(DENO) run -A tests/reliability/support/trials.ts --write-readme || status=1; \
	  $(DENO) fmt --quiet tests/reliability/README.md; exit $$status

fmt: setup ## format the code
	$(DENO) fmt

fmt-check: setup
	$(DENO) fmt --check

lint: setup ## lint the code
	$(DENO) lint

check: setup ## type check
	$(DENO) check src/main.ts tests/ bench/

pg-start: setup ## start a throwaway Postgres (wal_level=logical); prints its URL
	@$(DENO) run -A tests/support/pg_script.ts start

pg-stop: setup ## stop and remove the throwaway Postgres
	@$(DENO) run -A tests/support/pg_script.ts stop

emulator: setup ## the OpenSearch emulator on 127.0.0.1:9200
	$(DENO) run -A tests/support/opensearch/main.ts --port 9200

clean: ## remove build output, tools and dependencies
	rm -rf dist cov node_modules $(TOOLS) .pg
