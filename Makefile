# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
DATA    ?= examples/data
STORE   ?= $(DATA)/demo.db
ROWS    ?= 3000000

.PHONY: help venv build demo test lint test-rust test-python bench clean

help:
	@echo "make demo   build, generate example predictions, evaluate, store, history, gate, report, alerts"
	@echo "make test   cargo fmt/clippy/test, ruff, mypy, stubtest and pytest"
	@echo "make bench  benchmarks: scoreboard vs scikit-learn and numpy (pytest-benchmark)"

# The virtualenv with every Python dependency (runtime, tests, dev tools); rebuilt when
# pyproject.toml changes.
$(VENV)/.deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.7,<2"
	$(PY) -m pip install -q -e ".[test,dev]"
	touch $@

venv: $(VENV)/.deps

# Builds the Rust extension (release) into the virtualenv as an editable install.
build: venv
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/maturin develop --release -q --skip-install

demo: build
	$(PY) examples/generate.py --rows $(ROWS) --out $(DATA)
	rm -f $(STORE) $(STORE)-wal $(STORE)-shm
	$(BIN)/scoreboard validate examples/fraud.yaml
	$(BIN)/scoreboard evaluate examples/fraud.yaml $(DATA)/fraud --store $(STORE) --model-version v1
	$(BIN)/scoreboard evaluate examples/species.yaml "$(DATA)/species/*.parquet" --store $(STORE) --model-version v1
	$(BIN)/scoreboard evaluate examples/delivery.yaml $(DATA)/delivery --store $(STORE) --model-version v1
	$(BIN)/scoreboard history --store $(STORE) --model fraud-detector
	$(BIN)/scoreboard gate examples/fraud.yaml $(DATA)/fraud --store $(STORE) --model-version v1 \
	    --baseline v1 --junit $(DATA)/gate-junit.xml
	$(BIN)/scoreboard report --store $(STORE) --output $(DATA)/report.html
	rm -f examples/data/alerts.jsonl
	$(BIN)/scoreboard evaluate examples/drift.yaml $(DATA)/drift --store $(STORE) --model-version v1
	$(BIN)/scoreboard alerts --store $(STORE)
	$(BIN)/scoreboard test examples/rule-tests/drift.yaml

lint: venv
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	$(BIN)/ruff check python tests benches examples
	$(BIN)/mypy

test-rust:
	cargo test -q

test-python: build
	$(BIN)/python -m mypy.stubtest scoreboard._core
	$(BIN)/pytest

test: lint test-rust test-python

bench: build
	$(BIN)/pytest benches --benchmark-only --benchmark-columns=min,median,mean,rounds \
	    --benchmark-sort=name -p no:randomly

clean:
	rm -rf $(VENV) target $(DATA) .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
