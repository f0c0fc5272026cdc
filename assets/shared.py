"""Helpers every domain uses: content hashes of landed files, Markdown tables for metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes: what sensors' run keys and ledgers name."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("\n", " ").replace("|", "/")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A small Markdown table for an asset's preview metadata."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
