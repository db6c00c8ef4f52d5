# Two commands: `make run` (set up, then run on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench

$(BIN)/nhacviec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/nhacviec
	$(BIN)/nhacviec check
	$(BIN)/nhacviec calendar
	$(BIN)/nhacviec run

test: $(BIN)/nhacviec
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

bench: $(BIN)/nhacviec
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_dispatch.py
	$(BIN)/python bench/bench_channels.py
	$(BIN)/python bench/bench_replicas.py
	$(BIN)/python bench/bench_import.py
