# One entry point for people and CI.
#   make demo    build rlocust and run a real load test against the bundled loopback target
#   make test    Rust tests, Python shim tests, the side-by-side suite against real Locust 2.47, packaging,
#                the web UI (committed build matches, browser test in headless Chromium)
#   make lint    cargo fmt --check, clippy and cargo doc (warnings are errors), ruff
#   make clean   remove everything the targets above made (build output, venvs, demo results, caches)
#   make sdist   dist/rlocust-<version>.tar.gz (maturin, pinned in requirements-build.txt)
#   make wheel   dist/rlocust-<version>-cp311-abi3-manylinux_2_34_x86_64.whl, built from that sdist as pip would
#                (so the sdist is proven to build); installs on CPython 3.11+ without a Rust toolchain
#   make wheel-aarch64   the same wheel for aarch64, cross-built (rustup target + gcc-aarch64-linux-gnu)
#   make webui   rebuild the browser UI (webui/ → webui/dist, committed; needs Node 20.19+ and npm)
#   make webui-check   fail if the committed webui/dist differs from a fresh build
#   make test-webui    the browser tests: the built UI against real Locust 2.47 and as rlocust serves it, in
#                      headless Chromium
#   make test-obs      Prometheus scraping /metrics (Debian's prometheus), --thresholds, --check-*, --summary-json,
#                      --baseline/--baseline-gate and rlocust-report compare (beside a real Locust's _stats.csv)
#   make test-open     the open workload model (--arrival-rate, ArrivalRateShape): rates, dropped iterations in every
#                      output, the refusals, --processes (tests/open, about 30 s)
#   make test-search   the capacity search (--search, --slo): rlocust-target's servers of known capacity, searches
#                      found within their band, the refusals, the gate, interruptions, --processes (tests/search)
#   make test-llm      production-shaped load: trace replay, tokenizers and synthetic prompts, tokens counted at
#                      the wire, token throughput, HTTP/2 and asyncio streams (tests/llm)
#   make test-llama-server  rlocust against a real inference server on loopback: llama.cpp's server (PyPI's
#                      llama-cpp-python, compiled into .venv-llama on first use: 28 minutes measured with one job at
#                      nice 19 on a busy 2-core machine) with a tiny model written at test time, TTFT checked against
#                      tcpdump (tests/llm_server, about 25 s; not in `make test`, which cannot take that compile)
#   make test-security  a loopback attacker against the master port, the web UI, the HTTP clients and the ends of a
#                       run (tests/security, docs/security.md)
#   make test-otel     --otel against an OTLP receiver on loopback (gRPC and HTTP/protobuf), side by side with real
#                      Locust 2.47 and its otel extra (.venv-oracle-otel, from requirements-oracle-otel.txt)
#   make test-packaging  the wheel in fresh venvs with no cargo on PATH, the standalone binary's portability, the
#                        Dockerfile (hadolint)
#   make test-lib    rlocust-python: Locust as a library, `python locustfile.py` debugging, pytest suites (tests/lib)
#   make locust-own-tests  Locust 2.47's own unit-test modules against rlocust through rlocust-python (not in
#                          `make test`: it takes about 15 minutes; results in docs/compatibility.md)
#   make test-locust-e2e   Locust's own end-to-end tests (test_main.py, test_log.py::TestLoggingOptions) with
#                          `locust` on PATH pointing at rlocust, against a list of expected failures
#   make test-deploy   the image (Dockerfile) built with podman on a Debian base and run under the Helm chart's, both
#                      Kubernetes operators' and Locust's docker-compose pod specs (tests/deploy)
#   make image   rlocust:<version> and rlocust:<version>-locust<Locust version> from the Dockerfile (podman or docker)
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
# - .venv-build: maturin (requirements-build.txt), for `make sdist` and `make wheel`.
# - .locust-tests-site: what Locust's own tests import beyond Locust's dependencies (tests/locust_own/requirements.txt),
#   installed with `pip install --target` and put on PYTHONPATH of the tests' interpreter only.
# - .venv-bzt: Taurus (requirements-bzt.txt), whose Locust executor tests/packaging runs on rlocust.
# - .deploy-cache: tests/deploy's base image recipe inputs, .deb files and wheels (the images live in podman's store).
# `make test` first installs the Debian packages it needs (scripts/ensure-test-tools.sh: as root with apt-get,
# otherwise one line saying what is missing).
PYTHON ?= python3
VENV ?= .venv
ORACLE ?= .venv-oracle
# The oracle of scenarios that use locust-plugins' options (-i/--iterations): Locust with the plugin installed.
ORACLE_PLUGINS ?= .venv-oracle-plugins
CONTRIB_SITE ?= .contrib-site
AIO_SITE ?= .aio-site
ORACLE_OTEL ?= .venv-oracle-otel
BUILD_VENV ?= .venv-build
LOCUST_TESTS_SITE ?= .locust-tests-site
# Locust's own tests are in its repository only (not in its sdist or wheel on PyPI). The scripts look for them at
# LOCUST_SRC (a checkout of Locust 2.47.0 or its git directory) when it is set, else at ../shared/upstream/locust
# beside this checkout (Locust's locust/test and examples, unchanged), else clone tag 2.47.0 from GitHub; with none of
# these, `make test-locust-e2e` and `make locust-own-tests` fail with one line saying how to provide them.
# RLOCUST_SKIP_LOCUST_TESTS=1 skips them on purpose, and `make test` says they were skipped.
LOCUST_SRC ?=
# Taurus (bzt, requirements-bzt.txt): test_as_locust.py runs its Locust executor on rlocust.
BZT_VENV ?= .venv-bzt
# The wheel's manylinux policy: the newest glibc symbol version the extension module needs on this build host
# (Debian 12, glibc 2.36) is GLIBC_2.34 (pthread_*, dlsym moved into libc), so manylinux_2_34 is the lowest
# policy maturin's check accepts. A lower floor needs an older sysroot (a manylinux container, or maturin --zig).
MANYLINUX ?= manylinux_2_34
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
LOCUST_VERSION := $(shell sed -n 's/^pub const LOCUST_VERSION: &str = "\(.*\)";$$/\1/p' src/version.rs)
SDIST := dist/rlocust-$(VERSION).tar.gz
VPY := $(CURDIR)/$(VENV)/bin/python
# The interpreter the binary embeds (pyo3 reads it at build time).
export PYO3_PYTHON := $(VPY)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: tools image test-deploy deps build demo sdist wheel wheel-aarch64 test test-lane-diff test-lane-rest test-rust test-python test-lib locust-own-tests test-locust-e2e test-diff test-web test-dist test-packaging test-contrib test-obs test-open test-aio test-security test-search test-llm test-llama-server test-otel lint clean webui webui-check test-webui

