"""The document store: MongoDB (MONGODB_URI) or the embedded montydb store by default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from resources.env import DEFAULT_DATA_DIR, checked, redact, resolve
from resources.redaction import guarded


class DocumentStore(dg.ConfigurableResource):
    """A pymongo-style database handle; `uri` None means the embedded store under `path`."""

    uri: str | None = None
    database: str = "commerce"
    path: str = f"{DEFAULT_DATA_DIR}/docstore"

    @property
    def embedded(self) -> bool:
        return not resolve(self.uri)

    def describe(self) -> str:
        """Where the documents go, safe for logs (no password)."""
        where = f"embedded montydb at {self.path}" if self.embedded else (
            f"MongoDB {redact(checked(self.uri, 'mongodb', 'DocumentStore.uri') or '')}"
        )
        return f"{where} db {self.database}"

    @contextmanager
    def get_database(self, server_selection_timeout_ms: int = 5000) -> Iterator[Any]:
        """Yield a database object with the pymongo API (collections, upserts, indexes).
        The URI is validated first; errors leave with no secret in their text (`guarded`)."""
        if self.embedded:
            from montydb import MontyClient, set_storage

            os.makedirs(self.path, exist_ok=True)
            if not os.path.exists(os.path.join(self.path, "monty.storage.cfg")):
                set_storage(self.path, storage="sqlite")
            client = MontyClient(self.path)
        else:
            from pymongo import MongoClient

            uri = checked(self.uri, "mongodb", "DocumentStore.uri")
            with guarded():
                client = MongoClient(uri, serverSelectionTimeoutMS=server_selection_timeout_ms)
        with guarded():
            try:
                yield client[self.database]
            finally:
                client.close()
