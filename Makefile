# Every target sets itself up: a fresh machine needs only Python 3.11+ and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The default venv runs on the newest Python there is (3.13 > 3.12 > 3.11), so it gets the newest
# ansible-core; `make PYTHON=/path/to/python ...` overrides (an existing .venv keeps its Python: rm -rf .venv).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(CURDIR)/hacking/pick-python.sh 3.13 3.12 3.11 || echo python3)
endif
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
# A new CORE pin reinstalls (the stamp names it).
STAMP := $(VENV)/.installed$(if $(CORE),-$(CORE))
# What the venv installs: requirements-dev.txt (lint and docs tools too) for .venv; the matrix venvs
# (make test-matrix) install requirements-test.txt and one pinned ansible-core (CORE).
REQUIREMENTS := requirements-dev.txt
CORE :=
# The checkout, importable as m365.photos through a symlink (ansible, pytest) ...
COLLECTIONS := $(VENV)/collections
# ... and a synced copy for ansible-test, which refuses a symlinked collection root.
SANITY_ROOT := $(VENV)/sanity/ansible_collections/m365/photos
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export PATH := $(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export ANSIBLE_NOCOLOR := 1

# The supported ansible-core range (meta/runtime.yml: >=2.16.0), one cell per minor: the latest patch of
# each on a Python that release supports as a controller. make test-matrix runs sanity and unit tests
# in every cell and the integration tests in the first (oldest) and the last (newest); make test runs
# the oldest cell's sanity, units and integration after the default venv's full suite.
MATRIX := 2.16.19:3.11 2.17.14:3.12 2.18.19:3.12 2.19.14:3.11 2.20.10:3.13 2.21.5:3.13
MATRIX_DIR := $(CURDIR)/.venv-matrix
OLDEST := $(firstword $(MATRIX))
NEWEST := $(lastword $(MATRIX))
# $(call cell,CORE:PY,TARGETS) runs the targets in the venv .venv-matrix/<minor>/ (kept between runs) with
# ansible-core CORE on Python PY, and says how long they took.
cell = core=$(word 1,$(subst :, ,$(1))); python=$(word 2,$(subst :, ,$(1))); start=$$(date +%s); \
	echo "matrix: ansible-core $$core on Python $$python: $(2)"; \
	$(MAKE) --no-print-directory VENV=$(MATRIX_DIR)/$${core%.*} CORE=$$core REQUIREMENTS=requirements-test.txt \
		PYTHON="$$(hacking/pick-python.sh $$python)" $(2) \
	&& echo "matrix: ansible-core $$core on Python $$python passed ($(2)) in $$(( $$(date +%s) - start )) s"

.PHONY: help venv demo docs package-test test test-oldest test-matrix sanity lint units integration integration-collection integration-targets sandbox-up sandbox-down bench bench-100k bench-fidelity build clean

help:
	@echo "make demo            run the photo_sync role against the local sandbox, twice"
	@echo "make test            sanity, lint, unit and integration tests, and the demo from the built tarball;"
	@echo "                     then sanity, unit and integration tests on the oldest supported ansible-core"
	@echo "make test-matrix     sanity and unit tests on every supported ansible-core minor (2.16 to 2.21),"
	@echo "                     integration tests on the oldest and the newest"
	@echo "make sandbox-up      start the local sandbox (Samba AD DC); writes .sandbox/env"
	@echo "make sandbox-down    stop the sandbox"
	@echo "make bench           scale benchmark against the sandbox, 100 to 10,000 users (writes docs/benchmarks.md)"
	@echo "make bench-100k      the scale benchmark's 100,000-user no-change runs (writes docs/benchmarks.md)"
	@echo "make bench-fidelity  image pipeline fidelity table (writes docs/benchmarks.md)"
	@echo "make docs            regenerate the plugin and role reference in docs/reference"
	@echo "make build           build the collection tarball"

$(STAMP): requirements.txt requirements-test.txt $(REQUIREMENTS)
	test -x $(PY) || { test -n "$(PYTHON)" && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) -m pip install --quiet -r $(REQUIREMENTS) $(if $(CORE),ansible-core==$(CORE)) 2>&1 \
		| grep -v '^WARNING: Location'; test $${PIPESTATUS[0]} -eq 0
	mkdir -p $(COLLECTIONS)/ansible_collections/m365
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/m365/photos
	touch $@

venv: $(STAMP)

test: sanity lint units integration package-test test-oldest

# Sanity, unit and integration tests (without the sandbox's own tests) on the oldest supported ansible-core.
test-oldest:
	$(call cell,$(OLDEST),sanity units integration-collection package-test)

# Every supported ansible-core minor: sanity and units in each cell, integration in the oldest and the newest.
test-matrix:
	set -e; ($(call cell,$(OLDEST),sanity units integration-collection package-test)); \
	$(foreach c,$(filter-out $(OLDEST) $(NEWEST),$(MATRIX)),($(call cell,$(c),sanity units)); )\
	($(call cell,$(NEWEST),sanity units integration-collection package-test))

sanity: $(STAMP)
	$(PY) hacking/prepare_sanity.py $(CURDIR) $(SANITY_ROOT)
	cd $(SANITY_ROOT) && ansible-test sanity --venv --python $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') --color no 2>&1 \
		| grep -vE '^(WARNING: Location|Looking in|  Downloading|Collecting|     ━)'; test $${PIPESTATUS[0]} -eq 0

lint: $(STAMP)
	ansible-lint --offline --nocolor --profile production
	antsibull-docs lint-collection-docs --plugin-docs .
	rm -rf build/docs && mkdir -p build/docs
	antsibull-docs collection --use-current --dest-dir build/docs --output-format simplified-rst m365.photos >/dev/null
	diff -r build/docs/collections/m365/photos docs/reference \
		|| { echo "docs/reference is out of date: run make docs and commit it"; exit 1; }

docs: $(STAMP)
	rm -rf build/docs && mkdir -p build/docs docs/reference
	antsibull-docs collection --use-current --dest-dir build/docs --output-format simplified-rst m365.photos >/dev/null
	rm -rf docs/reference && cp -r build/docs/collections/m365/photos docs/reference

# pytest over the checkout, then ansible-test over the files the tarball ships (they must run from there too).
units: $(STAMP)
	$(PY) -m pytest tests/unit -q -p no:cacheprovider
	$(PY) hacking/prepare_sanity.py $(CURDIR) $(SANITY_ROOT)
	cd $(SANITY_ROOT) && ansible-test units --local --python $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') --color no

# What auth: kerberos needs (Debian's krb5 and the Python package gssapi), for tests/integration/test_kerberos.py.
KERBEROS_STAMP := $(VENV)/.kerberos
$(KERBEROS_STAMP): $(STAMP) requirements-kerberos.txt
	hacking/kerberos-deps.sh $(PY)
	touch $@

# The integration tests on two workers, then the ones that restart a shared sandbox server (marker serial) alone.
PYTEST_INTEGRATION = $(PY) -m pytest tests/integration -q -p no:cacheprovider -n 2 --dist loadfile -m "not serial" \
	&& $(PY) -m pytest tests/integration -q -p no:cacheprovider -m serial

integration: $(STAMP) $(KERBEROS_STAMP)
	PYTHON=$(PY) hacking/with-sandbox.sh bash -c '$(PY) -m pytest tests/sandbox -q -p no:cacheprovider \
		&& $(PYTEST_INTEGRATION) && hacking/integration-targets.sh'

# The collection's integration tests without the sandbox's own (tests/sandbox): what the matrix runs.
integration-collection: $(STAMP) $(KERBEROS_STAMP)
	PYTHON=$(PY) hacking/with-sandbox.sh bash -c '$(PYTEST_INTEGRATION) && hacking/integration-targets.sh'

# The ansible-test integration targets alone (tests/integration/targets), with the sandbox up.
integration-targets: $(STAMP)
	PYTHON=$(PY) hacking/with-sandbox.sh hacking/integration-targets.sh

demo: sandbox-up
	set -a && source .sandbox/env && set +a && hacking/demo.sh
	@echo "demo: the sandbox keeps running for you to explore (settings in .sandbox/env); make sandbox-down stops it"

sandbox-up: $(STAMP)
	PYTHON=$(PY) sandbox/up.sh

sandbox-down:
	sandbox/down.sh

bench: $(STAMP)
	hacking/with-sandbox.sh $(PY) tests/bench/scale.py --users 100 1000 10000 --full-max 10000 --write docs/benchmarks.md

bench-100k: $(STAMP)
	hacking/with-sandbox.sh $(PY) tests/bench/scale.py --users 100000 --full-max 0 --changes-only --write docs/benchmarks.md --section scale-100k

bench-fidelity: $(STAMP)
	$(PY) tests/bench/fidelity.py --write docs/benchmarks.md

build: $(STAMP)
	ansible-galaxy collection build --force --output-path build/

# The released artifact, not the checkout: build the tarball, install it into a scratch collections path
# and run the demo playbook from there.
package-test: build
	rm -rf build/collections
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/collections ansible-galaxy collection install --force --no-deps \
		-p build/collections build/m365-photos-*.tar.gz
	PYTHON=$(PY) hacking/with-sandbox.sh env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/collections \
		PHOTO_SYNC_REPORT_DIR=$(CURDIR)/build/demo-reports \
		hacking/demo.sh m365.photos.demo build/collections/ansible_collections/m365/photos/playbooks/sandbox/inventory.yml \
		m365.photos.hybrid

clean:
	rm -rf build tests/output $(VENV)/sanity
