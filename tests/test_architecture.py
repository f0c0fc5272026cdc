"""The layers point one way and every module imports on its own (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets import DOMAINS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("resources", "assets", "sensors", "api", "cli", "bench")
# package -> project packages it must never import
FORBIDDEN = {
    "resources": {"assets", "sensors", "api", "cli", "bench", "definitions"},
    "assets": {"sensors", "api", "cli", "bench", "definitions"},
    "sensors": {"api", "cli", "bench", "definitions"},
    "api": {"sensors", "cli", "bench", "definitions"},
    "cli": {"bench"},
}


def project_modules() -> list[str]:
    modules = ["definitions"]
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def imported_packages(path: Path) -> set[str]:
    """Top-level names a module imports (at any depth of the file: lazy imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_point_one_way(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) & FORBIDDEN[package]
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"{package}/ imports layers above it: {wrong}"


# Imports the third-party libraries once, then forks one child per project module: each child
# starts with no project module loaded, as a fresh interpreter would, and imports one.
_FORK_IMPORTS = r"""
import json, os, sys, traceback
import dagster, dagster_duckdb, duckdb, polars, pyarrow, fastapi  # noqa: F401 (warm, shared)
results = {}
for name in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    results[name] = os.waitstatus_to_exitcode(status)
print(json.dumps(results))
"""


def test_every_module_imports_on_its_own(tmp_path):
    modules = project_modules()
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path / "root")}
    done = subprocess.run(
        [sys.executable, "-c", _FORK_IMPORTS, json.dumps(modules)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    failed = [m for m, code in json.loads(done.stdout.splitlines()[-1]).items() if code]
    assert not failed, f"cannot be imported on their own: {failed}\n{done.stderr[-5000:]}"
    assert len(modules) > 60


@pytest.mark.parametrize("module", ["definitions", "sensors.invoices", "api.main"])
def test_entry_points_import_in_a_fresh_interpreter(module, tmp_path):
    code = f"import {module}, sys; print('dagster' in sys.modules)"
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path / "root")}
    done = subprocess.run([sys.executable, "-W", "error::ImportWarning", "-c", code],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    if module == "api.main":  # the API reads Parquet: it loads neither Dagster nor DuckDB
        assert done.stdout.strip() == "False"


def test_loading_the_definitions_touches_no_file(tmp_path):
    """No folder or database is created by loading the code location."""
    code = "import definitions; definitions.defs.get_repository_def().get_all_jobs()"
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path / "root")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "root").exists()
    assert "Warning" not in done.stderr, done.stderr  # the known notices stay quiet


def test_one_list_of_domains():
    """`assets.DOMAINS` is the list: each has its assets package, sensors module, demo
    driver, sample-data generator and tests."""
    packages = {p.name for p in (ROOT / "assets").iterdir()
                if (p / "__init__.py").exists() and p.name != "shared"}
    assert set(DOMAINS) == packages
    for domain in DOMAINS:
        for path in (f"sensors/{domain}.py", f"cli/demos/{domain}.py",
                     f"cli/generators/{domain}.py", f"tests/{domain}/__init__.py"):
            assert (ROOT / path).exists(), path
