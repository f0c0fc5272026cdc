"""Browser tier: headless Chromium (Playwright) against the platform started on the demo.

Fixtures (every test here is marked `browser`). `platform` and `browser` are started once
for all the tests of this folder and stopped after its last test (package scope): a live
Playwright sync API marks the main thread's asyncio loop as running, so a later test of the
session calling `asyncio.run` (e.g. `dg.evaluate_automation_conditions`) would fail.
- `platform`: the Dagster webserver and the API, started as subprocesses on free
  loopback ports on the instance and data of `after_demo` (tests/conftest.py); no daemon,
  so nothing is launched. Attributes: `.dagster_url`, `.api_url` ("http://127.0.0.1:PORT",
  no trailing slash), `.home` (DAGSTER_HOME), `.data` (PLATFORM_DATA_DIR).
- `browser`: Debian's Chromium (`$CHROMIUM_PATH`, else `chromium` on PATH) driven
  by Playwright; Playwright's own browser download is not used.
- `page` (function): a fresh context and page (1400x1000). Requests to any host other than
  127.0.0.1/localhost are aborted and recorded in `page.blocked_urls` (also the fixture
  `blocked_requests`): a test asserts it is empty to prove the page works offline.
  Playwright's default timeouts are 60 s (slow CI machines). What the page's
  Content-Security-Policy refused is in `csp_violations(page)` (an `eval`, a script).

Without Playwright or Chromium the tests skip; with CI=true they fail instead. When a test
fails, a full-page screenshot goes to `$BROWSER_ARTIFACTS` (default tests/browser/artifacts/)
and its path is added to the test's report.

A test module imports `expect` inside `try: ... except ImportError`, so that without
Playwright the fixtures decide (skip, or fail under CI=true) instead of a collection error.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

from tests.servers import ServerUnavailable, free_port, in_ci, spawn, terminate, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
TIMEOUT_MS = 60_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser` (`-m "not browser"` leaves them out). Without
    Playwright or Chromium they skip here, before the demo runs; not with CI=true: the
    `browser` fixture fails them then."""
    missing = _missing()
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)
            if missing and not in_ci():
                item.add_marker(pytest.mark.skip(reason=f"browser tests: {missing}"))


def _chromium() -> str | None:
    """`$CHROMIUM_PATH`, else `chromium` on PATH; None if there is no such file."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    return path if path and Path(path).exists() else None


def _missing() -> str | None:
    """Why the browser tests cannot run here; None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    if _chromium() is None:
        return "no Chromium (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


@dataclass(frozen=True)
class Platform:
    """The running platform: Dagster UI and API base URLs, its instance and data folders."""

    dagster_url: str
    api_url: str
    home: Path
    data: Path


def _answers(url: str) -> bool:
    """GET `url` returns 200 (no proxy: the servers are on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status == 200


def _start(argv: list[str], env: dict[str, str], log: Path, ready_url: str) -> Any:
    """Start one server and wait for `ready_url`; fail the test with its log tail if not."""
    proc = spawn(argv, log, cwd=ROOT, env=env)
    try:
        wait_until(lambda: _answers(ready_url), timeout=120, what=Path(argv[0]).name,
                   proc=proc, log_path=log, interval=0.5)
    except ServerUnavailable as exc:
        terminate(proc, grace=5)
        pytest.fail(str(exc), pytrace=False)
    return proc


@pytest.fixture(scope="package")
def platform(after_demo: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Platform]:
    """`dagster-webserver -m definitions` and `uvicorn api.main:app` on the demo's instance
    (the repository's dagster.yaml: no "Join the community" dialog, `nux: enabled: false`)."""
    home, data = after_demo
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DB_URL", "_URI"))}
    env.update(DAGSTER_HOME=str(home), PLATFORM_DATA_DIR=str(data))
    logs = tmp_path_factory.mktemp("platform-logs")
    web_port, api_port = free_port(), free_port()
    dagster_url, api_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{api_port}"
    procs = [_start([str(BIN / "dagster-webserver"), "-m", "definitions", "-h", "127.0.0.1",
                     "-p", str(web_port)], env, logs / "webserver.log",
                    f"{dagster_url}/server_info")]
    try:
        procs.append(_start([str(BIN / "uvicorn"), "api.main:app", "--host", "127.0.0.1",
                             "--port", str(api_port)], env, logs / "api.log",
                            f"{api_url}/health"))
        yield Platform(dagster_url, api_url, home, data)
    finally:
        for proc in procs:
            terminate(proc)


def _unavailable(reason: str) -> NoReturn:
    """Skip locally; with CI=true the browser tier must run, so fail."""
    if in_ci():
        pytest.fail(f"CI=true and the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests: {reason}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless system Chromium (`--no-sandbox`: the tests may run as root)."""
    if missing := _missing():
        _unavailable(missing)
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium()
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - any launch error means "no usable browser"
            _unavailable(f"{executable} did not start: {exc}")
        yield chromium
        chromium.close()


# Every Content-Security-Policy violation of a page, as "<directive> <blocked URI>" in
# `window.cspViolations` (`eval` for an eval the policy refused): `csp_violations(page)`.
CSP_RECORDER = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.effectiveDirective + " " + e.blockedURI));"""


def csp_violations(page: Any) -> list[str]:
    """What the page's Content-Security-Policy refused so far."""
    return page.evaluate("window.cspViolations")


@pytest.fixture
def blocked_requests() -> list[str]:
    """URLs the page tried to fetch from outside the machine (aborted)."""
    return []


@pytest.fixture
def page(browser: Any, blocked_requests: list[str]) -> Iterator[Any]:
    """A new page in its own context; only loopback requests go through."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)

    def local_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked_requests.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", local_only)
    context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    page.blocked_urls = blocked_requests
    yield page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item; on a failed test with a `page`, screenshot it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        path = _screenshot(page, item.name)
        report.sections.append(("browser screenshot", str(path)))


def _screenshot(page: Any, test_name: str) -> Path | str:
    """Full-page PNG named after the test; the error text if the page cannot be shot."""
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).parent / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^\w.-]+", "_", test_name) + ".png")
    try:
        page.screenshot(path=str(path), full_page=True, timeout=30_000)
    except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the failure
        return f"(no screenshot: {exc})"
    return path
