# Two entry points (see README): `make book` and `make test`. Both create .venv/ and install
# what they need from requirements.txt on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Build the book at the `book` profile (executes every notebook on CPU) -> _build/html/index.html
book: $(STAMP)
	HOLSTEIN_PROFILE=book $(BIN)/jupyter-book build . --warningiserror --keep-going

# All tests: pytest on the package plus nbval on every notebook, at the small `ci` profile
test: $(STAMP)
	HOLSTEIN_PROFILE=ci MPLBACKEND=Agg $(BIN)/python -m pytest tests book --nbval-lax \
		--nbval-sanitize-with book/nbval_sanitize.cfg -p no:cacheprovider -q

clean:
	rm -rf _build
