# One entry point for learners, instructors and CI.
#   make lab    set everything up, then open the course in JupyterLab
#   make test   set everything up, then run the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Cap BLAS/torch threads to the cores we have (Binder gives one; CI and laptops two or more).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_WORKERS ?= $(JOBS)
NBVAL_FLAGS := --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600

.PHONY: setup lab test test-lib test-notebooks demo cache exercises benchmarks clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tools/install_torch.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	PYTHON=$(PY) tools/install_torch.sh
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The parsed corpus ships in the package (4 MB); this rebuilds it from music21 (~11 min).
cache: $(VENV)/.installed
	$(PY) tools/build_shipped_corpus.py

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

demo: setup
	$(VENV)/bin/course-lib demo --out out/demo

exercises: $(VENV)/.installed
	$(PY) tools/make_exercises.py

# One BLAS/torch thread per test worker: two workers with two threads each on two cores
# oversubscribe the CPU and slow torch down by an order of magnitude.
test: setup
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile tests notebooks solutions $(NBVAL_FLAGS)

test-lib: setup
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(PYTEST_WORKERS) tests

test-notebooks: setup
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile notebooks solutions $(NBVAL_FLAGS)

benchmarks: setup
	$(PY) benchmarks/encoding.py
	$(PY) benchmarks/controls.py
	$(PY) benchmarks/search.py
	$(PY) benchmarks/retrieval.py
	$(PY) benchmarks/attention.py

clean:
	rm -rf out .pytest_cache
