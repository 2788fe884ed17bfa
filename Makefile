# Two commands set everything up on a fresh machine:
#   make test   - create .venv, install vamoh with all extras + the template plugin, lint, build docs, run tests
#   make demo   - create .venv if needed, install, run `vamoh demo` (fit ERA5, downscale, gap-fill, maps)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Keeps torch the CPU build; GPU users install their own CUDA torch first (see README).
CONSTRAINTS ?= constraints-cpu.txt
PYTEST_ARGS ?=

.PHONY: test demo lint format docs install clean wheel benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints-cpu.txt plugins/template/pyproject.toml
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[all,dev,docs]"
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e plugins/template
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: $(STAMP) lint docs
	$(BIN)/pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/vamoh demo

benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks run

wheel: $(STAMP)
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) build dist site *.egg-info .pytest_cache .ruff_cache
