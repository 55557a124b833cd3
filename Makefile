# hipool: `make demo` and `make test` set everything up on a fresh machine (only Python needed).
PYTHON ?= python3
VENV ?= .venv
# torch is installed first, from this spec.  The default pin is the CPU build served locally on
# our development machines; elsewhere it is an ordinary PyPI release.  Override as you need, e.g.
#   make test TORCH_SPEC=torch            (newest torch)
#   make demo TORCH_SPEC='torch==2.5.1'
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin
STAMP := $(VENV)/.hipool-installed

.PHONY: setup demo test lint format docs bench clean

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
	@sh scripts/install-chromium.sh
	@touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/hipool demo --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The documentation site (guides + API reference from the docstrings); warnings are errors.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# Lint (ruff), the format check (ruff format) and types (mypy on the typed core; see pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/seed_proteins.py

clean:
	rm -rf $(VENV) runs .pytest_cache src/*.egg-info
