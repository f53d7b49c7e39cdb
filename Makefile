# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo venv pytest browser services typecheck lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: venv
	$(MAKE) pytest typecheck lint

pytest: venv browser services
	$(PY) -m pytest

# The browser test (tests/e2e) drives Debian's chromium through Playwright.
# As root, install it when missing; otherwise that test skips, saying why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -q && apt-get install -y -q chromium chromium-driver; } || \
		echo "chromium missing and not root: the browser test will skip"

# The RedisChannel tests start Debian's redis-server themselves (127.0.0.1, a
# free port, no persistence); it only has to be installed, not running.
# As root, install it when missing; otherwise those tests skip, saying why.
services:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -q && apt-get install -y -q redis-server; } || \
		echo "redis-server missing and not root: the Redis tests will skip"

typecheck: venv
	$(VENV)/bin/mypy src examples tests/typing

lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/lint-imports

demo: venv
	$(PY) -m examples.demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
