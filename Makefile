# One entry point for people and CI.
#   make demo   build rlocust and run a real load test against the bundled loopback target
#   make test   Rust tests, Python shim tests, and the side-by-side suite against real Locust 2.47
PYTHON ?= python3
ORACLE ?= .venv-oracle
# The oracle of scenarios that use locust-plugins' options (-i/--iterations): Locust with the plugin installed.
ORACLE_PLUGINS ?= .venv-oracle-plugins
export PIP_ROOT_USER_ACTION := ignore
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: deps build demo test test-rust test-python test-diff test-packaging lint

deps:
	$(PYTHON) -m pip install -q -r requirements.txt

build: deps
	cargo build --release

demo: build
	scripts/demo.sh

$(ORACLE)/bin/locust:
	$(PYTHON) -m venv $(ORACLE)
	$(ORACLE)/bin/pip install -q locust==2.47.0

$(ORACLE_PLUGINS)/bin/locust:
	$(PYTHON) -m venv $(ORACLE_PLUGINS)
	$(ORACLE_PLUGINS)/bin/pip install -q locust==2.47.0 locust-plugins==5.0.3

test: build $(ORACLE)/bin/locust $(ORACLE_PLUGINS)/bin/locust
	$(PYTHON) -m pip install -q -r requirements-test.txt
	$(MAKE) test-rust test-python test-diff test-packaging

test-rust:
	cargo test --release

test-python:
	$(PYTHON) -m pytest -q tests/python

test-diff:
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust LOCUST_PLUGINS_BIN=$(CURDIR)/$(ORACLE_PLUGINS)/bin/locust \
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(PYTHON) -m pytest -q tests/diff

# pip install of this checkout into a fresh venv next to locust==2.47.0 and faker, and the binary with `env -i`.
test-packaging:
	rm -rf .venv-packaging
	PACKAGING_VENV=$(CURDIR)/.venv-packaging $(PYTHON) -m pytest -q tests/packaging

lint:
	cargo fmt --check
	cargo clippy --release -- -D warnings
