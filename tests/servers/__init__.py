"""Real servers for the integration tests, each on a free loopback port.

`tests/conftest.py` turns these into pytest fixtures. The modules use only the standard
library at import time (drivers are imported lazily), so `.ci/run` can call
`python3 -m tests.servers.tooling install` before the virtualenv exists.

Every server runs as a child process in its own process group with a parent-death signal,
so it stops with the test session: at fixture teardown, at interpreter exit (atexit), and
even when pytest itself is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

CACHE_DIR = Path(
    os.environ.get("COMMERCE_PLATFORM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "commerce-platform"
)


class ServerUnavailable(RuntimeError):
    """The tooling for a server is missing or the server could not start."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def unprivileged_user() -> pwd.struct_passwd | None:
    """The account to run servers that refuse root (PostgreSQL); None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("pgtest", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerUnavailable("running as root and no unprivileged user (nobody) exists")


TEMP_PREFIX = "commerce-"
OWNER_FILE = ".owner-pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temp_dirs() -> None:
    """Delete server temp dirs left behind by test sessions that were killed (SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        try:
            pid = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def make_temp_dir(prefix: str, owner: pwd.struct_passwd | None = None) -> Path:
    """A private temp dir for one server, tagged with this process' pid for the sweeper."""
    sweep_stale_temp_dirs()
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + prefix))
    (path / OWNER_FILE).write_text(str(os.getpid()))
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    # Runs in the child after the uid switch, before exec: die with the parent (pytest).
    # The "parent" of PR_SET_PDEATHSIG is the spawning *thread*: start servers from a thread
    # that outlives them (tests/invoices/test_retries.py restarts PostgreSQL from the main
    # thread for this reason; a threading.Timer's server dies with the timer thread).
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: pwd.struct_passwd | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server process with stdout/stderr appended to `log_path`."""
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process' lifetime
    kwargs: dict = {}
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            process_group=0,
            preexec_fn=_child_setup,
            **kwargs,
        )
    finally:
        log.close()


def run_checked(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: pwd.struct_passwd | None = None,
    timeout: float = 120,
) -> None:
    proc = spawn(argv, log_path, cwd=cwd, env=env, user=user)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        terminate(proc, grace=1)
        raise ServerUnavailable(
            f"{argv[0]} timed out after {timeout}s; log {log_path}:\n{tail(log_path)}"
        ) from None
    if code != 0:
        raise ServerUnavailable(
            f"{' '.join(map(str, argv))} exited {code}; log {log_path}:\n{tail(log_path)}"
        )


def terminate(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, grace: float = 15
) -> None:
    """Stop a process started by `spawn`: `sig`, then SIGKILL to its group after `grace`."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None,
    log_path: Path,
    interval: float = 0.1,
) -> float:
    """Poll `ready()` until it is true; return the seconds waited. Raises with the log tail."""
    start = time.monotonic()
    last_error: BaseException | None = None
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise ServerUnavailable(
                f"{what} exited with code {proc.returncode} during start-up; "
                f"log {log_path}:\n{tail(log_path)}"
            )
        try:
            if ready():
                return time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - any connection error means "not yet"
            last_error = exc
        time.sleep(interval)
    raise ServerUnavailable(
        f"{what} did not accept connections within {timeout:.0f}s (last error: {last_error!r}); "
        f"log {log_path}:\n{tail(log_path)}"
    )


class Server:
    """Base: a started server registers itself so it is stopped at interpreter exit too."""

    name = "server"
    proc: subprocess.Popen[bytes] | None = None  # the server's process, while started

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the server for the block and start it again (same port, same data) after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def close(self) -> None:
        """Stop the server and delete its temporary files."""
        self.stop()
        for path in getattr(self, "_temp_dirs", []):
            shutil.rmtree(path, ignore_errors=True)

    def _register(self) -> None:
        atexit.register(self.close)

    def started(self):  # noqa: ANN201 - the subclass itself
        """Start it, or clean up what a failed start left and raise."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self):  # noqa: ANN204
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
