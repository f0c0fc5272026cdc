"""Apache Spark through Spark Connect (SPARK_REMOTE=sc://host:port); absent means embedded.

With it set, the heavy steps of CTR, industries and late payments run on the cluster
(docs/scale.md); everything else, and everything when it is not set, runs in the step's own
process on DuckDB and Polars. The cluster reads and writes the same lake: on a bucket
(LAKE_URL=s3://...) through `s3a://` with the `AWS_*` settings given to each session
(`s3a_conf`); on a local lake `PLATFORM_DATA_DIR` must be the same path on the cluster's
machines (a shared volume). Given the platform's `paths`, every session also sees the
`commerce` Iceberg catalog: `commerce.<domain>.<table>` in Spark SQL (docs/catalog.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from resources.env import checked, redact, resolve
from resources.lib.storage import StoreSettings
from resources.paths import PlatformPaths
from resources.redaction import guarded

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession


def s3a_conf(settings: StoreSettings) -> dict[str, str]:
    """Hadoop S3A's settings for the store (session-level: Spark copies them into the
    Hadoop configuration of every read and write). Holds the secret: never logged."""
    conf = {"fs.s3a.endpoint.region": settings.region or "us-east-1"}
    if settings.endpoint_url:
        conf |= {"fs.s3a.endpoint": settings.endpoint_url,
                 "fs.s3a.path.style.access": "true",
                 "fs.s3a.connection.ssl.enabled":
                     str(settings.endpoint_url.startswith("https://")).lower()}
    if settings.access_key_id:
        conf |= {"fs.s3a.access.key": settings.access_key_id,
                 "fs.s3a.secret.key": settings.secret_access_key}
        conf["fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
    if settings.session_token:
        conf |= {"fs.s3a.session.token": settings.session_token,
                 "fs.s3a.aws.credentials.provider":
                     "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"}
    return conf


class SparkResource(dg.ConfigurableResource):
    """A Spark Connect client session; `enabled` is False without SPARK_REMOTE."""

    remote: str | None = None
    aws_endpoint_url: str | None = None
    """The object store of a lake on a bucket (the `AWS_*` variables, as `PlatformPaths`)."""
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str | None = None
    aws_session_token: str | None = None
    paths: PlatformPaths | None = None
    """The platform's data root: its `commerce` catalog is set in every session."""

    @property
    def enabled(self) -> bool:
        return bool(self.remote)

    def session(self) -> SparkSession:
        """This process' session on the cluster (created on first use: about a second)."""
        if not self.enabled:
            raise RuntimeError("Spark is not configured: set SPARK_REMOTE=sc://host:port")
        from pyspark.sql.connect.session import SparkSession

        remote = checked(self.remote, "spark", "SparkResource.remote")
        with guarded():
            session = SparkSession.builder.remote(remote).getOrCreate()
        # wall-clock columns (TIMESTAMP_NTZ) and epoch conversions must not depend on the
        # cluster's zone: the platform computes in UTC, as DuckDB does here
        session.conf.set("spark.sql.session.timeZone", "UTC")
        if self.on_store:
            with guarded():
                for key, value in s3a_conf(self.store()).items():
                    session.conf.set(key, value)
        if self.paths is not None:
            with guarded():
                for key, value in self.paths.spark_catalog_conf().items():
                    session.conf.set(key, value)
        return session

    def store(self) -> StoreSettings:
        """The object store's settings, the `AWS_*` references resolved now."""
        return StoreSettings(*(resolve(getattr(self, f"aws_{name}")) or "" for name in (
            "endpoint_url", "access_key_id", "secret_access_key", "region", "session_token")))

    @property
    def on_store(self) -> bool:
        """Whether any store setting is bound (then sessions get the S3A settings)."""
        return any(getattr(self, f"aws_{name}") for name in (
            "endpoint_url", "access_key_id", "region", "session_token"))

    def close(self) -> None:
        """Release this process' session: a client left open asks the server again at
        interpreter exit, and waits for it (with retries) when the cluster has gone."""
        if not self.enabled:
            return
        from pyspark.sql.connect.session import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def describe(self) -> str:
        """Where the cluster is, for logs and metadata (never a token)."""
        if not self.enabled:
            return "embedded (DuckDB/Polars in the step's process)"
        remote = checked(self.remote, "spark", "SparkResource.remote") or ""
        return f"Spark Connect {redact(remote.split(';')[0])}"
