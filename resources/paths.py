"""The platform's data root (PLATFORM_DATA_DIR) and the folders under it."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DEFAULT_DATA_DIR = "data/local"


def data_dir_from_env() -> str:
    return os.environ.get("PLATFORM_DATA_DIR", DEFAULT_DATA_DIR)


class PlatformPaths(dg.ConfigurableResource):
    """Landing, lake, sources and document-store folders under one data root."""

    data_dir: str = DEFAULT_DATA_DIR

    @classmethod
    def from_env(cls) -> PlatformPaths:
        return cls(data_dir=data_dir_from_env())

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def _dir(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def landing(self, domain: str) -> Path:
        """`landing/<domain>/`: where files arrive."""
        return self._dir("landing", domain)

    def rejected(self, domain: str) -> Path:
        """`landing/<domain>/_rejected/`: bad files are moved here with a reason beside them."""
        return self._dir("landing", domain, "_rejected")

    def lake(self, domain: str) -> Path:
        """`lake/<domain>/`: Parquet written by the platform."""
        return self._dir("lake", domain)

    @property
    def sources(self) -> Path:
        return self._dir("sources")

    @property
    def docstore(self) -> Path:
        return self._dir("docstore")

    @property
    def warehouse(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / "warehouse.duckdb"
