"""`make trino-up` / `make trino-down`: a single-node Trino on the platform's `commerce`
catalog, for SQL from a terminal, a BI tool or the notebook (docs/sql.md).

The server is the one the tests start (`tests.servers.trino`: Trino 476 from Maven Central,
installed and cached by `python3 -m tests.servers.tooling install`, Java 24+), here detached
from this process: its folder, log and pid under `<data root>/state/trino/`, HTTP on
127.0.0.1:TRINO_PORT (default 8089). The catalog is the platform's own (SQLite under the
data root, or ICEBERG_CATALOG_URL), read through Trino's JDBC catalog: the tables appear as
`commerce.<domain>.<table>` as soon as the platform publishes them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from resources import build_resources

PORT = int(os.environ.get("TRINO_PORT", "8089"))


def _state() -> Path:
    return build_resources()["paths"].state / "trino"


def up(port: int = PORT) -> str:
    """Start Trino detached (or find it running); its URL."""
    from tests.servers.trino import TrinoServer, properties_of

    state = _state()
    running = _running(state)
    if running:
        return running
    paths = build_resources()["paths"]
    server = TrinoServer(catalogs={"commerce": properties_of(paths.catalog())},
                         base=state, port=port)
    log = (state / "trino.log").open("ab")
    proc = subprocess.Popen(server._argv(), cwd=state, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env=os.environ | {"JAVA_HOME": str(server.java.parent.parent)})
    (state / "server.json").write_text(json.dumps({"pid": proc.pid, "url": server.url}))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Trino exited at start (log {state / 'trino.log'})")
        try:
            if server.execute("SELECT 1", timeout=5) == [[1]]:
                return server.url
        except Exception:  # noqa: BLE001 - not answering yet
            time.sleep(0.5)
    raise RuntimeError(f"Trino not answering on {server.url} after 180 s")


def _running(state: Path) -> str | None:
    """The URL of the Trino this command started, if its process is alive."""
    info = state / "server.json"
    if not info.exists():
        return None
    found = json.loads(info.read_text())
    try:
        os.kill(found["pid"], 0)
    except ProcessLookupError:
        info.unlink()
        return None
    return found["url"]


def down() -> bool:
    """Stop the Trino `up` started; whether one was running."""
    info = _state() / "server.json"
    if not info.exists():
        return False
    pid = json.loads(info.read_text())["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    info.unlink()
    return True


def main(argv: list[str]) -> int:
    if argv[:1] == ["up"]:
        url = up()
        print(f"Trino up on the commerce catalog (log {_state() / 'trino.log'}):")
        print(f"TRINO_URL={url}")
    elif argv[:1] == ["down"]:
        print("Trino stopped" if down() else "no Trino started by `make trino-up`")
    else:
        print("usage: python -m cli.trino up|down", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
