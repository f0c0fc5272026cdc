"""The one code location: for every domain, its assets (`assets/<domain>/`) and its sensors,
schedules and jobs (`sensors/<domain>.py`); the resources bound once, here."""

from __future__ import annotations

import importlib
from typing import Any

import dagster as dg

from assets import DOMAINS, domain_assets
from resources import build_resources
from resources.bindings import bind


def domain_defs(domain: str, resources: dict[str, Any] | None = None) -> dg.Definitions:
    """One domain's definitions, with `resources` bound when given (tests bind their own),
    as the code location binds them: fixed, no resource config at launch (`bind`)."""
    return dg.Definitions.merge(
        dg.Definitions(assets=domain_assets(domain)),
        importlib.import_module(f"sensors.{domain}").defs,
        dg.Definitions(resources=bind(resources) if resources else None),
    )


# Steps run in the run's own process, one after another: a step here is seconds of DuckDB
# work behind the one-writer `warehouse` pool, so a subprocess per step (the default
# executor, ~2 s of Python start-up each) only added latency. Retries and pools still apply.
defs = dg.Definitions.merge(
    *(domain_defs(domain) for domain in DOMAINS),
    importlib.import_module("sensors.catalog").defs,  # the catalog's upkeep, every domain's
    dg.Definitions(resources=bind(build_resources()), executor=dg.in_process_executor),
)
