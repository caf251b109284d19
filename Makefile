# The two commands of the README: `make run` and `make test`. Both install what is missing.
VENV      ?= .venv
PY        := $(VENV)/bin/python
DEPS      := $(VENV)/.stamp-deps
VENDOR    := frontend/static/vendor/.stamp
CHROMIUM  := /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: install run test lint bench clean-data

install: $(DEPS) $(VENDOR)

$(PY):
	python3 -m venv $(VENV)

# torch is pinned to the CPU build available locally; everything else resolves from pyproject.
$(DEPS): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(VENDOR): package.json package-lock.json frontend/build.mjs
	npm ci --no-audit --no-fund --loglevel=error
	node frontend/build.mjs
	touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

run: install
	$(VENV)/bin/sitslab init --demo
	$(VENV)/bin/sitslab serve --host 127.0.0.1 --port 8000

test: install $(CHROMIUM)
	$(VENV)/bin/pytest -n 2 --timeout 900 $(PYTEST_ARGS)

lint: $(DEPS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done
