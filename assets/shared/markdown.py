"""Small Markdown tables for asset metadata (previews, per-file and per-partition figures)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("\n", " ").replace("|", "/")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A small Markdown table for an asset's preview metadata."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def md(text: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(text)
