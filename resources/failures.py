"""Errors that retrying a step within seconds cannot fix fail the step at once.

A step's `RETRY` policy (assets/shared/conventions.py) retries any exception over ~45 s,
which is right for a server that restarts. A full disk is not freed by waiting a minute:
such an error becomes a `dg.Failure(allow_retries=False)` naming the path (the only kind
of error Dagster does not retry), the run fails at once, and the sensors ask for it again
with a backoff of minutes once someone may have freed space (`sensors/reask.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from resources.lib.files import NoSpace, named_when_full


@contextmanager
def full_disk_fails_at_once(path: str | os.PathLike[str], doing: str) -> Iterator[None]:
    """A full disk inside the block (at `path`, or any write naming its own path) fails
    the step at once, naming the path; any other error passes unchanged."""
    try:
        with named_when_full(path, doing):
            yield
    except NoSpace as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