# The venv, and the packages of both requirements files in it (again when either file changes).
$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -r requirements.txt -r requirements-test.txt
	touch $@

deps: $(VENV)/.installed

# The Debian packages the tests need (chromium, nginx, tinyproxy, postgresql, mosquitto, dnsmasq, prometheus,
# binutils, podman, runc, mmdebstrap): installed with apt-get when missing and run as root, else one line.
tools:
	@scripts/ensure-test-tools.sh

build: deps
	cargo build --release

demo: build
	scripts/demo.sh

$(BUILD_VENV)/.installed: requirements-build.txt
	test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install -q -r requirements-build.txt
	touch $@

sdist: $(BUILD_VENV)/.installed
	rm -f dist/rlocust-*.tar.gz
	$(BUILD_VENV)/bin/maturin sdist --out dist

# pip's own path from the sdist (PEP 517, maturin as the backend), with the manylinux check turned on and the
# checkout's target/ as the build cache (pip unpacks the sdist into a temporary directory; with the cache only the
# rlocust crate itself is compiled again). PYO3_PYTHON is the binary's business: maturin picks the interpreter.
# Rebuilt when a file that goes into the wheel changes.
WHEEL_STAMP := dist/.wheel-$(VERSION)
WHEEL_INPUTS := Cargo.toml Cargo.lock pyproject.toml build.rs README.md \
	$(shell find src python webui/dist -type f -not -name '*.pyc' 2>/dev/null)
# (the stamp gets the time the build started, so a file edited while it runs makes the next `make wheel` build again)
$(WHEEL_STAMP): $(WHEEL_INPUTS) $(BUILD_VENV)/.installed
	mkdir -p dist && touch $@.start
	$(MAKE) sdist
	rm -f dist/rlocust-*_$(shell uname -m).whl
	env -u PYO3_PYTHON PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" CARGO_TARGET_DIR=$(CURDIR)/target \
	MATURIN_PEP517_ARGS="--compatibility $(MANYLINUX) --auditwheel check" \
	$(BUILD_VENV)/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation -w dist $(SDIST)
	mv $@.start $@

wheel: $(WHEEL_STAMP)

