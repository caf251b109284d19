# The two commands of the README: `make run` and `make test`. Both install what is missing.
VENV      ?= .venv
PY        := $(VENV)/bin/python
DEPS      := $(VENV)/.stamp-deps
VENDOR    := frontend/static/vendor/.stamp
CHROMIUM  := /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: install run test lint bench screenshots gpu-wheels clean-data

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

# The README's screenshots (docs/*.png), retaken by the browser tests of those pages; a
# plain `make test` writes them into its temporary folders instead.
screenshots: install $(CHROMIUM)
	SITSLAB_SCREENSHOTS=1 $(VENV)/bin/pytest -n 2 --timeout 900 tests/browser

lint: $(DEPS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Wheels of the raster stack for the GPU machine's Python 3.12 (bench/gpu_check.sh), at the
# versions installed here.
gpu-wheels: $(DEPS)
	$(PY) -m pip freeze | grep -iE '^(rasterio|shapely|affine|cligj|click-plugins)==' \
	    | xargs $(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
	    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
	    --platform manylinux2014_x86_64 -d .whl
