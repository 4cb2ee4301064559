# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
# The environment is built once from the lock file; later calls reuse it. Bytecode is compiled at
# install time: with PYTHONDONTWRITEBYTECODE set (as on these machines) every process would
# otherwise recompile thousands of modules (about 7 s per `sovereignty` or `dbt` start).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
export SOVEREIGNTY_HOME ?= $(CURDIR)/data

MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := dbt_project/dbt_project.yml $(shell find dbt_project/models dbt_project/seeds dbt_project/macros dbt_project/tests -type f 2>/dev/null)

.PHONY: run test lint bench bench-disclosure lock clean-home browser ui docs

$(INSTALLED): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(INSTALLED)

# The dbt manifest is built here, once per change of the dbt project, not at every Dagster load.
$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	$(BIN)/python -m pipelines.transformation.dbt_command parse --quiet
	touch $(MANIFEST)

# The demo reports are written once per home; a second `make run` ingests nothing new.
$(SOVEREIGNTY_HOME)/demo/manifest.json: | $(INSTALLED)
	$(BIN)/sovereignty demo --scale small --seed 42

run: $(INSTALLED) $(MANIFEST) $(SOVEREIGNTY_HOME)/demo/manifest.json
	$(BIN)/sovereignty run

# The tests run in TEST_PROCESSES processes (pytest-xdist), a test module's tests in one of them
# so that its fixtures are made once; most tests spend their time in one core's work.
TEST_PROCESSES ?= 2
test: lint $(INSTALLED) $(MANIFEST) browser
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadscope

# Hygiene, configured in pyproject.toml and .sqlfluff: ruff (lint and import order) and mypy on the
# Python code, sqlfluff with the dbt templater on the models (its profile is the home's, written
# by dbt_command like every dbt start). Part of `make test`, so CI fails on them.
lint: $(INSTALLED) $(MANIFEST)
	$(BIN)/ruff check pipelines demo benchmarks dbt_project/models
	$(BIN)/mypy
	@# any dbt start writes the home's profile, which sqlfluff's dbt templater reads
	$(BIN)/python -m pipelines.transformation.dbt_command --version >/dev/null
	DBT_PROFILES_DIR=$(SOVEREIGNTY_HOME)/dbt $(BIN)/sqlfluff lint dbt_project/models --processes 2

# The Dagster UI and daemon on this home's instance ($(SOVEREIGNTY_HOME)/dagster, where
# `sovereignty run` records its runs), on http://127.0.0.1:3000 (UI_PORT=3001 make ui for another).
ui: $(INSTALLED) $(MANIFEST)
	$(BIN)/python -m pipelines.command_line.ui $(if $(UI_PORT),--port $(UI_PORT))

# dbt's documentation site of the marts, generated on this home's warehouse into
# $(SOVEREIGNTY_HOME)/dbt/docs/ (static_index.html opens from disk, no server needed).
docs: $(INSTALLED) $(MANIFEST)
	$(BIN)/python -m pipelines.transformation.dbt_command docs generate --static --target-path $(SOVEREIGNTY_HOME)/dbt/docs

# The national-scale benchmark: full run and incremental quarter against the parse and transform
# floors, plus the plain DuckDB baseline (benchmarks/README.md); prints a table and writes
# benchmarks/results/<date>.json.
bench: $(INSTALLED) $(MANIFEST)
	$(BIN)/python benchmarks/bench.py

# Information lost to disclosure control on the small and national demos, whole-unit method versus
# optimisation (benchmarks/README.md); writes benchmarks/results/disclosure-<date>.json.
bench-disclosure: $(INSTALLED) $(MANIFEST)
	$(BIN)/python benchmarks/disclosure.py

# The report test renders report.html in headless Chromium (Debian's package; installed when root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed (apt-get install chromium): the report rendering test will be skipped"

# Regenerate requirements.lock after changing dependencies in pyproject.toml.
lock: $(INSTALLED)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes --quiet -o requirements.lock

clean-home:
	rm -rf $(SOVEREIGNTY_HOME)/inbox $(SOVEREIGNTY_HOME)/processed $(SOVEREIGNTY_HOME)/rejected \
	       $(SOVEREIGNTY_HOME)/published $(SOVEREIGNTY_HOME)/demo $(SOVEREIGNTY_HOME)/dagster \
	       $(SOVEREIGNTY_HOME)/warehouse.duckdb*
