"""Screenshot of the page for the README: `python -m cli.screenshot [--url URL] [--out PNG]`.

Drives Debian's Chromium through Playwright (the browser the tests use; `CHROMIUM_PATH`
overrides `chromium` on PATH), waits until the page has loaded every section, and saves a
full-page PNG. Run it against `make run` after `make demo`."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not found:
        raise SystemExit("no Chromium: apt-get install chromium, or set CHROMIUM_PATH")
    return found


def take(url: str, out: Path, width: int = 1280) -> Path:
    """Open `url`, wait for `body[data-loaded]` (set when every section answered), save."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(url)
        page.wait_for_selector("body[data-loaded=true]", timeout=120_000)
        page.wait_for_timeout(500)  # the charts' last transition
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    return out


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--url", default="http://127.0.0.1:8000/app")
    args.add_argument("--out", type=Path, default=Path("docs/img/page.png"))
    ns = args.parse_args()
    print(take(ns.url, ns.out))


if __name__ == "__main__":
    main()
