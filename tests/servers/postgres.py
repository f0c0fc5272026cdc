"""A throwaway PostgreSQL cluster (initdb + postgres) on a free loopback port.

Trust authentication on 127.0.0.1 only, the unix socket in a private temp dir, durability
switched off (fsync, synchronous_commit, full_page_writes) because the data is thrown away.
When the tests run as root (CI), the cluster runs as the unprivileged `nobody` account,
since PostgreSQL refuses to run as root.

`logical=True` starts it for change data capture (Debezium's pgoutput): `wal_level=logical`
and room for replication slots and WAL senders; `add_password_role` adds a login role that
must authenticate with a password over TCP (scram), for clients that need a real password.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.servers import (
    Server,
    ServerUnavailable,
    free_port,
    make_temp_dir,
    run_checked,
    spawn,
    terminate,
    unprivileged_user,
    wait_until,
)

SUPERUSER = "postgres"
# change data capture: one slot and one WAL sender per connector (a test has one or two)
LOGICAL = {"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20"}


def find_bin_dir() -> Path:
    """The directory of initdb/postgres: $PG_BIN, Debian's newest /usr/lib/postgresql/*/bin,
    or the PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0),
        reverse=True,
    )
    candidates += debian
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))  # type: ignore[arg-type]
    for cand in candidates:
        if (Path(cand) / "initdb").exists() and (Path(cand) / "postgres").exists():
            return Path(cand)
    raise ServerUnavailable(
        "PostgreSQL server binaries not found (initdb/postgres); "
        "install Debian's postgresql package or set PG_BIN"
    )


class PostgresServer(Server):
    name = "postgresql"

    def __init__(
        self,
        bin_dir: Path | None = None,
        start_timeout: float = 60,
        settings: dict[str, str] | None = None,
        logical: bool = False,
    ) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        # server settings on top of the defaults below (benchmarks size the caches up)
        self.settings = {"shared_buffers": "64MB", **(LOGICAL if logical else {}),
                         **(settings or {})}
        self.logical = logical
        self.user = unprivileged_user()
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self._passwords: dict[str, str] = {}
        self.base = make_temp_dir("pg-", self.user)
        self._temp_dirs = [self.base]
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_path = self.base / "postgres.log"
        self.startup_seconds = 0.0

    @property
    def version(self) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"], capture_output=True, text=True
        )
        return out.stdout.strip()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        return env

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        if not (self.data_dir / "PG_VERSION").exists():
            run_checked(
                [
                    str(self.bin_dir / "initdb"),
                    "-D", str(self.data_dir),
                    "-U", SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                self.base / "initdb.log",
                cwd=self.base,
                env=self._env(),
                user=self.user,
            )
            self.socket_dir.mkdir(exist_ok=True)
            if self.user is not None:
                os.chown(self.socket_dir, self.user.pw_uid, self.user.pw_gid)
        self.port = self.port or free_port()
        self.proc = spawn(
            [
                str(self.bin_dir / "postgres"),
                "-D", str(self.data_dir),
                "-p", str(self.port),
                "-c", f"listen_addresses={self.host}",
                "-c", f"unix_socket_directories={self.socket_dir}",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
                *(arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}")),
                "-c", "log_min_messages=warning",
                "-c", "TimeZone=UTC",
            ],
            self.log_path,
            cwd=self.base,
            env=self._env(),
            user=self.user,
        )
        self._register()

        def ready() -> bool:
            import psycopg

            with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
                conn.execute("select 1")
            return True

        wait_until(
            ready,
            timeout=self.start_timeout,
            what=f"PostgreSQL on {self.host}:{self.port}",
            proc=self.proc,
            log_path=self.log_path,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        # SIGINT = PostgreSQL's "fast" shutdown: disconnect clients, then exit.
        terminate(self.proc, signal.SIGINT)
        self.proc = None

    def create_database(self, prefix: str = "test", owner: str | None = None) -> str:
        """Create a fresh, empty database and return its URL (the superuser's, or `owner`'s
        with its password when `owner` is a role made by `add_password_role`)."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
        if owner:
            return f"postgresql://{owner}:{self._passwords[owner]}@{self.host}:{self.port}/{name}"
        return self.url(name)

    def add_password_role(self, name: str, password: str) -> None:
        """A login role (with REPLICATION) that authenticates with `password` (scram) on
        127.0.0.1, for normal and replication connections; everyone else stays trusted."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN REPLICATION PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)))
            hba = self.data_dir / "pg_hba.conf"
            lines = "".join(f"host {db} {name} {self.host}/32 scram-sha-256\n"
                            for db in ("all", "replication"))
            hba.write_text(lines + hba.read_text())  # the first matching line wins
            conn.execute("SELECT pg_reload_conf()")
        self._passwords[name] = password

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            # a logical replication slot of the database blocks DROP DATABASE, even FORCE
            for slot, pid in conn.execute(
                "SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = %s",
                (name,),
            ).fetchall():
                if pid:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                for _ in range(50):
                    try:
                        conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                        break
                    except psycopg.errors.ObjectInUse:  # the sender is still exiting
                        time.sleep(0.1)
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_postgres(
    settings: dict[str, str] | None = None, logical: bool = False
) -> PostgresServer:
    return PostgresServer(settings=settings, logical=logical).started()
