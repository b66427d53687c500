# Developer entry points. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv test matrix lint demo bench clean

venv: $(VENV)/.installed

# The kernelspec lives inside the venv, so kernel tests run this checkout, not a system kernel.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test,browser]'
	$(PY) -m ipykernel install --sys-prefix --name gntp-jupyter-test --display-name "gntp_jupyter (test)"
	touch $@

test: venv
	$(PY) -m ruff check .
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The suite on every other CPython 3.10-3.13 found here, each in .venv-3.X (.ci/matrix).
matrix: venv
	.ci/matrix

lint: venv
	$(PY) -m ruff check .

demo: venv
	$(PY) -m gntp_jupyter.demo

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install -e '.[test,browser,desktop,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .venv-3.* build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
