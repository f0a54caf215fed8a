# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: install demo test lint browser serve bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU wheel lies on local disk.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	# pip compiles the dependencies' bytecode but not an editable project's: a cold `scout` would compile
	# ~50 modules from source on every run where bytecode is not written (PYTHONDONTWRITEBYTECODE).
	$(PY) -m compileall -q domain spiders nlp index service flows scout
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium and a CJK font for the browser tests (Playwright cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: /usr/bin/chromium missing (sudo apt-get install chromium); browser tests will be skipped"; fi; \
	fi

demo: $(STAMP)
	$(VENV)/bin/scout demo

test: $(STAMP) browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# The layer contract in pyproject.toml: no module imports a layer above its own.
lint: $(STAMP)
	$(VENV)/bin/lint-imports

serve: $(STAMP)
	$(VENV)/bin/scout schedule

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf var test-artifacts .pytest_cache
