"""Seconds from the last file landing to the right answer, with the platform running:
`python -m bench.freshness [--only NAME ...]`.

The platform runs as `make run` starts it (dagster-daemon, dagster-webserver, the CTR API) on
a temporary DAGSTER_HOME (the repository's dagster.yaml) and data root, with the embedded
defaults (no server URL from the environment). Each scenario (`bench/freshness_scenarios.py`)
builds its files with the `cli.generators` at a stated scale; its right answer is computed
first, by the same pipeline drained to quiet on a copy, in a process of its own. Then its
files land in the platform's `landing/` (a hidden temporary name, then a rename, as a sync
tool lands a file; the late order is appended in place, as a stream producer writes). The
clock starts when the last file has landed and stops when the contract tables (for CTR, the
API's answer) equal the right answer; polled every 0.5 s, read-only. Also counted: the runs
the platform launched for the scenario's domain. Prints a Markdown table (README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import httpx

from assets.shared import md_table
from bench.freshness_scenarios import CTR_DAY, SCENARIOS, Scenario, answer_of

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5
SERVER_SETTINGS = ("_DB_URL", "MONGODB_", "KAFKA_", "SPARK_", "DAGSTER_", "ORDERS_TOPIC")


@dataclass
class Platform:
    home: Path
    data: Path
    api: str
    procs: list[subprocess.Popen]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


def embedded_env(**extra: str) -> dict[str, str]:
    """This environment without any server setting: every resource on its embedded default."""
    env = {k: v for k, v in os.environ.items() if not any(s in k for s in SERVER_SETTINGS)}
    return {**env, **extra}


def start_platform(tmp: Path, **settings: str) -> Platform:
    """dagster-daemon + dagster-webserver + the API, as `make run` starts them; `settings`:
    server variables on top of the embedded defaults (the CDC scenario's Kafka)."""
    home, data = tmp / "home", tmp / "data"
    home.mkdir()
    data.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = embedded_env(DAGSTER_HOME=str(home), PLATFORM_DATA_DIR=str(data), **settings)
    bin_dir = Path(sys.executable).parent
    log = (tmp / "platform.log").open("w")
    commands = [
        [str(bin_dir / "dagster-daemon"), "run", "-m", "definitions"],
        [str(bin_dir / "dagster-webserver"), "-m", "definitions", "-h", "127.0.0.1", "-p", "3917"],
        [str(bin_dir / "uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", "8917"],
    ]
    procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
             for c in commands]
    platform = Platform(home, data, "http://127.0.0.1:8917", procs)
    wait_for(lambda: _up("http://127.0.0.1:3917/server_info") and _up(f"{platform.api}/health"),
             180, "the platform to start")
    time.sleep(15)  # the daemon's first loops (sensors, queue) once the code location loaded
    return platform


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` until true; the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def expected_answer(scenario: Scenario, built: Path, tmp: Path) -> list:
    """The scenario's right answer: its built root drained on a copy, in its own process."""
    root = tmp / "expected" / scenario.name.replace(" ", "_")
    shutil.copytree(built, root)
    out = subprocess.run(
        [sys.executable, "-m", "bench.freshness_scenarios", str(root), scenario.name],
        cwd=ROOT, env=embedded_env(), check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def platform_answer(platform: Platform, scenario: Scenario) -> list | None:
    """What the platform answers now; None while a run holds the warehouse's write lock."""
    if not scenario.tables:
        response = httpx.get(f"{platform.api}/ctr", params=CTR_DAY, timeout=30)
        return response.json() if response.status_code == 200 else None
    try:
        return answer_of(platform.data, scenario.tables)
    except (duckdb.IOException, duckdb.CatalogException):
        return None


def domain_runs(instance: dg.DagsterInstance, domain: str, since: float) -> int:
    """Runs created after `since` for `domain` (its jobs, or assets of its group)."""
    records = instance.get_run_records(dg.RunsFilter(created_after=_utc(since)))
    return sum(1 for r in records if r.dagster_run.job_name.startswith(domain) or any(
        key.path[0] == domain for key in r.dagster_run.asset_selection or ()))


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


def idle(instance: dg.DagsterInstance) -> bool:
    busy = dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
                                   dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.NOT_STARTED])
    return not instance.get_runs(filters=busy)


def measure(platform: Platform, scenario: Scenario, built: Path, expected: list) -> tuple:
    """(seconds from the last file landing to the right answer, runs launched)."""
    sources = built / "sources"
    if sources.exists():  # the source databases are there before any file lands
        shutil.copytree(sources, platform.data / "sources", dirs_exist_ok=True)
    instance = platform.instance()
    wall = time.time()
    scenario.land(built, platform.data)
    landed = time.monotonic()
    wait_for(lambda: platform_answer(platform, scenario) == expected, scenario.target * 8,
             f"the right answer of {scenario.name}")
    seconds = time.monotonic() - landed
    wait_for(lambda: idle(instance), 600, "the platform to be idle")
    time.sleep(3 * 5)  # sensors' next ticks: a run launched late still counts
    wait_for(lambda: idle(instance), 600, "the platform to be idle")
    return seconds, domain_runs(instance, scenario.domain, wall - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("stream", nargs="?", choices=["cdc"],
                        help="cdc: the change-stream scenarios alone (bench/freshness_cdc.py)")
    args = parser.parse_args()
    if args.stream == "cdc":
        from bench.freshness_cdc import main as cdc_main

        return cdc_main()
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        expected = {}
        for scenario in chosen:
            built = tmp_path / "built" / scenario.name.replace(" ", "_")
            scenario.build(built)
            expected[scenario.name] = (built, expected_answer(scenario, built, tmp_path))
            print(f"{scenario.name}: right answer computed", flush=True)
        platform = start_platform(tmp_path)
        try:
            for scenario in chosen:
                built, answer = expected[scenario.name]
                seconds, runs = measure(platform, scenario, built, answer)
                rows.append((scenario.name, scenario.input, f"{seconds:.1f}",
                             f"<= {scenario.target}", runs))
                print(f"{scenario.name}: {seconds:.1f} s, {runs} runs", flush=True)
        finally:
            for proc in platform.procs:
                proc.terminate()
            for proc in platform.procs:
                proc.wait(timeout=60)
    print(md_table(["scenario", "input", "seconds to the right answer", "target",
                    "runs launched"], rows))


if __name__ == "__main__":
    main()
