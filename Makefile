# Two commands: `make run` (set up, then run on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench lock browser

$(BIN)/nhacviec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/nhacviec
	$(BIN)/nhacviec check
	$(BIN)/nhacviec calendar
	$(BIN)/nhacviec run

# The browser tests drive Debian's chromium and chromium-driver; a fresh machine has neither, so
# the test command installs them first (apt-get install chromium chromium-driver, as root or
# through sudo) when either is missing.
browser:
	bash .ci/install-chromium

test: $(BIN)/nhacviec browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(BIN)/nhacviec
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_dispatch.py
	$(BIN)/python bench/bench_channels.py
	$(BIN)/python bench/bench_replicas.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_agencies.py
	$(BIN)/python bench/bench_board.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_reports.py
	$(BIN)/python bench/bench_feeds.py

# requirements.lock: every runtime dependency (and the postgres extra, and the build backend) at
# the exact version the Docker image installs, with the hashes of its files. Regenerate it after
# changing a dependency in pyproject.toml, with the image's Python (3.11) and the public index.
lock:
	rm -rf $(VENV)/lock
	$(PYTHON) -m venv $(VENV)/lock
	$(VENV)/lock/bin/pip install --quiet pip-tools
	$(VENV)/lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps \
	  --extra postgres --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml
