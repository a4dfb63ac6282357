# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo up test lint typecheck imports unit schemas clean browser screenshots

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

# Headless Chromium and CJK fonts for the browser tests (tests/e2e/test_report_pages.py,
# tests/e2e/test_console_browser.py, whose screenshots need the fonts);
# Playwright drives this browser (`playwright install` cannot download one here). Idempotent;
# as root without sudo, or with sudo; where neither works the test skips and says why.
browser:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	else echo "make browser: cannot apt-get install chromium fonts-noto-cjk (not root, no sudo)"; fi

# Retake the console screenshots in docs/screenshots/ (the README shows them).
screenshots: install browser
	DISPATCH_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_console_browser.py

unit: install
	$(BIN)/python -m pytest tests/unit

schemas: install
	$(BIN)/python -m schemas.generate

clean:
	rm -rf $(VENV) .dispatch-state .pytest_cache .mypy_cache .ruff_cache