# The aarch64 wheel, cross-built from this checkout (not run by `make test`: nothing here can run it). Needs
# `rustup target add aarch64-unknown-linux-gnu` and Debian's gcc-aarch64-linux-gnu (docs/packaging.md).
wheel-aarch64: $(BUILD_VENV)/.installed
	rm -f dist/rlocust-*_aarch64.whl
	env -u PYO3_PYTHON CARGO_TARGET_DIR=$(CURDIR)/target \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
	$(BUILD_VENV)/bin/maturin build --release --target aarch64-unknown-linux-gnu \
	--compatibility $(MANYLINUX) --auditwheel check --out dist

$(BZT_VENV)/.installed: requirements-bzt.txt
	test -x $(BZT_VENV)/bin/python || $(PYTHON) -m venv $(BZT_VENV)
	$(BZT_VENV)/bin/pip install -q -r requirements-bzt.txt
	touch $@

$(ORACLE)/bin/locust:
	$(PYTHON) -m venv $(ORACLE)
	$(ORACLE)/bin/pip install -q locust==2.47.0

$(ORACLE_PLUGINS)/bin/locust:
	$(PYTHON) -m venv $(ORACLE_PLUGINS)
	$(ORACLE_PLUGINS)/bin/pip install -q locust==2.47.0 locust-plugins==5.0.3

# Two phases. First what compiles (the Rust tests, the wheel from the sdist), one after the other: each already
# keeps both cores busy. Then two lanes at once, each mostly waiting on short load tests: the differential suite
# (about 10 minutes) and the browser tests, beside every other suite in turn (about 11 minutes together in a
# clean-clone run). Every suite runs even when one before it failed; each prints its wall time, and `make test`
# fails if any failed.
# (the wheel first: its build and the binary's give pyo3 different settings, so whichever comes second recompiles
# pyo3 and rlocust; done here, the lanes' `build` has nothing left to do)
TEST_COMPILE := wheel build test-rust
TEST_LANE_DIFF := test-diff test-webui test-deploy
TEST_LANE := test-python test-lib test-locust-e2e test-web test-dist test-otel test-packaging test-contrib test-obs test-open test-aio test-security test-search test-llm webui-check
# one target after another, each timed, all of them run (the exit code says whether any failed). Each one's output
# is kept in .test-logs/TARGET.log, and a suite that passed must also show that it ran (scripts/suite_guard.py: its
# runners' closing lines, no zero-test run, no "NOT RUN", no skip for a missing input); what the guard notes (a
# suite skipped on purpose, an allowed skip) goes to .test-logs/summary.txt, which `make test` prints at its end,
# followed by the last lines of each failed suite's log (CI keeps only the end of the output).
TEST_LOGS := .test-logs
run_timed = fail=""; mkdir -p $(TEST_LOGS); for t in $(1); do s=$$(date +%s); \
	{ $(MAKE) --no-print-directory -j1 $$t 2>&1; echo $$? > $(TEST_LOGS)/$$t.rc; } | tee $(TEST_LOGS)/$$t.log; \
	if [ "$$(cat $(TEST_LOGS)/$$t.rc)" != 0 ]; then fail="$$fail $$t"; \
	elif ! $(VPY) scripts/suite_guard.py $$t $(TEST_LOGS)/$$t.log --summary $(TEST_LOGS)/summary.txt; then \
	fail="$$fail $$t"; fi; \
	case " $$fail " in *" $$t "*) echo $$t >> $(TEST_LOGS)/failed.txt;; esac; \
	echo "== $$t: $$(( $$(date +%s) - s )) s$${fail:+ (failed so far:$$fail)}"; done; test -z "$$fail"

# (tests/deploy's Debian base image is made in the background meanwhile: it needs no build, mostly waits on
# downloads and dpkg, and the suite waits for it through a lock)
test: tools deps $(ORACLE)/bin/locust $(ORACLE_PLUGINS)/bin/locust
	@mkdir -p .deploy-cache && ( $(VPY) tests/deploy/images.py base > .deploy-cache/base.log 2>&1 & )
	@rm -rf $(TEST_LOGS); s=$$(date +%s); rc=0; { $(call run_timed,$(TEST_COMPILE)); } || rc=1; \
	$(MAKE) --no-print-directory -j2 --output-sync=target test-lane-diff test-lane-rest || rc=1; \
	echo "== make test: $$(( $$(date +%s) - s )) s, $$([ $$rc = 0 ] && echo passed || echo FAILED)"; \
	if [ -s $(TEST_LOGS)/summary.txt ]; then sed 's/^/   /' $(TEST_LOGS)/summary.txt; fi; \
	if [ -s $(TEST_LOGS)/failed.txt ]; then for t in $$(cat $(TEST_LOGS)/failed.txt); do \
	echo "== $$t FAILED; the end of $(TEST_LOGS)/$$t.log:"; tail -n 60 $(TEST_LOGS)/$$t.log | sed 's/^/   | /'; done; fi; \
	exit $$rc

