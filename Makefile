# `make run`: set up a venv and run the default benchmark (digits, no download); SPEC=NAME|PATH for another.
# `make test`: set up a venv and run lint, format check and the test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SPEC ?=

.PHONY: setup run test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg setup.py pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c .ci/constraints.txt -e '.[test]'
	touch $@

run: setup
	$(BIN)/harness run $(SPEC)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist *.egg-info
