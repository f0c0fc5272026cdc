"""The document store: MongoDB (MONGODB_URI) or the embedded montydb store by default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from resources.paths import PlatformPaths


class DocumentStore(dg.ConfigurableResource):
    """A pymongo-style database handle; `uri` None means the embedded store under `path`."""

    uri: str | None = None
    database: str = "commerce"
    path: str = "data/local/docstore"

    @classmethod
    def from_env(cls) -> DocumentStore:
        return cls(
            uri=os.environ.get("MONGODB_URI") or None,
            database=os.environ.get("MONGODB_DATABASE", "commerce"),
            path=str(PlatformPaths.from_env().docstore),
        )

    @property
    def embedded(self) -> bool:
        return not self.uri

    @contextmanager
    def get_database(self, server_selection_timeout_ms: int = 5000) -> Iterator[Any]:
        """Yield a database object with the pymongo API (collections, upserts, indexes)."""
        if self.embedded:
            from montydb import MontyClient, set_storage

            os.makedirs(self.path, exist_ok=True)
            if not os.path.exists(os.path.join(self.path, "monty.storage.cfg")):
                set_storage(self.path, storage="sqlite")
            client = MontyClient(self.path)
        else:
            from pymongo import MongoClient

            client = MongoClient(self.uri, serverSelectionTimeoutMS=server_selection_timeout_ms)
        try:
            yield client[self.database]
        finally:
            client.close()
