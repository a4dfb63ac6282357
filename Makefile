# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo up test lint typecheck imports unit schemas clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/dispatch demo

up: install
	$(BIN)/dispatch up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy dispatch services schemas

imports: install
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

schemas: install
	$(BIN)/python -m schemas.generate

clean:
	rm -rf $(VENV) .dispatch-state .pytest_cache .mypy_cache .ruff_cache
