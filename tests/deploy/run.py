"""`make test-deploy`: the docker deployment, started for real and checked from outside.

A stack of its own (project commerce-deploy-test, fresh volumes, its own env file with random
passwords, host ports 13000/18000/18080, a landing folder in the cache), then:
1. an invoice file dropped into the mounted landing folder -> the venue daily totals in the
   PostgreSQL container are exactly the file's sums;
2. the daemon container restarted while a second file lands -> both files' totals, each
   invoice once, one successful run per file and no failed run;
3. the CTR API container answers /health on its published port;
4. `down`: containers gone, data volumes kept (then removed, as this stack is a test's).
Not collected by pytest (no test_ prefix); needs Docker or Podman (docs/docker.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("COMMERCE_PLATFORM_CACHE", Path.home() / ".cache/commerce-platform"))
WORK = CACHE / "deploy-test"
LANDING = WORK / "landing"
ENV = {**os.environ, "COMPOSE_ENV_FILE": str(WORK / "env"),
       "COMPOSE_PROJECT": "commerce-deploy-test"}
HEADER = "venue_id,invoice_id,datetime_created,total\n"
FILE_1 = [("V-DEPLOY-1", "2026-11-28 10:00:00", "100.50"),
          ("V-DEPLOY-1", "2026-11-28 12:00:00", "49.50"),
          ("V-DEPLOY-2", "2026-11-29 09:30:00", "10.00")]
FILE_2 = [("V-DEPLOY-1", "2026-11-28 18:00:00", "0.25"),
          ("V-DEPLOY-3", "2026-11-30 08:00:00", "7.00")]
TIMINGS: dict[str, float] = {}


def stack(*args: str, capture: bool = False) -> str:
    out = subprocess.run([sys.executable, str(ROOT / "docker/stack.py"), *args], env=ENV,
                         check=True, text=True, capture_output=capture)
    return out.stdout if capture else ""


def sql(db: str, query: str) -> str:
    user = (WORK / "env").read_text().split("POSTGRES_USER=")[1].split("\n")[0]
    return stack("compose", "exec", "-T", "postgres", "psql", "-U", user, "-d", db, "-Atc",
                 query, capture=True).strip()


def drop_invoices(name: str, rows: list[tuple[str, str, str]]) -> None:
    folder = LANDING / "invoices"
    folder.mkdir(exist_ok=True)
    os.chown(folder, 1000, 1000) if os.geteuid() == 0 else None
    tmp = folder / f".{name}.tmp"
    tmp.write_text(HEADER + "".join(
        f"{venue},{secrets.token_hex(4)}-0000-4000-8000-{secrets.token_hex(6)},{created},{total}\n"
        for venue, created, total in rows))
    tmp.rename(folder / name)


def expected_totals(*files: list[tuple[str, str, str]]) -> str:
    sums: dict[tuple[str, str], list] = {}
    for rows in files:
        for venue, created, total in rows:
            acc = sums.setdefault((venue, created[:10]), [0, 0])
            acc[0] += round(float(total) * 100)
            acc[1] += 1
    return "\n".join(f"{v}|{d}|{c // 100}.{c % 100:02d}|{n}"
                     for (v, d), (c, n) in sorted(sums.items()))


def wait_totals(expected: str, timeout: float = 300) -> float:
    start = time.monotonic()
    query = ("SELECT venue_id, created_date, total_amount, invoice_count FROM "
             "invoices.venue_daily_totals WHERE venue_id LIKE 'V-DEPLOY-%' ORDER BY 1, 2")
    got = ""
    while time.monotonic() - start < timeout:
        try:
            got = sql("invoices", query)
        except subprocess.CalledProcessError:
            got = "(table not created yet)"
        if got == expected:
            return time.monotonic() - start
        time.sleep(3)
    raise AssertionError(f"venue totals after {timeout} s:\n{got}\nexpected:\n{expected}")


def timed(name: str, fn, *args):
    start = time.monotonic()
    result = fn(*args)
    TIMINGS[name] = time.monotonic() - start
    print(f"--- {name}: {TIMINGS[name]:.0f} s", flush=True)
    return result


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    LANDING.mkdir(parents=True)
    example = (ROOT / "docker/.env.example").read_text()
    env = (example.replace("change-me-postgres", secrets.token_hex(12))
           .replace("change-me-mongo", secrets.token_hex(12))
           .replace("LANDING_DIR=../data/landing", f"LANDING_DIR={LANDING}")
           .replace("LANDING_SETTLE_SECONDS=5", "LANDING_SETTLE_SECONDS=2")
           .replace("DAGSTER_PORT=3000", "DAGSTER_PORT=13000")
           .replace("API_PORT=8000", "API_PORT=18000")
           .replace("SPARK_UI_PORT=8080", "SPARK_UI_PORT=18080")
           .replace("SPARK_WORKER_MEMORY=4g", "SPARK_WORKER_MEMORY=2g")
           .replace("SPARK_EXECUTOR_MEMORY=3g", "SPARK_EXECUTOR_MEMORY=1536m")
           .replace("SPARK_DRIVER_MEMORY=2g", "SPARK_DRIVER_MEMORY=1g"))
    (WORK / "env").write_text(env)
    stack("compose", "down", "-v")  # a previous run's containers and volumes
    timed("up (build, start, all health checks)", stack, "up")

    drop_invoices("invoices_2026-11-29.csv", FILE_1)
    TIMINGS["invoice file -> totals"] = wait_totals(expected_totals(FILE_1))
    print(f"--- invoice file -> totals: {TIMINGS['invoice file -> totals']:.0f} s", flush=True)

    stack("compose", "restart", "dagster-daemon")
    drop_invoices("invoices_2026-11-30.csv", FILE_2)
    timed("daemon restart -> healthy", stack, "wait")
    TIMINGS["second file after restart -> totals"] = wait_totals(expected_totals(FILE_1, FILE_2))
    runs = sql("dagster", "SELECT status, COUNT(*) FROM runs WHERE pipeline_name LIKE '%invoice%' "
                          "GROUP BY 1 ORDER BY 1")
    assert runs == "SUCCESS|2", f"invoice runs: {runs!r} (expected two successful, none failed)"
    assert sql("invoices", "SELECT COUNT(*) FROM invoices.file_ledger") == "2"

    port = env.split("API_PORT=")[1].split("\n")[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
        assert answer.status == 200, answer.status

    timed("down", stack, "down")
    engine = ENV.get("ENGINE") or ("docker" if subprocess.run(
        ["docker", "info"], capture_output=True).returncode == 0 else "podman")
    if engine == "podman" and not Path("/run/systemd/system").is_dir():
        ENV.setdefault("CONTAINERS_CONF", str(ROOT / "docker/local/containers.conf"))
    volumes = subprocess.run([engine, "volume", "ls", "-q"], env=ENV, capture_output=True,
                             text=True).stdout
    assert "commerce-deploy-test_postgres-data" in volumes, "down must keep the data volumes"
    stack("compose", "down", "-v")
    print("deployment test passed; timings (s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in TIMINGS.items()))


if __name__ == "__main__":
    main()