test-lane-diff:
	@$(call run_timed,$(TEST_LANE_DIFF))

test-lane-rest:
	@$(call run_timed,$(TEST_LANE))

test-rust: deps $(ORACLE)/bin/locust
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust cargo test --release

# The shim's loop tests run twice: under plain Python with the engine stubbed, and inside the binary
# (`rlocust-python`), on the copy of the shim it embeds and its real `_rlocust`, which is what a locustfile runs on.
LOOP_TESTS := $(addprefix tests/python/,test_shim_runloop.py test_shim_tasks.py test_shim_wait_time.py \
	test_shim_users.py test_shim_frame_stack.py test_shim_exceptions.py test_shim_filter_tags.py test_shim_pacing_mark.py)
test-python: deps build
	$(VPY) -m pytest -q -rs tests/python
	$(CURDIR)/target/release/rlocust-python -m pytest -q -rs -p no:cacheprovider $(LOOP_TESTS)

# rlocust-python's three workflows with real files against the loopback target, and real Locust left alone in a
# plain `python` (tests/lib, about 20 s).
test-lib: build $(ORACLE)/bin/locust
	ORACLE_VENV=$(CURDIR)/$(ORACLE) RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_PYTHON_BIN=$(CURDIR)/target/release/rlocust-python \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/lib

$(LOCUST_TESTS_SITE)/.installed: tests/locust_own/requirements.txt | deps
	rm -rf $(LOCUST_TESTS_SITE)
	$(VPY) -m pip install -q --no-deps --target $(LOCUST_TESTS_SITE) -r tests/locust_own/requirements.txt
	touch $@

# (the tests' own dependencies, e.g. geventhttpclient, come from the oracle venv: VIRTUAL_ENV puts its packages on
# the launcher's path; `locust` itself stays rlocust's)
locust-own-tests: build $(ORACLE)/bin/locust $(LOCUST_TESTS_SITE)/.installed
	VIRTUAL_ENV=$(CURDIR)/$(ORACLE) $(VPY) scripts/locust_own_tests.py --launcher $(CURDIR)/target/release/rlocust-python \
	--deps $(CURDIR)/$(LOCUST_TESTS_SITE) $(if $(LOCUST_SRC),--locust-src $(LOCUST_SRC))

# Locust's test driver runs in the oracle venv's interpreter; the `locust` it starts is rlocust. Fails on a test that
# fails and is not in the script's EXPECTED_FAILURES, and on a listed one that passes (strike it off).
test-locust-e2e: build $(ORACLE)/bin/locust $(LOCUST_TESTS_SITE)/.installed
	$(VPY) scripts/locust_e2e_tests.py --locust $(CURDIR)/target/release/rlocust --python $(CURDIR)/$(ORACLE)/bin/python \
	--deps $(CURDIR)/$(LOCUST_TESTS_SITE) $(if $(LOCUST_SRC),--locust-src $(LOCUST_SRC))

# Both tools of a scenario run at the same time (DIFF_PARALLEL=1: about half the wall time), except scenarios marked
# `diff-sequential` (their outcome depends on response times of the one fault server).
test-diff: deps
	DIFF_PARALLEL=$${DIFF_PARALLEL:-1} LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust LOCUST_PLUGINS_BIN=$(CURDIR)/$(ORACLE_PLUGINS)/bin/locust \
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/diff

# The web UI's HTTP API side by side with real Locust, and rlocust's web options (tests/web).
test-web: deps
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/web

# Distributed mode with real Locust 2.47 masters and workers on the other side (tests/dist).
test-dist: deps
	cargo build --release --example fleet
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/dist

# Locust with its otel extra, again when the pinned set changes.
$(ORACLE_OTEL)/.installed: requirements-oracle-otel.txt
	test -x $(ORACLE_OTEL)/bin/python || $(PYTHON) -m venv $(ORACLE_OTEL)
	$(ORACLE_OTEL)/bin/pip install -q -r requirements-oracle-otel.txt
	touch $@

