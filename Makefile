# Two commands on a fresh clone: `make demo` and `make test` (each sets up .venv itself).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PLATFORM_DATA_DIR ?= $(CURDIR)/data/local
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: venv home demo test run up down test-deploy lint bench clean spark-up spark-down \
	trino-up trino-down notebook retail-db-seed

# setuptools warns on every editable install that a folder named like a package may shadow
# it: here the folders ARE the packages
$(VENV)/.installed: export PYTHONWARNINGS = ignore::Warning:setuptools.command.editable_wheel
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed

demo: venv home
	$(PY) -m cli.demo

test: venv
	$(PY) -m pytest -q --durations=15

lint: venv
	$(VENV)/bin/ruff check .

# JupyterLab (the `notebook` extra) on docs/commerce.ipynb, on 127.0.0.1 only, reading the
# catalog of PLATFORM_DATA_DIR (`make demo` first); its kernel is this .venv's python
$(VENV)/.notebook: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test,notebook]'
	$(PY) -m ipykernel install --sys-prefix --name commerce-platform \
	  --display-name "Python (commerce-platform .venv)"
	@touch $@

notebook: $(VENV)/.notebook
	@echo "Notebook on the catalog of $(PLATFORM_DATA_DIR) (docs/sql.md: the same in Trino SQL)"
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser \
	  $(if $(filter 0,$(shell id -u)),--allow-root) docs/commerce.ipynb

# DAGSTER_HOME with the platform's instance settings; `make demo` and `make run` share it
home:
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@if [ -n "$$DAGSTER_PG_URL" ]; then \
	  printf 'storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n' \
	    >> $(DAGSTER_HOME)/dagster.yaml; echo "Dagster storage: PostgreSQL (DAGSTER_PG_URL)"; fi

run: venv home
	@echo "Page (CTR, industries, venue totals, late payments, insights): http://127.0.0.1:8000/app"
	@echo "API docs: http://127.0.0.1:8000/docs and /redoc   Dagster UI: http://127.0.0.1:3000"
	$(VENV)/bin/uvicorn api.main:app --host 127.0.0.1 --port 8000 & api=$$!; \
	$(VENV)/bin/dagster-daemon run -m definitions & daemon=$$!; \
	trap 'kill $$api $$daemon 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/dagster-webserver -m definitions -h 127.0.0.1 -p 3000

# A local Spark cluster (standalone master + worker + Spark Connect, from the pyspark
# package's jars plus Delta Lake and the Kafka source); prints the SPARK_REMOTE to export
spark-up: venv
	$(PY) -m cli.spark_cluster up

spark-down: venv
	$(PY) -m cli.spark_cluster down

# Trino 476 on the platform's `commerce` Iceberg catalog (docs/sql.md): installs it once
# (Maven Central, ~35 s, cached), starts it detached, prints TRINO_URL; trino-down stops it
trino-up: venv
	$(PY) -m tests.servers.tooling install trino
	$(PY) -m cli.trino up

trino-down: venv
	$(PY) -m cli.trino down

# The whole platform in containers (docs/docker.md): Docker, or Podman where there is no
# Docker engine; official images, or (IMAGES=local, or no registry reachable) the
# third-party servers built here (docker/compose.local.yml). Waits for every health check,
# prints the URLs. `make down` stops it and keeps the data volumes.
up:
	python3 docker/stack.py up

down:
	python3 docker/stack.py down

# Deployment test: builds and starts a separate stack (project commerce-deploy-test, its own
# ports and env file), drops files, produces orders, checks the answers, restarts the
# daemon, then stops it (tests/deploy/, docs/docker.md). Not part of `make test`.
# The host lands files in the stack's bucket with the repository's storage layer (.venv).
test-deploy: venv
	$(PY) tests/deploy/run.py

# The retail point-of-sale database of RETAIL_DB_URL (postgresql://, mysql:// or mariadb://;
# docs/cdc.md): its four tables made anew and loaded from the real extracts
RETAIL_EXTRACTS ?= $(CURDIR)/../shared/data/retail-extracts
retail-db-seed: venv
	$(PY) -m cli.retail_db seed --extracts $(RETAIL_EXTRACTS) --replace

clean:
	rm -rf data/local .dagster_home
