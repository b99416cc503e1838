# Two commands set up everything on a fresh machine: `make run` and `make test`.
# Both create .venv/ in the checkout (or use an active virtualenv) first.

PYTHON ?= python3
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := $(CURDIR)/.venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.cmx-installed
TEST_STAMP := $(VENV)/.cmx-test-installed
# The editable install is setuptools' default (lenient) mode: setup.cfg maps the packages to the
# checkout root (package_dir "" = "."), so the install is one plain path entry to the checkout,
# without an import hook (start-up time, benchmarks/cached_run.py) and without the deprecation
# warning of the old compat editable mode.
EDITABLE :=

.PHONY: install install-test run test test-slow bench attacks clean lint

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[flexboard]' $(EDITABLE)
	touch $@

install-test: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,flexboard]' $(EDITABLE)
	touch $@

# The main job: FlexBench on the embedded default (SmolLM2-135M, the mini dataset,
# Offline, performance + accuracy). The first run builds the benchmark venv and
# converts the model (a few minutes); later runs reuse them from the cache.
run: install
	$(BIN)/cmx run script --tags=run,flexbench

test: install-test
	$(BIN)/python -m pytest -q -rs -m "not slow" tests

test-slow: install-test
	$(BIN)/python -m pytest -q -m slow tests

bench: install-test
	$(BIN)/python benchmarks/run_all.py

# The attacks of issue 10 re-run against the real CLI in temporary homes (docs/reliability.md);
# not part of `make test` or `make bench`. ATTACK_TRIES=N for more tries of each repeated attack.
ATTACK_TRIES ?= 5
attacks: install-test
	$(BIN)/python benchmarks/attacks.py --tries $(ATTACK_TRIES)

clean:
	rm -rf cache/.tmp cache/.failed cache/.trash
