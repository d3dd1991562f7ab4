# HMS: build, run and test.
#
#   make run            install what is missing, build the app, open it (DEMO=1: demo hospital)
#   make test           UI checks and unit tests, every Rust test, the end-to-end suite
#   make deb            release build and the .deb package
#
# `make deps` sets up a fresh Debian/Ubuntu machine (apt, npm, tauri-driver); it needs cargo
# (rustup) and root or sudo for apt, and is quick when everything is already there.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:

# Builds are shared by every clone on this machine (CI runs on fresh clones).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/hms-target
# cargo, and what `cargo install` put there (tauri-driver).
export PATH := $(HOME)/.cargo/bin:$(PATH)
# The Tauri CLI runs from the repository root; the frontend (its package.json) is ui/.
export TAURI_FRONTEND_PATH ?= $(CURDIR)/ui

APT_PACKAGES := libwebkit2gtk-4.1-dev build-essential pkg-config librsvg2-dev xvfb xauth \
	webkit2gtk-driver poppler-utils zbar-tools imagemagick postgresql curl python3 python3-venv \
	libfaketime dbus gnome-keyring
# 0 = the caller has just run apt-get update (.ci/run does).
APT_UPDATE ?= 1
# The oldest Node.js the UI toolchain takes (ui/package.json "engines"; Vite).
NODE_MIN_MAJOR := 20
NODE_MIN_MINOR := 19
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# The independent FHIR R4 validator the tests run over HMS's exports: PyPI's fhir.resources,
# pinned in scripts/fhir-validator.txt, in its own virtual environment.
FHIR_VENV := $(HOME)/.cache/hms-fhir-venv
export HMS_FHIR_PYTHON ?= $(FHIR_VENV)/bin/python

# The Tauri CLI from ui/'s devDependencies (@tauri-apps/cli); npx only until it is there.
TAURI = $(if $(wildcard ui/node_modules/.bin/tauri),ui/node_modules/.bin/tauri,npx --yes @tauri-apps/cli@2)
APP_BIN = $(CARGO_TARGET_DIR)/debug/hms
# The development database: HMS_DATA_DIR if set, else the app's data directory on Linux.
DATA_DIR ?= $(or $(HMS_DATA_DIR),$(HOME)/.local/share/org.hms.clinic)
# Xvfb has no window manager; give it a screen larger than the 1280x800 window, in colour.
XVFB := xvfb-run -a -s "-screen 0 1920x1080x24"

# The suites `make test` runs, in order.
TEST_SUITES := lint ui rust keystore server e2e

.PHONY: help deps deps-system deps-rust deps-ui deps-e2e deps-driver deps-fhir ui app run \
	test test-lint test-ui test-rust test-keystore test-e2e test-server deb bench clean-data

help:
	@echo "make run [DEMO=1]   build and open the app (DEMO=1: demo hospital on first start)"
	@echo "make test           $(TEST_SUITES) tests (make test-lint, test-ui, test-rust, test-server, test-e2e one by one)"
	@echo "make deps           install what is missing (apt, npm ci, tauri-driver)"
	@echo "make ui | app       build the UI | the app binary ($(APP_BIN))"
	@echo "make deb            release .deb package"
	@echo "make bench ARGS=..  hms-admin bench (JSON)"
	@echo "make clean-data     delete the development database ($(DATA_DIR))"
	@echo "Env: CARGO_TARGET_DIR=$(CARGO_TARGET_DIR), HMS_DATA_DIR overrides the data directory."

# ------------------------------------------------------------------------------ dependencies

deps: deps-system deps-rust deps-ui deps-e2e deps-driver deps-fhir

deps-system:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: apt-get install$$missing"; \
	  if [ "$(APT_UPDATE)" != 0 ]; then $(SUDO) apt-get update; fi; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

deps-rust:
	@command -v cargo >/dev/null || { \
	  echo "deps: cargo not found. Install Rust with rustup (https://rustup.rs), open a new shell" >&2; \
	  echo "      (or add ~/.cargo/bin to PATH), then run make again." >&2; \
	  exit 1; }
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

