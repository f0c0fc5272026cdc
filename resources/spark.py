"""Apache Spark through Spark Connect (SPARK_REMOTE=sc://host:port); absent means embedded.

With it set, the heavy steps of CTR, industries and late payments run on the cluster
(docs/scale.md); everything else, and everything when it is not set, runs in the step's own
process on DuckDB and Polars. The cluster reads and writes the same lake (`PLATFORM_DATA_DIR`
must be the same path on the cluster's machines: a shared volume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from resources.env import checked, redact
from resources.redaction import guarded

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession


class SparkResource(dg.ConfigurableResource):
    """A Spark Connect client session; `enabled` is False without SPARK_REMOTE."""

    remote: str | None = None

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
        return session

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
