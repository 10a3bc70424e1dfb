# osmo2argo: every everyday command. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE ?= tests/examples/hello.yaml
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit conformance tools golden bench fuzz clean help

help:
	@echo "make demo         set up .venv, validate and compile an example"
	@echo "make test         ruff + mypy --strict + the test suite (conformance checks need 'make tools')"
	@echo "make tools        build argo (lint) and the test API server from Go modules into .tools/"
	@echo "make conformance  argo lint + server-side dry run of every golden, example and generated spec"
	@echo "make golden       regenerate golden outputs (refused when CI is set); read the diff"
	@echo "make bench        benchmarks; writes docs/performance.md"
	@echo "make fuzz         a long property-test run (FUZZ_EXAMPLES=1500 per property)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/osmo2argo validate $(EXAMPLE)
	$(BIN)/osmo2argo compile $(EXAMPLE) -o -

lint: $(STAMP)
	$(BIN)/ruff check osmo2argo tests
	$(BIN)/ruff format --check osmo2argo tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

tools:
	tests/tools/build-argo.sh
	tests/tools/build-apiserver.sh

conformance: $(STAMP) tools
	$(BIN)/pytest -m conformance $(PYTEST_ARGS)

golden: $(STAMP)
	$(BIN)/pytest tests/test_golden.py tests/test_graph.py --update-golden

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python tests/bench/run.py $(BENCH_ARGS)

# Examples per property (the mutation kinds share an eighth each; the YAML reader's generators take
# up to four times as many): 1,500 gives about 23,600 in all.
FUZZ_EXAMPLES ?= 1500

fuzz: $(STAMP)
	OSMO2ARGO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_properties.py tests/test_fast_yaml.py \
	  tests/test_yaml_writer.py -p no:cacheprovider \
	  --hypothesis-show-statistics $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache .hypothesis
