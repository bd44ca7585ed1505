# `make run` and `make test` each set up .venv first (once; again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean bytecode

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# bytecode for the package, as pip writes it for installed (non-editable) packages; an editable install does
# not, and with PYTHONDONTWRITEBYTECODE set every start compiles every module again (~0.3 s of cold start).
# compileall rewrites only what changed.
bytecode: $(STAMP)
	$(PY) -m compileall -q simulators > /dev/null

run: bytecode
	$(VENV)/bin/trainsim serve

lint: $(STAMP)
	$(VENV)/bin/ruff check simulators tests contract_tests benchmarks examples

test: lint bytecode
	$(PY) -m pytest tests contract_tests
	$(PY) -m pytest contract_tests --spawn-server

bench: bytecode
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build .trainsim