# npm ci when node_modules is missing or older than the lock file.
deps-ui: deps-system
	@[ -f ui/package-lock.json ] || { echo "deps: ui/package-lock.json is missing" >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > $(NODE_MIN_MAJOR) || (a === $(NODE_MIN_MAJOR) && b >= $(NODE_MIN_MINOR)) ? 0 : 1)' || { \
	  echo "deps: ui/ needs Node.js >= $(NODE_MIN_MAJOR).$(NODE_MIN_MINOR) (ui/package.json engines); found $$(node --version)." >&2; \
	  echo "      Debian 12's apt has Node 18: install a newer nodejs (e.g. NodeSource's package) first." >&2; \
	  exit 1; }
	@if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then \
	  echo "deps: npm ci in ui/"; cd ui && npm ci --no-audit --no-fund; fi

deps-e2e: deps-system
	@if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then \
	  echo "deps: npm ci in tests/e2e/"; cd tests/e2e && npm ci --no-audit --no-fund; fi

# The validator's venv, (re)made when it does not hold the pinned fhir.resources.
deps-fhir: deps-system
	@pinned=$$(sed -n 's/^fhir.resources==//p' scripts/fhir-validator.txt); \
	if ! "$(FHIR_VENV)/bin/python" -c "import fhir.resources as f, sys; sys.exit(f.__version__ != '$$pinned')" 2>/dev/null; then \
	  echo "deps: the FHIR validator (PyPI fhir.resources $$pinned) into $(FHIR_VENV)"; \
	  rm -rf "$(FHIR_VENV)" && python3 -m venv "$(FHIR_VENV)" && \
	  "$(FHIR_VENV)/bin/pip" install --quiet --disable-pip-version-check -r scripts/fhir-validator.txt; \
	fi

deps-driver: deps-rust
	@command -v tauri-driver >/dev/null || cargo install tauri-driver --version "^2" --locked

# ------------------------------------------------------------------------------ build and run

ui: deps-ui
	cd ui && npm run build

# The binary as `tauri build` makes it (custom-protocol: the built UI embedded), unbundled.
# Its beforeBuildCommand builds the UI first.
app: deps-ui deps-rust
	$(TAURI) build --debug --no-bundle
	@echo "app: $(APP_BIN)"

run: deps app
	$(if $(filter 1,$(DEMO)),HMS_DEMO=1 )"$(APP_BIN)"

deb: deps
	$(TAURI) build --bundles deb
	@deb=$$(ls -t "$(CARGO_TARGET_DIR)"/release/bundle/deb/*.deb | head -n 1); \
	echo "deb: $$deb ($$(du -h "$$deb" | cut -f1))"

bench: deps-rust
	cargo run --release -p hms-cli --bin hms-admin -- bench $(ARGS)

clean-data:
	@dir="$(DATA_DIR)"; \
	case "$$dir" in ""|/|"$(HOME)"|"$(HOME)/") echo "clean-data: refusing to delete '$$dir'" >&2; exit 1;; esac; \
	if [ -e "$$dir" ]; then rm -rf -- "$$dir"; echo "clean-data: deleted $$dir"; else echo "clean-data: nothing at $$dir"; fi

# ------------------------------------------------------------------------------ tests

# Runs every suite even when one fails, then one summary line; fails if any suite failed.
test: deps
	@start=$$(date +%s); status=0; results=""; \
	for suite in $(TEST_SUITES); do \
	  echo; echo "==> make test-$$suite"; \
	  if $(MAKE) --no-print-directory test-$$suite; then results="$$results $$suite=ok"; \
	  else results="$$results $$suite=FAILED"; status=1; fi; \
	done; \
	echo; echo "==> test summary:$$results ($$(( $$(date +%s) - start )) s)"; \
	exit $$status

# Formatting (rustfmt.toml) and every clippy warning, in every crate and test.
test-lint: deps-rust
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

test-ui: deps-ui
	cd ui && npm run check
	cd ui && CI=true npm test

# hms-server's tests need PostgreSQL: they run in test-server, not here.
# This includes the crash test (crates/cli/tests/crash.rs; 74 s and 123 s on a busy 2-core
# machine):
# a child writing acknowledged registrations, payments and consultations is killed with
# SIGKILL 200 times and every acknowledged write checked after each; scripts/crash-soak runs
# it 1,000 times (not part of make test).
# HMS_TEST_ARTIFACTS: the core tests keep the PDFs they check (ID card, invoice, receipt)
# and a page image of the invoice there.
# HMS_KEYSTORE=file: the database keys in key files, whatever keystore the machine has (the
# tests make thousands of databases; test-keystore tests the keystore).
test-rust: deps-rust
	HMS_KEYSTORE=file HMS_TEST_ARTIFACTS="$(CURDIR)/tests/artifacts" cargo test --workspace --exclude hms-server --locked --no-fail-fast

# The database key in a real Secret Service (GNOME Keyring in a private D-Bus session,
# scripts/with-keystore): crates/core/tests/keystore.rs with its tests that need it.
test-keystore: deps-system deps-rust
	scripts/with-keystore cargo test -p hms-core --test keystore --locked -- --include-ignored

# sync.e2e.test.mjs also runs hms-server (on a throwaway PostgreSQL it starts itself);
# encryption.e2e.test.mjs makes its clear database with hms-admin. The
# suites run one after the other: each drives a WebKit window, and they share artifacts/.
test-e2e: deps-e2e deps-driver app
	cargo build -p hms-server -p hms-cli --locked
	HMS_NO_OPEN=1 HMS_APP_BIN="$(APP_BIN)" HMS_SERVER_BIN="$(CARGO_TARGET_DIR)/debug/hms-server" \
	  HMS_ADMIN_BIN="$(CARGO_TARGET_DIR)/debug/hms-admin" \
	  $(XVFB) node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs

# The sync server against a real PostgreSQL that the tests start themselves (a throwaway
# cluster on a free loopback port, as the postgres user when run as root). The postgresql apt
# package comes with `make deps`; without it the tests fail and say so. This includes the
# device side of sync (crates/server/tests/device_sync.rs: hms-core stores syncing through
# the server), which is why hms-core is a dev-dependency of hms-server.
# Then every suite again on the SQLite backend (the clinic hub: HMS_TEST_BACKEND=sqlite, a
# database file per test), the convergence test with HUB_CONVERGENCE_CASES random cases (100:
# the PostgreSQL run has 200, and the two together would take CI past its time; the issue's 200
# on SQLite come with the hub itself).
HUB_CONVERGENCE_CASES ?= 100
test-server: deps-rust
	HMS_KEYSTORE=file cargo test -p hms-server --locked --no-fail-fast
	HMS_KEYSTORE=file HMS_TEST_BACKEND=sqlite HMS_CONVERGENCE_CASES=$(HUB_CONVERGENCE_CASES) \
	  cargo test -p hms-server --locked --no-fail-fast
