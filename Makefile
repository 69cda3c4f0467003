# One entry point for people and CI.
#   make demo    build rlocust and run a real load test against the bundled loopback target
#   make test    Rust tests, Python shim tests, the side-by-side suite against real Locust 2.47, packaging,
#                the web UI (committed build matches, browser test in headless Chromium)
#   make lint    cargo fmt --check, clippy (warnings are errors) and ruff
#   make clean   remove everything the targets above made (build output, venvs, demo results, caches)
#   make webui   rebuild the browser UI (webui/ → webui/dist, committed; needs Node 20.19+ and npm)
#   make webui-check   fail if the committed webui/dist differs from a fresh build
#   make test-webui    the browser tests: the built UI against real Locust 2.47 and as rlocust serves it, in
#                      headless Chromium
#   make test-obs      Prometheus scraping /metrics (Debian's prometheus), --thresholds, --check-*, --summary-json
#   make test-otel     --otel against an OTLP receiver on loopback (gRPC and HTTP/protobuf), side by side with real
#                      Locust 2.47 and its otel extra (.venv-oracle-otel, from requirements-oracle-otel.txt)
#   make test-contrib  Locust's contrib users (locust.contrib.*) side by side against real servers on loopback
#                      (PostgreSQL, Mosquitto, dnsmasq: Debian packages; python-socketio, qdrant-client's local
#                      mode, milvus-lite)
#
# Nothing is installed into the system Python: the Python packages go into project venvs (git-ignored).
# - .venv: what a locustfile run needs (gevent) and the test tools (pytest, requests, cryptography, ruff). The
#   binary is built against this venv's interpreter (PYO3_PYTHON) and finds its packages without activating it.
# - .venv-oracle, .venv-oracle-plugins: real Locust 2.47.0 (and locust-plugins), the oracle of the tests.
# - .venv-oracle-otel: real Locust 2.47.0 with the OpenTelemetry packages of its otel extra, pinned
#   (requirements-oracle-otel.txt), the oracle of tests/otel.
# - .contrib-site: the third-party clients of the contrib users (tests/contrib/requirements.txt), installed with
#   `pip install --target` and put on PYTHONPATH for both tools (.venv and .venv-oracle are the same CPython).
PYTHON ?= python3
VENV ?= .venv
ORACLE ?= .venv-oracle
# The oracle of scenarios that use locust-plugins' options (-i/--iterations): Locust with the plugin installed.
ORACLE_PLUGINS ?= .venv-oracle-plugins
CONTRIB_SITE ?= .contrib-site
ORACLE_OTEL ?= .venv-oracle-otel
VPY := $(CURDIR)/$(VENV)/bin/python
# The interpreter the binary embeds (pyo3 reads it at build time).
export PYO3_PYTHON := $(VPY)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: deps build demo test test-rust test-python test-diff test-web test-dist test-packaging test-contrib test-obs test-otel lint clean webui webui-check test-webui

# The venv, and the packages of both requirements files in it (again when either file changes).
$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -r requirements.txt -r requirements-test.txt
	touch $@

deps: $(VENV)/.installed

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
	$(MAKE) test-rust test-python test-diff test-web test-dist test-otel test-packaging test-contrib test-obs webui-check test-webui

test-rust: deps $(ORACLE)/bin/locust
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust cargo test --release

test-python: deps
	$(VPY) -m pytest -q tests/python

# Both tools of a scenario run at the same time (DIFF_PARALLEL=1: about half the wall time), except scenarios marked
# `diff-sequential` (their outcome depends on response times of the one fault server).
test-diff: deps
	DIFF_PARALLEL=$${DIFF_PARALLEL:-1} LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust LOCUST_PLUGINS_BIN=$(CURDIR)/$(ORACLE_PLUGINS)/bin/locust \
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q tests/diff

# The web UI's HTTP API side by side with real Locust, and rlocust's web options (tests/web).
test-web: deps
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q tests/web

# Distributed mode with real Locust 2.47 masters and workers on the other side (tests/dist).
test-dist: deps
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q tests/dist

# Locust with its otel extra, again when the pinned set changes.
$(ORACLE_OTEL)/.installed: requirements-oracle-otel.txt
	test -x $(ORACLE_OTEL)/bin/python || $(PYTHON) -m venv $(ORACLE_OTEL)
	$(ORACLE_OTEL)/bin/pip install -q -r requirements-oracle-otel.txt
	touch $@

# --otel against the OTLP receiver of tests/otel (grpcio, opentelemetry-proto: requirements-test.txt) on 127.0.0.1.
test-otel: build $(ORACLE_OTEL)/.installed
	LOCUST_OTEL_BIN=$(CURDIR)/$(ORACLE_OTEL)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q tests/otel

# pip install of this checkout into a fresh venv next to locust==2.47.0 and faker, and the binary with `env -i`.
test-packaging: deps
	rm -rf .venv-packaging
	PACKAGING_VENV=$(CURDIR)/.venv-packaging $(VPY) -m pytest -q tests/packaging

# The contrib users' clients, again when the requirements change (a fresh directory: --target does not upgrade).
$(CONTRIB_SITE)/.installed: tests/contrib/requirements.txt | deps
	rm -rf $(CONTRIB_SITE)
	$(VPY) -m pip install -q --target $(CONTRIB_SITE) -r tests/contrib/requirements.txt
	touch $@

# Every locust.contrib module under real Locust 2.47 and rlocust at once, against servers the suite starts on
# 127.0.0.1 (tests/contrib/conftest.py); a server that cannot start fails its test.
test-contrib: build $(ORACLE)/bin/locust $(CONTRIB_SITE)/.installed
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	CONTRIB_SITE=$(CURDIR)/$(CONTRIB_SITE) $(VPY) -m pytest -q tests/contrib

# Prometheus scraping rlocust (Debian's prometheus, started by the tests on 127.0.0.1), --thresholds and the
# --check-* options side by side with Locust 2.47 + locust-plugins, --summary-json (tests/obs).
test-obs: build $(ORACLE_PLUGINS)/bin/locust
	LOCUST_PLUGINS_BIN=$(CURDIR)/$(ORACLE_PLUGINS)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q tests/obs

lint: deps
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests locustfiles bench

clean:
	rm -rf target demo-results $(VENV) $(ORACLE) $(ORACLE_PLUGINS) $(CONTRIB_SITE) $(ORACLE_OTEL) .venv-packaging .pytest_cache .ruff_cache webui/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The web UI's sources are in webui/ (TypeScript, Preact, uPlot); its build output webui/dist is committed, so
# cargo and pip never need Node.
webui:
	cd webui && npm ci --no-audit --no-fund --loglevel=error && npm run build

webui-check:
	scripts/check-webui-build.sh

# Headless Chromium (Debian's `chromium`) drives the built UI through webui/scripts/serve.mjs against real Locust,
# then as rlocust's own server serves it (tests/rlocust.mjs: dashboard, report, --html, --web-base-path), then
# measures it with 1,000 request names (tests/perf.mjs, a fake API).
test-webui: $(ORACLE)/bin/locust build
	cd webui && npm ci --no-audit --no-fund --loglevel=error && \
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	npm test && node tests/browser.mjs && node tests/rlocust.mjs && node tests/perf.mjs
