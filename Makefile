# Two commands on a fresh machine: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install bench

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The token secret is made once and kept out of git, so tokens stay valid across restarts.
.glu-secret:
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

run: install .glu-secret
	@bash scripts/run.sh

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

# Benchmarks (not part of `make test`): national-scale data in fresh PostgreSQL databases at
# 127.0.0.1:5432, wrk against gunicorn, results in bench/RESULTS.md. Four steps, each under 10 minutes.
$(BIN)/.bench-installed: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: install $(BIN)/.bench-installed
	$(BIN)/python -m bench.run generate
	$(BIN)/python -m bench.run scaling
	$(BIN)/python -m bench.run endpoints
	$(BIN)/python -m bench.run report
