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

.PHONY: help book test notebooks lab serve clean lock lint chromium unit nbval site stability chapter loadtools
.PHONY: audit pdf node

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

loadtools:  ## make sure HAProxy and wrk are available for chapter 10 (Debian packages `haproxy`, `wrk`)
	@if command -v haproxy >/dev/null && command -v wrk >/dev/null; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing the Debian packages haproxy and wrk (chapter 10's load balancer and load test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy wrk >/dev/null; \
	else \
	  echo "Chapter 10 needs HAProxy and wrk: install the Debian packages 'haproxy' and 'wrk'"; \
	  echo "(sudo apt-get install haproxy wrk)."; exit 1; \
	fi

# Chapter 24 runs jsonwebtoken and jose; chapter 41 runs express-session, connect-redis and
# csrf-sync. Each folder pins its packages in package.json and package-lock.json.
NODE_PROJECTS := node/jwt-libraries node/express-session
node: $(foreach project,$(NODE_PROJECTS),$(project)/node_modules/.package-lock.json)  ## install the Node parts (npm ci)
node/%/node_modules/.package-lock.json: node/%/package.json node/%/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "Chapters 24 and 41 run Node.js 20: install Node.js 20 and npm"; \
	  echo "(Debian: sudo apt-get install nodejs npm), then run make again."; exit 1; }
	cd node/$* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

book: $(STAMP)  ## build the site into _build/html (zero warnings allowed)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open $(CURDIR)/$(BUILD_DIR)/html/index.html (or run: make serve)"

lint: $(STAMP)  ## ruff on the helper package, the tests and every notebook
	$(BIN)/ruff check book tests
	$(BIN)/ruff format --check book tests

unit: $(STAMP) node  ## unit tests, hostile-input corpus, property and abuse tests
	$(BIN)/pytest tests -m "not site and not pdf"

nbval: $(STAMP) chromium loadtools node  ## re-execute every notebook in _toc.yml and compare with its committed outputs
	@if [ -z "$(NOTEBOOKS)" ]; then echo "_toc.yml lists no notebook"; exit 1; fi
	$(NBVAL) $(NOTEBOOKS)

site: book  ## checks of the built site
	$(BIN)/pytest tests -m site

test: $(STAMP) chromium lint unit nbval site  ## everything CI runs

notebooks: $(STAMP) chromium loadtools node  ## re-execute notebooks in place (NB=book/x.ipynb for one) to commit their outputs
	$(BIN)/ruff format $(or $(NB),$(NOTEBOOKS))
	for nb in $(or $(NB),$(NOTEBOOKS)); do \
	  (cd "$$(dirname "$$nb")" && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	     --ExecutePreprocessor.timeout=120 "$$(basename "$$nb")"); \
	done

stability: $(STAMP) chromium  ## nbval three times, then under another time zone, locale and hash seed
	for run in 1 2 3; do echo "== nbval run $$run of 3"; $(NBVAL) -q $(NOTEBOOKS); done
	echo "== nbval with TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random"
	TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random $(NBVAL) -q $(NOTEBOOKS)

chapter: $(STAMP) chromium loadtools node  ## check one chapter: NB=book/NN_name.ipynb (lint, its tests, nbval, frame)
	@if [ -z "$(NB)" ] || [ ! -f "$(NB)" ]; then echo "usage: make chapter NB=book/NN_name.ipynb"; exit 2; fi
	$(BIN)/ruff check $(NB)
	$(BIN)/ruff format --check $(NB)
	slug=$$(basename "$(NB)" .ipynb | sed -E 's/^[0-9]+_//'); \
	tests="tests/test_chapter_frame.py tests/test_safe_to_copy.py tests/test_layers.py"; \
	if [ -f "tests/test_$$slug.py" ]; then tests="$$tests tests/test_$$slug.py"; fi; \
	$(BIN)/pytest -q $$tests
	$(NBVAL) $(NB)

LAB_STAMP := $(VENV)/.lab-installed
$(LAB_STAMP): $(STAMP) requirements-lab.txt
	$(BIN)/python -m pip install --quiet -r requirements-lab.txt -c constraints.txt
	touch $@

lab: $(LAB_STAMP)  ## JupyterLab on the book (MyST rendered), for reading and experimenting locally
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir book $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

serve: book  ## serve the built site on http://127.0.0.1:8000 (gzip, as static hosts do)
	$(BIN)/python tools/serve.py $(BUILD_DIR)/html --port 8000

tools/lighthouse/node_modules/.installed: tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $@

audit: book chromium tools/lighthouse/node_modules/.installed  ## Lighthouse on every page: _build/audit/report.md
	CHROME_PATH=$${SESSIONLAB_CHROMIUM:-/usr/bin/chromium} $(BIN)/python tools/lighthouse/audit.py

pdf: book chromium  ## the book, one handout per chapter and a student edition as PDFs in _build/pdf
	@command -v pdftotext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing the Debian package poppler-utils (the PDF's tests read it with pdftotext)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	  else echo "make pdf's tests need pdftotext: install the Debian package 'poppler-utils'"; exit 1; fi; }
	$(BIN)/python tools/pdf.py
	$(BIN)/pytest -q -m pdf tests/test_pdf.py

lock: $(LAB_STAMP)  ## rewrite constraints.txt from what is installed (book, tests and lab)
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:  ## remove the built site and caches (keeps .venv)
	rm -rf $(BUILD_DIR) .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
