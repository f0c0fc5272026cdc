"""Software-defined assets: one package per domain (its logic and its assets), and `shared`,
the conventions every domain follows (asset keys, the warehouse pool, the retry policy,
metadata tables). Assets never import `sensors/`, `api/` or `cli/` (docs/architecture.md).

`DOMAINS` is the one list of the platform's domains: `definitions.py`, the sample-data
generator, the demo and the tests read it.
"""

import builtins
import importlib
import warnings

DOMAINS: tuple[str, ...] = ("invoices", "ctr", "industries", "late_payments", "customers")

# Notices Dagster and montydb print for APIs the platform uses on purpose and that have no
# stable alternative: (message regex, category name, module regex). Silenced here for every
# process that loads the assets, and by tests/conftest.py for pytest, from this one list.
KNOWN_NOTICES: tuple[tuple[str, str, str], ...] = (
    # BackfillPolicy.single_run() is how a backfill becomes one run per range.
    (r"Parameter `backfill_policy` of function `(multi_)?asset` is currently in beta",
     "Warning", ""),
    # Dagster's own tags for a multi-partition key ('dagster/partition/date').
    (r"Non-compliant tag keys like \['dagster/partition/", "DeprecationWarning", ""),
    # Dagster's own automation-condition tester (dg.evaluate_automation_conditions).
    (r"Parameter `include_sources` of function `AssetSelection.all` is currently in beta",
     "Warning", ""),
    # montydb (the embedded document store) on Python 3.11's datetime/sqlite3 APIs.
    (r"", "DeprecationWarning", r"montydb(\.|$)"),
)


def quiet_known_notices() -> None:
    """Install the KNOWN_NOTICES filters (idempotent)."""
    for message, category, module in KNOWN_NOTICES:
        warnings.filterwarnings("ignore", message, getattr(builtins, category), module)


quiet_known_notices()


def domain_assets(domain: str) -> list:
    """Every asset and asset spec defined in `assets/<domain>/` (found by Dagster's loader,
    so a new asset module needs no registration)."""
    import dagster as dg  # here, not at the top: `assets.ctr.serving` stays Dagster-free

    return list(dg.load_assets_from_package_module(importlib.import_module(f"assets.{domain}")))
