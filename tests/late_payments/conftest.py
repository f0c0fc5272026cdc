"""Fixtures for the late_payments tests: a tmp data root, its resources and a CSV writer.

`materialize` runs the embedded engine (`SparkResource()` unset) unless given `spark=`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.late_payments.cdc import extract_path_assets
from assets.late_payments.extracts import EXTRACT_FILES
from resources import KafkaResource, PlatformPaths, RetailChanges, SparkResource, Warehouse

# the change stream off: what domain_defs("late_payments", ...) needs besides the extracts
CHANGES_OFF = {"kafka": KafkaResource(), "retail_changes": RetailChanges()}
REAL_EXTRACTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "retail-extracts"


@pytest.fixture
def paths(tmp_path: Path) -> PlatformPaths:
    return PlatformPaths(
        data_dir=str(tmp_path / "data"), landing_settle_seconds=0, landing_sweep_seconds=0
    )


@pytest.fixture
def warehouse(paths: PlatformPaths) -> Warehouse:
    return Warehouse(database=str(paths.warehouse))


@pytest.fixture
def landing(paths: PlatformPaths) -> Path:
    folder = paths.landing("retail")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def real_extracts(landing: Path) -> Path:
    """The real set copied into the tmp landing folder (skipped when the data is absent)."""
    if not REAL_EXTRACTS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REAL_EXTRACTS} is missing under CI")
        pytest.skip(f"real extracts not found at {REAL_EXTRACTS}")
    for name in EXTRACT_FILES:
        shutil.copy(REAL_EXTRACTS / name, landing / name)
    return landing


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.lstrip("\n"))
    return path


def materialize(
    paths: PlatformPaths, warehouse: Warehouse, spark: SparkResource | None = None, **kwargs
) -> dg.ExecuteInProcessResult:
    resources = {"paths": paths, "warehouse": warehouse, "spark": spark or SparkResource()}
    return dg.materialize(extract_path_assets(), resources=resources, **kwargs)


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}