# --otel against the OTLP receiver of tests/otel (grpcio, opentelemetry-proto: requirements-test.txt) on 127.0.0.1.
test-otel: build $(ORACLE_OTEL)/.installed
	LOCUST_OTEL_BIN=$(CURDIR)/$(ORACLE_OTEL)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/otel

# The wheel (built once, `make wheel`) in fresh venvs with no Rust toolchain on PATH and next to locust==2.47.0 and
# faker; the standalone binary's run-time needs and its errors when its Python is missing; the Dockerfile (hadolint).
# -rP prints the measured wheel install times.
test-packaging: deps build wheel $(ORACLE)/bin/locust $(BZT_VENV)/.installed
	rm -rf .venv-packaging
	PACKAGING_VENV=$(CURDIR)/.venv-packaging RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust BZT_VENV=$(CURDIR)/$(BZT_VENV) \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs -rP tests/packaging

# rlocust's image run the way each launcher runs locustio/locust (tests/deploy, podman with runc): the Dockerfile built
# on a Debian base made with mmdebstrap (no registry image can be pulled here; cached in podman's store by content),
# then the deliveryhero Helm chart's, the official and the community Kubernetes operators' and Locust's
# docker-compose pod specs, each in a private network namespace against a counting target; plus the image's layout.
test-deploy: tools deps wheel
	$(VPY) -m pytest -q -rs tests/deploy

# The image, for users: `make image`, then e.g. `docker run -p 8089:8089 -v "$$PWD:/mnt/locust" rlocust:$(VERSION) -f
# /mnt/locust/locustfile.py`. Tags: rlocust's version, and rlocust's version with the Locust version it follows.
IMAGE_ENGINE ?= $(shell command -v docker || command -v podman)
image: wheel
	$(IMAGE_ENGINE) build -t rlocust:$(VERSION) -t rlocust:$(VERSION)-locust$(LOCUST_VERSION) .

# The contrib users' clients, again when the requirements change (a fresh directory: --target does not upgrade).
$(CONTRIB_SITE)/.installed: tests/contrib/requirements.txt | deps
	rm -rf $(CONTRIB_SITE)
	$(VPY) -m pip install -q --target $(CONTRIB_SITE) -r tests/contrib/requirements.txt
	touch $@

# Every locust.contrib module under real Locust 2.47 and rlocust at once, against servers the suite starts on
# 127.0.0.1 (tests/contrib/conftest.py); a server that cannot start fails its test.
test-contrib: build $(ORACLE)/bin/locust $(CONTRIB_SITE)/.installed
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	CONTRIB_SITE=$(CURDIR)/$(CONTRIB_SITE) $(VPY) -m pytest -q -rs tests/contrib

# Prometheus scraping rlocust (Debian's prometheus, started by the tests on 127.0.0.1), --thresholds and the
# --check-* options side by side with Locust 2.47 + locust-plugins, --summary-json (tests/obs).
test-obs: build $(ORACLE_PLUGINS)/bin/locust
	LOCUST_PLUGINS_BIN=$(CURDIR)/$(ORACLE_PLUGINS)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_REPORT_BIN=$(CURDIR)/target/release/rlocust-report \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/obs

# `async def` tasks with the asyncio libraries users bring (websockets, openai, httpx, aiohttp: tests/aio/requirements.txt,
# installed into .aio-site) against rlocust-target and a real websockets server on 127.0.0.1 (tests/aio, about a minute).
$(AIO_SITE)/.installed: tests/aio/requirements.txt | deps
	rm -rf $(AIO_SITE)
	$(VPY) -m pip install -q --target $(AIO_SITE) -r tests/aio/requirements.txt
	touch $@

test-aio: build $(AIO_SITE)/.installed
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	AIO_SITE=$(CURDIR)/$(AIO_SITE) $(VPY) -m pytest -q -rs tests/aio

# A loopback attacker against each of docs/security.md's cases (tests/security): the master port, the web UI, the HTTP
# clients' redirects and memory, and every way a run ends; real Locust 2.47 masters and workers where interop is
# the point.
test-security: build $(ORACLE)/bin/locust
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target $(VPY) -m pytest -q -rs tests/security

test-search: build
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	$(VPY) -m pytest -q -rs tests/search

# Production-shaped load (tests/llm): --arrival-trace replay, rlocust.llm's tokenizers and synthetic prompts
# (compared with the Python tokenizers package on tests/llm/tokenizers), --tokenizer counts at the wire, token
# throughput in every output, HTTP/2 and asyncio streams, against rlocust-target and real servers on 127.0.0.1.
test-llm: build $(AIO_SITE)/.installed $(ORACLE)/bin/locust
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	AIO_SITE=$(CURDIR)/$(AIO_SITE) $(VPY) -m pytest -q -rs tests/llm

