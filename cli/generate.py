"""Sample data for all five domains, deterministic from a seed, sized by a scale factor:
`python -m cli.generate [--seed 42] [--scale 1.0] [--domains ...]` writes into
`PLATFORM_DATA_DIR` (`landing/` and `sources/`)."""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

from assets import DOMAINS


def generate_all(
    data_dir: Path, seed: int = 42, scale: float = 1.0, domains: list[str] | None = None
) -> dict[str, dict[str, int]]:
    """Run each domain's `cli.generators.<domain>.generate`; return what each wrote."""
    return {
        domain: importlib.import_module(f"cli.generators.{domain}").generate(
            data_dir, seed=seed, scale=scale
        )
        for domain in domains or DOMAINS
    }


def parser() -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--seed", type=int, default=42)
    args.add_argument("--scale", type=float, default=1.0)
    args.add_argument("--domains", nargs="*", default=list(DOMAINS), choices=DOMAINS)
    return args


def main() -> None:
    args = parser().parse_args()
    data_dir = Path(os.environ.get("PLATFORM_DATA_DIR", "data/local")).resolve()
    for domain, counts in generate_all(data_dir, args.seed, args.scale, args.domains).items():
        print(f"{domain}: {counts}")


if __name__ == "__main__":
    main()
