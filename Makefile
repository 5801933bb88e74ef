# Tarikh: two commands on a fresh machine.
#   make run   - set up .venv and start the bot (Discord if DISCORD_TOKEN is set, else console chat)
#   make test  - set up .venv with the dev extra, lint and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint validate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

run: $(STAMP)
	$(PY) -m bot start

test: $(DEVSTAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m bot validate
	@# pytest exits 5 when it collects no tests: in this repo that means something is broken
	$(PY) -m pytest -q || { rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests" >&2; exit $$rc; }

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check .

validate: $(STAMP)
	$(PY) -m bot validate --coverage

bench: $(DEVSTAMP)
	$(PY) benchmarks/accuracy.py
	$(PY) benchmarks/heldout.py
	$(PY) benchmarks/latency.py
	$(PY) benchmarks/discord_load.py
	$(PY) benchmarks/storage.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
