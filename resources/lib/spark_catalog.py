"""The `commerce` Iceberg catalog in a Spark session: `commerce.<domain>.<table>` in Spark SQL.

The Spark cluster carries Iceberg's Spark runtime and a catalog class of the platform's
(`commerce.iceberg.SparkTableCatalog`, cli/spark_iceberg.py; docs/catalog.md, "Spark SQL on
the catalog"). These are its session settings: the same database as PyIceberg's `SqlCatalog`
(`resources.lib.catalog.catalog_uri`) as a JDBC URL, the lake as the warehouse, and on a
bucket Iceberg's S3FileIO with the store's settings. Session-level: a Spark Connect session
takes them with `conf.set` before its first use of the catalog. The catalog's database must be
reachable from the Connect server (the SQLite file: the same path on its machine).
"""

from __future__ import annotations

from pathlib import Path

from resources.lib.catalog import CATALOG, catalog_uri, jdbc_settings, table_root
from resources.lib.storage import Location

CATALOG_CLASS = "commerce.iceberg.SparkTableCatalog"


def jdbc_properties(url: str | None, state: Path) -> dict[str, str]:
    """Iceberg JdbcCatalog's `uri` (and `jdbc.user`, `jdbc.password`) for the catalog's
    database (`resources.lib.catalog.jdbc_settings`). Holds the password: never log it."""
    jdbc = jdbc_settings(catalog_uri(url, state))
    names = {"url": "uri", "user": "jdbc.user", "password": "jdbc.password"}
    return {names[k]: v for k, v in jdbc.items() if k in names}


def s3_properties(lake: Location) -> dict[str, str]:
    """Iceberg's S3FileIO on the lake's bucket (the AWS SDK of hadoop-aws); none on this
    disk (Hadoop's file system). Holds the secret: never log it."""
    if lake.is_local:
        return {}
    s = lake.settings
    props = {"io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
             "client.region": s.region or "us-east-1", "s3.path-style-access": "true",
             "s3.endpoint": s.endpoint_url, "s3.access-key-id": s.access_key_id,
             "s3.secret-access-key": s.secret_access_key, "s3.session-token": s.session_token}
    return {k: v for k, v in props.items() if v}


def spark_catalog_conf(lake: Location, url: str | None, state: Path,
                       name: str = CATALOG) -> dict[str, str]:
    """The Spark settings (`spark.sql.catalog.<name>*`) of the `commerce` catalog on the
    lake `lake` and the database ICEBERG_CATALOG_URL `url` (unset: `<state>/catalog.sqlite`,
    whose folder is made here). Holds secrets: never log them."""
    if not url:
        state.mkdir(parents=True, exist_ok=True)
    props = {"type": "jdbc", "warehouse": table_root(lake), **jdbc_properties(url, state),
             **s3_properties(lake)}
    prefix = f"spark.sql.catalog.{name}"
    return {prefix: CATALOG_CLASS, **{f"{prefix}.{k}": v for k, v in props.items()}}
