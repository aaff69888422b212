# Two entry points (see README): `make book` and `make test`. Both create .venv/ and install
# what they need from requirements.txt on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test pagecheck venv clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Build the book at the `book` profile (executes the notebooks on CPU) -> _build/html/index.html
# Executed notebooks are cached in $(CACHE) (_config.yml): a second build re-executes only the
# chapters whose code changed. The cache knows the notebooks' code only, so it is dropped when
# anything the notebooks import or load changes (the package, its artifacts, the benchmarks,
# _config.yml); `make clean` drops it too, and a clean build executes every chapter.
CACHE      := _build/.jupyter_cache
CACHE_DEPS := $(shell find holstein benchmarks -type f -not -name '*.pyc' 2>/dev/null) _config.yml

_build/.cache-deps: $(CACHE_DEPS)
	rm -rf $(CACHE)
	mkdir -p _build && touch $@

book: $(STAMP) _build/.cache-deps
	HOLSTEIN_PROFILE=book $(BIN)/jupyter-book build . --warningiserror --keep-going

# All tests: pytest on the package plus nbval on every notebook, at the small `ci` profile
test: $(STAMP)
	HOLSTEIN_PROFILE=ci MPLBACKEND=Agg $(BIN)/python -m pytest tests book --nbval-lax \
		--nbval-sanitize-with book/nbval_sanitize.cfg -p no:cacheprovider -q

# Page checks of the built book in headless Chromium (from Debian's packages, installed on first use
# as root): no element wider than the column, no stderr or traceback, no machine paths, no figure
# under 500 px alone in its row, a figure or prose on every first screen (pagechecks/checks.py)
pagecheck: book
	$(BIN)/python -m pytest pagechecks -q -p no:cacheprovider

clean:
	rm -rf _build
