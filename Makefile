# The two set-up commands of the README:
#   make build   installs everything and builds all outputs of entries/ into output/
#   make test    installs everything and runs the test suite
# And, in CI after the tests:
#   make conformance  renders every dossier and the book (both paths) in every
#                     PDF variant into a temporary folder and checks them with
#                     veraPDF (Java 17+; VERAPDF, else ../shared/tools/verapdf);
#                     fails naming each failed rule and file
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: build test conformance install bench clean

build: install
	$(BIN)/printshop build

test: install
	@PYTHON=$(PYTHON) sh scripts/system-deps.sh --test
	$(BIN)/python -m pytest

conformance: install
	$(BIN)/python scripts/conformance.py

bench: install
	$(BIN)/python benchmarks/bench_dossier.py
	$(BIN)/python benchmarks/bench_cards.py
	$(BIN)/python benchmarks/bench_book.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_serve.py
	$(BIN)/python benchmarks/bench_tagging.py
	$(BIN)/python benchmarks/bench_tree_memory.py

install: $(STAMP)

$(STAMP):
	@PYTHON=$(PYTHON) sh scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) output/dossiers output/cards
