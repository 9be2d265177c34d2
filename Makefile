# The two commands of the README: `make run` (the embedded platform) and `make test` (everything).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := constraints.txt requirements-dev.txt libs/common/pyproject.toml $(wildcard services/*/pyproject.toml) \
	libs/sm3/pyproject.toml libs/sm3/Cargo.toml libs/sm3/src/lib.rs
# libs/sm3 is built with Rust: cargo where rustup puts it, even when no profile has set PATH.
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run test lint typecheck unit install test-servers console bench-ingest

# The web console (console/): npm ci when its lock changed, vite build when any source did.
CONSOLE_DEPS := console/node_modules/.installed-stamp
CONSOLE_BUILD := console/dist/index.html
CONSOLE_SOURCES := $(shell find console/src console/public -type f) console/index.html console/vite.config.js \
	console/package.json

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

$(CONSOLE_DEPS): console/package-lock.json console/.npmrc
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_DEPS)

$(CONSOLE_BUILD): $(CONSOLE_DEPS) $(CONSOLE_SOURCES)
	cd console && npm run --silent build -- --logLevel warn

console: $(CONSOLE_BUILD)

run: $(STAMP) console
	$(BIN)/quancheng up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	for conftest in services/*/tests/conftest.py; do $(BIN)/mypy "$$conftest" || exit 1; done

test-servers: $(STAMP)
	scripts/install-test-servers

unit: $(STAMP) test-servers console
	$(BIN)/pytest

test: lint typecheck unit

# Not part of `make test` (which runs it once on 16 MiB to prove it works): 1 GiB against tusd
# and tuspyserver, figures printed.
bench-ingest: $(STAMP) test-servers
	$(BIN)/python tests/bench_ingest.py
