"""The retail point-of-sale database (RETAIL_DB_URL) from extracts, and back:

    python -m cli.retail_db create --url URL [--replace]
    python -m cli.retail_db seed   --url URL (--extracts DIR | --generated N) [--replace|--if-empty]
    python -m cli.retail_db dump   --url URL --out DIR

`create` makes the four tables (resources/lib/retail_source.py); `seed` creates what is
missing (all anew with --replace) and loads the four CSV extracts of DIR, or N synthetic
invoices of the late-payments generator (clean rows: cli/generators/late_payments.py with
messy=False); with --if-empty it loads nothing when the tables hold rows already (the
compose `retail-seed` service: a restarted stack does not load the data twice); `dump` writes
the tables back as the four extracts the batch pipeline reads.
URL is postgresql://... or mysql:// / mariadb://...; default: $RETAIL_DB_URL. The password is
never printed (nor in an error).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from resources.lib import retail_source
from resources.redaction import guarded, one_line_errors
from resources.retail_db import RetailDb


def seed(
    db: RetailDb,
    extracts: Path | None = None,
    generated: int | None = None,
    replace: bool = False,
    seed_value: int = 42,
    if_empty: bool = False,
) -> retail_source.LoadResult | None:
    """Create the tables (anew with `replace`) and load the extracts of a folder or N
    generated invoices; the rows loaded per table. With `if_empty`, None (nothing loaded)
    when any of the tables holds rows."""
    with db.connection() as conn:
        retail_source.create_tables(conn, db.dialect, replace=replace)
        if if_empty and any(retail_source.count_rows(conn).values()):
            return None
        if generated is not None:
            from cli.generators.late_payments import write_extracts

            with tempfile.TemporaryDirectory(prefix="retail-extracts-") as tmp:
                write_extracts(Path(tmp), generated, seed=seed_value, messy=False)
                return retail_source.load_extracts(conn, db.dialect, Path(tmp))
        assert extracts is not None
        return retail_source.load_extracts(conn, db.dialect, Path(extracts))


def dump(db: RetailDb, out: Path) -> dict[str, int]:
    with db.connection() as conn:
        return retail_source.dump_extracts(conn, Path(out))


def parser() -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(
        prog="python -m cli.retail_db",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = args.add_subparsers(dest="command", required=True)
    for name in ("create", "seed", "dump"):
        cmd = sub.add_parser(name)
        cmd.add_argument(
            "--url",
            default=os.environ.get("RETAIL_DB_URL"),
            help="postgresql://, mysql:// or mariadb:// (default $RETAIL_DB_URL)",
        )
        if name != "dump":
            cmd.add_argument(
                "--replace", action="store_true", help="drop and create the four tables first"
            )
        if name == "seed":
            cmd.add_argument(
                "--if-empty", action="store_true", help="load nothing if the tables hold rows"
            )
        if name == "seed":
            source = cmd.add_mutually_exclusive_group(required=True)
            source.add_argument("--extracts", type=Path, help="folder of the four CSV extracts")
            source.add_argument(
                "--generated",
                type=int,
                metavar="N",
                help="N synthetic invoices (and their accounts, SKUs, lines)",
            )
            cmd.add_argument("--seed", type=int, default=42, dest="seed_value")
        if name == "dump":
            cmd.add_argument("--out", type=Path, required=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.url:
        print("no --url and RETAIL_DB_URL is not set", file=sys.stderr)
        return 2
    # the redaction of errors knows the configured secrets from the environment
    os.environ["RETAIL_DB_URL"] = args.url
    db = RetailDb(url=args.url)
    t0 = time.monotonic()
    with guarded():
        if args.command == "create":
            with db.connection() as conn:
                made = retail_source.create_tables(conn, db.dialect, replace=args.replace)
            print(f"{db.describe()}: created {', '.join(made) or 'nothing (all exist)'}")
        elif args.command == "seed":
            result = seed(db, args.extracts, args.generated, args.replace, args.seed_value,
                          args.if_empty)
            if result is None:
                print(f"{db.describe()}: holds rows already, nothing loaded (--if-empty)")
                return 0
            merged = (
                f"; {result.merged_line_items} duplicate line items merged"
                if result.merged_line_items
                else ""
            )
            print(f"{db.describe()}: loaded {result.counts}{merged} ({time.monotonic() - t0:.1f}s)")
        else:
            counts = dump(db, args.out)
            print(f"{db.describe()} -> {args.out}: {counts} ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(one_line_errors(main))
