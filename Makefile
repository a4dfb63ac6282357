# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo up test lint typecheck imports unit schemas clean browser

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

test: lint typecheck imports browser
	$(BIN)/python -m pytest

# The console's browser tests drive Debian's Chromium (tests/e2e/test_console_browser.py), with
# CJK fonts for the screenshots. Installed once, as root; where that cannot be, the tests skip.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -q "Noto Sans CJK"; then \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk) \
		|| echo "make browser: could not install chromium and fonts-noto-cjk (root and apt needed); the browser tests will skip"; \
	fi

unit: install
	$(BIN)/python -m pytest tests/unit

schemas: install
	$(BIN)/python -m schemas.generate

clean:
	rm -rf $(VENV) .dispatch-state .pytest_cache .mypy_cache .ruff_cache
