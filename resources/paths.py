"""The platform's data root (PLATFORM_DATA_DIR), the folders under it, and where landing and
lake are (LANDING_URL, LAKE_URL: a local folder by default, `s3://bucket/prefix` on a store
reached with the `AWS_*` variables; docs/storage.md).

Paths are computed, never created here: whoever writes a file creates its folder, so
loading the definitions (or evaluating a sensor over an empty root) touches no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from resources.env import DEFAULT_DATA_DIR, resolve
from resources.lib.landing import DEFAULT_SETTLE_SECONDS, DEFAULT_SWEEP_SECONDS, LandingFolder
from resources.lib.serving import lake_root
from resources.lib.storage import Location, StoreSettings

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog


class PlatformPaths(dg.ConfigurableResource):
    """Landing, lake, sources, state and document-store folders under one data root."""

    data_dir: str = DEFAULT_DATA_DIR
    landing_settle_seconds: float = DEFAULT_SETTLE_SECONDS
    """A landed file is read only once nobody has written it for this long."""
    landing_sweep_seconds: float = DEFAULT_SWEEP_SECONDS
    """At least this often every landed file is stat'ed (a file rewritten in place is found
    by this sweep; new, removed and renamed files are found at once)."""
    landing_url: str | None = None
    """Where files land: `s3://bucket/prefix` (unset: `<data_dir>/landing`)."""
    lake_url: str | None = None
    """Where the platform writes its files: `s3://bucket/prefix` (unset: `<data_dir>/lake`)."""
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str | None = None
    aws_session_token: str | None = None
    iceberg_catalog_url: str | None = None
    """The `commerce` Iceberg catalog's database (PostgreSQL URL; unset: SQLite under
    `state/`); its tables' files are under the lake (`resources.lib.catalog`)."""

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def landing(self, folder: str) -> Path:
        """`landing/<folder>/`: where files arrive."""
        return self.root / "landing" / folder

    def store(self) -> StoreSettings:
        """The object store's settings, the `AWS_*` references resolved now."""
        return StoreSettings(*(resolve(getattr(self, f"aws_{name}")) or "" for name in (
            "endpoint_url", "access_key_id", "secret_access_key", "region", "session_token")))

    def landing_location(self, folder: str) -> Location:
        """`<landing>/<folder>/`, on this disk or on the bucket of LANDING_URL."""
        if not self.landing_url:
            return Location(self.landing(folder))
        return Location(resolve(self.landing_url), self.store()).child(folder)

    def landing_folder(self, folder: str, depth: int = 0) -> LandingFolder:
        """The landing mechanism over `landing/<folder>/` (see `resources.lib.landing`)."""
        return LandingFolder(
            self.landing(folder) if not self.landing_url else self.landing_location(folder),
            index=self.state / "landing.sqlite",
            settle_seconds=self.landing_settle_seconds,
            depth=depth,
            sweep_seconds=self.landing_sweep_seconds,
        )

    def lake_root(self) -> Location:
        """The lake: LAKE_URL's bucket prefix, or `<data_dir>/lake` on this disk."""
        return lake_root(self.root, resolve(self.lake_url), self.store())

    def lake_location(self, domain: str) -> Location:
        """`<lake>/<domain>/`: the files the platform writes for one domain."""
        return self.lake_root().child(domain)

    def catalog(self) -> SqlCatalog:
        """The `commerce` Iceberg catalog (docs/catalog.md); pyiceberg loads on first use."""
        from resources.lib.catalog import open_catalog

        return open_catalog(self.lake_root(), resolve(self.iceberg_catalog_url), self.state)

    def spark_catalog_conf(self) -> dict[str, str]:
        """The same catalog's settings for a Spark session (`commerce.<domain>.<table>` in
        Spark SQL; `resources.lib.spark_catalog`). Holds secrets: never log them."""
        from resources.lib.spark_catalog import spark_catalog_conf

        return spark_catalog_conf(self.lake_root(), resolve(self.iceberg_catalog_url),
                                  self.state)

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def docstore(self) -> Path:
        return self.root / "docstore"

    @property
    def state(self) -> Path:
        """`state/`: the platform's own bookkeeping (the landing index)."""
        return self.root / "state"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"
