# One entry point for learners, instructors and CI.
#   make lab    set everything up, then open the course in JupyterLab
#   make test   set everything up, then run the whole test suite (what CI runs)
#   make full   train and ship every full model the chapters load (a GPU node; NPROC=4 for torchrun)
#   make book   the course as a static website, from the notebooks' stored outputs (out/book/html)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Cap BLAS/torch threads to the cores we have (Binder gives one; CI and laptops two or more).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_WORKERS ?= $(JOBS)
NBVAL_FLAGS := --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600

.PHONY: eval-set claims setup book-setup book browser lab test test-lib test-notebooks demo cache exercises colab notebook-audio benchmarks full binder-check clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tools/install_torch.sh lab/overrides.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	PYTHON=$(PY) tools/install_torch.sh
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) tools/install_lab_settings.py
	touch $@

# The book's tools: Sphinx and friends from PyPI (book/requirements.txt), MathJax 3 and the
# widget script from npm (book/package-lock.json), so the site builds and works offline.
$(VENV)/.book: book/requirements.txt book/package.json book/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r book/requirements.txt
	@command -v npm >/dev/null || { echo "npm is needed for the book's MathJax (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix book --no-audit --no-fund --silent
	touch $@

book-setup: $(VENV)/.book

# The stored outputs are the book (nothing is executed); warnings are errors.
BOOK_OUT ?= out/book/html
book: book-setup
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html -c book . $(BOOK_OUT)
	@echo "the book: $(BOOK_OUT)/index.html"

# The parsed corpus ships in the package (4 MB); this rebuilds it from music21 (~11 min) with
# the command that builds a learner's cache, pointed at the package's folder (data/corpus/).
cache: $(VENV)/.installed
	COURSE_LIB_CACHE=$(CURDIR)/course_lib/data $(VENV)/bin/course-lib corpus --build

lab: setup
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The studio's browser test drives Debian's Chromium: install it when it is missing and we
# may (root, or sudo without a password); otherwise the test says what to install and skips.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt=apt-get; elif sudo -n true 2>/dev/null; then apt="sudo -n apt-get"; fi; \
	  if [ -n "$$apt" ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $$apt install -y -q chromium >/dev/null || { $$apt update -q >/dev/null && $$apt install -y -q chromium >/dev/null; }; \
	  else echo "note: chromium is missing and cannot be installed here; run: sudo apt-get install chromium"; fi; }

# Every full model the chapters load, one after the other (resumable: run it again to go on).
NPROC ?= 1
full: setup
	$(VENV)/bin/course-lib train-all --profile full --nproc $(NPROC)

# Every notebook on one core, as on Binder: wall time and peak memory → benchmarks/RESULTS.md.
binder-check: setup
	$(PY) tools/binder_check.py

demo: setup
	$(VENV)/bin/course-lib demo --out out/demo

# Run the notebooks again and store their players as MP3 (every other stored output is kept).
notebook-audio: $(VENV)/.installed
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) tools/notebook_audio.py notebooks/*.ipynb

# The named held-out evaluation set every chapter scores on (rebuild only with a new name).
eval-set: $(VENV)/.installed
	$(PY) tools/build_eval_set.py

# The claims ledger (docs/claims.md) from the notebooks' stored outputs.
claims: $(VENV)/.installed
	$(PY) tools/claims_ledger.py

exercises: $(VENV)/.installed
	$(PY) tools/make_exercises.py

# Every notebook's "Open in Colab" link and install cell, from pyproject's repository URL and
# course_lib.__version__ (then the exercises, which copy them from the solutions).
colab: $(VENV)/.installed
	$(PY) tools/colab.py
	$(PY) tools/make_exercises.py

# One BLAS/torch thread per test worker: two workers with two threads each on two cores
# oversubscribe the CPU and slow torch down by an order of magnitude.
test: setup browser book-setup
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
