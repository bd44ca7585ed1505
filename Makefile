# `make run` and `make test` each set up .venv first (once; again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/trainsim serve

lint: $(STAMP)
	$(VENV)/bin/ruff check simulators tests contract_tests benchmarks examples

test: lint
	$(PY) -m pytest tests contract_tests
	$(PY) -m pytest contract_tests --spawn-server

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build .trainsim
