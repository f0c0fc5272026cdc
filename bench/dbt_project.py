"""The dbt side of `bench.dbt_venue_totals`: its virtual environment, a minimal dbt-duckdb
project with the usual incremental model of venue daily totals, and `dbt run` timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

DBT_VENV = Path.home() / ".cache" / "commerce-platform" / "dbt-venv"
DBT_REQUIREMENTS = ("dbt-core>=1.11,<1.12", "dbt-duckdb>=1.10,<1.12")
DBT_SCHEMA = "dbt_models"

MODEL_SQL = """\
{{ config(materialized='incremental', unique_key=['venue_id', 'created_date'],
          incremental_strategy='delete+insert') }}
-- the usual pattern: the dates of the rows loaded since the last run, recomputed whole
with new_rows as (
    select created_date from {{ source('invoices', 'raw_invoices') }}
    {% if is_incremental() %}
    where loaded_at > (select max(last_loaded_at) from {{ this }})
    {% endif %}
)
select venue_id, created_date, sum(total) as total_amount, count(*) as invoice_count,
       max(loaded_at) as last_loaded_at
from {{ source('invoices', 'raw_invoices') }}
{% if is_incremental() %}
where created_date in (select distinct created_date from new_rows)
{% endif %}
group by venue_id, created_date
"""
SOURCES_YML = """\
version: 2
sources:
  - name: invoices
    schema: invoices
    tables:
      - name: raw_invoices
"""


def dbt_venv(venv: Path = DBT_VENV) -> Path:
    """The dbt virtual environment (created once, reused while the pins are unchanged);
    returns its `dbt` executable."""
    marker, dbt = venv / "requirements.txt", venv / "bin" / "dbt"
    wanted = "\n".join(DBT_REQUIREMENTS)
    if dbt.exists() and marker.exists() and marker.read_text() == wanted:
        return dbt
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *DBT_REQUIREMENTS], check=True)
    marker.write_text(wanted)
    return dbt


def write_project(folder: Path, duckdb_path: Path) -> Path:
    """A minimal dbt project (profile included) on `duckdb_path`; returns its folder."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: venue_totals\nversion: '1.0'\nconfig-version: 2\nprofile: venue_totals\n"
        "model-paths: ['models']\nflags:\n  send_anonymous_usage_stats: false\n")
    (folder / "profiles.yml").write_text(
        "venue_totals:\n  target: bench\n  outputs:\n    bench:\n      type: duckdb\n"
        f"      path: {json.dumps(str(duckdb_path))}\n      schema: {DBT_SCHEMA}\n"
        "      threads: 1\n")
    (folder / "models" / "sources.yml").write_text(SOURCES_YML)
    (folder / "models" / "venue_daily_totals.sql").write_text(MODEL_SQL)
    return folder


def run_dbt(dbt: Path, project: Path, *args: str) -> tuple[float, float]:
    """`dbt run` as a user runs it: (subprocess wall seconds, the model's SQL seconds)."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(dbt), "run", "--project-dir", str(project), "--profiles-dir", str(project), *args],
        cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    sql = sum(_seconds(t) for r in results for t in r["timing"] if t["name"] == "execute")
    return wall, sql


def _seconds(timing: dict) -> float:
    start, end = (datetime.fromisoformat(timing[k].rstrip("Z")) for k in
                  ("started_at", "completed_at"))
    return (end - start).total_seconds()
