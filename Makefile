# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo venv pytest typecheck lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: venv
	$(MAKE) pytest typecheck lint

pytest: venv
	$(PY) -m pytest

typecheck: venv
	$(VENV)/bin/mypy src examples tests/typing

lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/lint-imports

demo: venv
	$(PY) -m examples.demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
