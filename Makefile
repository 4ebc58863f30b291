# The two commands a reader needs: `make book` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILD_DIR := _build
SANITIZE := tests/nbval_sanitize.cfg
NOTEBOOKS = $(shell $(BIN)/python tests/toc.py notebooks)
NBVAL := $(BIN)/pytest -p nbval_checks --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE)

.PHONY: help book test notebooks lab serve clean lock lint chromium unit nbval site stability
.PHONY: audit pdf

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

chromium:  ## make sure a Chromium is available for the browser chapters (Debian package `chromium`)
	@if [ -n "$${SESSIONLAB_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing the Debian package chromium (browser chapters)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "The browser chapters need Chromium: install the Debian package 'chromium' (sudo apt-get install chromium)"; \
	  echo "or point SESSIONLAB_CHROMIUM at a Chromium or Chrome executable."; exit 1; \
	fi

book: $(STAMP)  ## build the site into _build/html (zero warnings allowed)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open $(CURDIR)/$(BUILD_DIR)/html/index.html (or run: make serve)"

lint: $(STAMP)  ## ruff on the helper package, the tests and every notebook
	$(BIN)/ruff check book tests
	$(BIN)/ruff format --check book tests

unit: $(STAMP)  ## unit tests, hostile-input corpus, property and abuse tests
	$(BIN)/pytest tests -m "not site"

nbval: $(STAMP) chromium  ## re-execute every notebook in _toc.yml and compare with its committed outputs
	@if [ -z "$(NOTEBOOKS)" ]; then echo "_toc.yml lists no notebook"; exit 1; fi
	$(NBVAL) $(NOTEBOOKS)

site: book  ## checks of the built site
	$(BIN)/pytest tests -m site

test: $(STAMP) chromium lint unit nbval site  ## everything CI runs

notebooks: $(STAMP) chromium  ## re-execute notebooks in place (NB=book/x.ipynb for one) to commit their outputs
	$(BIN)/ruff format $(or $(NB),$(NOTEBOOKS))
	for nb in $(or $(NB),$(NOTEBOOKS)); do \
	  (cd "$$(dirname "$$nb")" && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	     --ExecutePreprocessor.timeout=120 "$$(basename "$$nb")"); \
	done

stability: $(STAMP) chromium  ## nbval three times, then under another time zone, locale and hash seed
	for run in 1 2 3; do echo "== nbval run $$run of 3"; $(NBVAL) -q $(NOTEBOOKS); done
	echo "== nbval with TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random"
	TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random $(NBVAL) -q $(NOTEBOOKS)

lab: $(STAMP) chromium  ## JupyterLab on the book, for reading and experimenting locally
	$(BIN)/python -m pip install --quiet jupyterlab==4.5.0
	$(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir book

serve: book  ## serve the built site on http://127.0.0.1:8000 (gzip, as static hosts do)
	$(BIN)/python tools/serve.py $(BUILD_DIR)/html --port 8000

tools/lighthouse/node_modules/.installed: tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@

audit: book chromium tools/lighthouse/node_modules/.installed  ## Lighthouse on every page: _build/audit/report.md
	CHROME_PATH=$${SESSIONLAB_CHROMIUM:-/usr/bin/chromium} $(BIN)/python tools/lighthouse/audit.py

pdf: $(STAMP) chromium  ## the whole book as one PDF: _build/pdf/sessions-not-jwt.pdf
	$(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going
	$(BIN)/python tools/pdf.py

lock: $(STAMP)  ## rewrite constraints.txt from what is installed
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^jupyterlab' > constraints.txt

clean:  ## remove the built site and caches (keeps .venv)
	rm -rf $(BUILD_DIR) .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
