# The two set-up commands of the README live here: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIZE ?= 100000

.PHONY: demo test lint bench venv chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# installed once, and again when pyproject.toml changes (the install is editable: code changes need none)
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/clearway demo --size $(SIZE)

# The browser tests drive Debian's Chromium; install it where it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: $(BIN)/python chromium
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed  # the package is installed with its test extras: `make demo` need not again
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: venv
	$(BIN)/python -m bench intake