# A real inference server (tests/llm_server): llama.cpp's OpenAI-compatible server from llama-cpp-python's sdist,
# which pip compiles with cmake (CPU only, no OpenMP/BLAS/curl, no tools or multimodal library; one job at nice 19
# so a busy machine stays usable), in its own venv (tests/llm_server/requirements.txt). Not in `make test`: the
# compile alone takes longer than CI can spare. tcpdump (Debian) is installed when run as root, for the TTFT check
# against the wire; without it that one test is skipped.
LLAMA_VENV ?= .venv-llama
LLAMA_CMAKE_ARGS ?= -DGGML_OPENMP=OFF -DGGML_BLAS=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
	-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF
LLAMA_JOBS ?= 1
$(LLAMA_VENV)/.installed: tests/llm_server/requirements.txt
	test -x $(LLAMA_VENV)/bin/python || $(PYTHON) -m venv $(LLAMA_VENV)
	@echo "make test-llama-server: compiling llama.cpp (llama-cpp-python's sdist) into $(LLAMA_VENV), $(LLAMA_JOBS) job(s)"
	@s=$$(date +%s); CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(LLAMA_JOBS) \
	nice -n 19 $(LLAMA_VENV)/bin/pip install -q -r tests/llm_server/requirements.txt \
	|| { echo "make test-llama-server: llama-cpp-python did not install into $(LLAMA_VENV) (pip's error above)" >&2; exit 1; }; \
	echo "make test-llama-server: $(LLAMA_VENV) ready in $$(( $$(date +%s) - s )) s"
	touch $@

test-llama-server: build $(LLAMA_VENV)/.installed
	@command -v tcpdump >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null; } || \
	echo "make test-llama-server: no tcpdump (apt-get install tcpdump): the wire check will fail"
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust LLAMA_PYTHON=$(CURDIR)/$(LLAMA_VENV)/bin/python \
	$(VPY) -m pytest -q -rs tests/llm_server

test-open: build
	RLOCUST_BIN=$(CURDIR)/target/release/rlocust RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	$(VPY) -m pytest -q -rs tests/open

lint: deps
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps
	$(VENV)/bin/ruff check python tests locustfiles bench examples scripts

clean:
	rm -rf target dist demo-results .test-logs $(VENV) $(ORACLE) $(ORACLE_PLUGINS) $(CONTRIB_SITE) $(AIO_SITE) $(ORACLE_OTEL) $(BUILD_VENV) $(LOCUST_TESTS_SITE) $(BZT_VENV) $(LLAMA_VENV) .venv-packaging .deploy-cache .pytest_cache .ruff_cache webui/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The web UI's sources are in webui/ (TypeScript, Preact, uPlot); its build output webui/dist is committed, so
# cargo and pip never need Node.
webui:
	cd webui && npm ci --no-audit --no-fund --loglevel=error && npm run build

webui-check:
	scripts/check-webui-build.sh

# Headless Chromium (Debian's `chromium`) drives the built UI through webui/scripts/serve.mjs against real Locust,
# then as rlocust's own server serves it (tests/rlocust.mjs: dashboard, charts, report, --html, --web-base-path,
# axe-core's accessibility checks; tests/guards.mjs: a master without workers, 600 names, a host without a scheme;
# tests/login.mjs: --web-login beside Locust's own login page), then measures it with 1,000 request names
# (tests/perf.mjs, a fake API), and prints the report with a baseline comparison in both themes (tests/report-print.mjs:
# nothing cut at A4 width, charts resized for print, the dashboard's baseline column), and shows a capacity search
# (tests/search.mjs: the report's section, the Capacity tab followed live, the start form's search fields; a fake API).
test-webui: $(ORACLE)/bin/locust build
	cd webui && npm ci --no-audit --no-fund --loglevel=error && \
	LOCUST_BIN=$(CURDIR)/$(ORACLE)/bin/locust RLOCUST_BIN=$(CURDIR)/target/release/rlocust \
	RLOCUST_TARGET_BIN=$(CURDIR)/target/release/rlocust-target \
	npm test && node tests/browser.mjs && node tests/rlocust.mjs && node tests/guards.mjs && node tests/login.mjs && \
	node tests/perf.mjs && node tests/report-print.mjs && node tests/search.mjs
