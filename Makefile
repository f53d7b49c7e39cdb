# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo venv pytest browser typecheck lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: venv
	$(MAKE) pytest typecheck lint

pytest: venv browser
	$(PY) -m pytest

# The browser test (tests/e2e) drives Debian's chromium through Playwright.
# As root, install it when missing; otherwise that test skips, saying why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -q && apt-get install -y -q chromium chromium-driver; } || \
		echo "chromium missing and not root: the browser test will skip"

typecheck: venv
	$(VENV)/bin/mypy src examples tests/typing

lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/lint-imports

demo: venv
	$(PY) -m examples.demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
