"""A throwaway MariaDB server (Debian's `mariadb-server`) on a free loopback port, with the
binary log on for change data capture.

`mariadb-install-db` writes a private data dir, then `mariadbd` runs with `log_bin`,
`binlog_format=ROW`, `binlog_row_image=FULL` and a `server_id` (what Debezium's MySQL
connector reads), TCP on 127.0.0.1 only and the unix socket in the temp dir. Durability is
off (the data is thrown away).

Debezium's MySQL connector refuses MariaDB's version string (`10.11.x-MariaDB`), and the
MariaDB connector module is not on the Maven mirror here: the server is started with
`--version=8.0.0-<real version>`, so it reports a MySQL 8 version and the MySQL connector
reads its binlog (docs/cdc.md).

Accounts: `root@localhost` by unix socket for the OS account the server runs as (`nobody`
when the tests run as root: mariadbd refuses root unless told, like PostgreSQL), used for
nothing here; `admin` (every privilege) and `retail` (REPLICATION SLAVE, REPLICATION CLIENT,
SELECT, RELOAD, SHOW DATABASES, LOCK TABLES on everything: Debezium's list, plus ALL on each
database `create_database` makes for it), both with passwords over TCP, created by an
`--init-file` at every start (idempotent).
"""

from __future__ import annotations

import itertools
import os
import secrets
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

CDC_PRIVILEGES = (
    "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD, SHOW DATABASES, LOCK TABLES"
)


def find_binaries() -> tuple[Path, Path]:
    """(mariadbd, mariadb-install-db): $MARIADB_BIN, /usr/sbin + /usr/bin, or the PATH."""
    dirs = [os.environ["MARIADB_BIN"]] if os.environ.get("MARIADB_BIN") else []
    dirs += ["/usr/sbin", "/usr/bin", *os.environ.get("PATH", "").split(os.pathsep)]
    server = next((Path(d) / "mariadbd" for d in dirs if (Path(d) / "mariadbd").exists()), None)
    install = next(
        (Path(d) / "mariadb-install-db" for d in dirs if (Path(d) / "mariadb-install-db").exists()),
        None,
    )
    if not server or not install:
        raise ServerUnavailable(
            "MariaDB server binaries not found (mariadbd, mariadb-install-db); "
            "install Debian's mariadb-server package or set MARIADB_BIN"
        )
    return server, install


def real_version(server: Path) -> str:
    """`10.11.19-MariaDB-0+deb12u1` from `mariadbd --version`."""
    out = subprocess.run([str(server), "--version"], capture_output=True, text=True).stdout
    words = out.split()
    return words[words.index("Ver") + 1] if "Ver" in words else "10-MariaDB"


class MariaDbServer(Server):
    name = "mariadb"

    def __init__(
        self,
        start_timeout: float = 60,
        retail_password: str | None = None,
        server_id: int = 1,
    ) -> None:
        self.server_bin, self.install_bin = find_binaries()
        self.real_version = real_version(self.server_bin)
        self.version = f"8.0.0-{self.real_version}"  # what the server reports (see above)
        self.user = unprivileged_user()
        self.start_timeout = start_timeout
        self.server_id = server_id
        self.host = "127.0.0.1"
        self.port = 0
        self.admin_password = secrets.token_urlsafe(12)
        self.retail_password = retail_password or secrets.token_urlsafe(12)
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self.base = make_temp_dir("mariadb-", self.user)
        self._temp_dirs = [self.base]
        self.data_dir = self.base / "data"
        self.socket = self.base / "mariadb.sock"
        self.log_path = self.base / "mariadb.log"
        self.startup_seconds = 0.0

    def url(self, database: str = "", user: str = "retail") -> str:
        password = self.retail_password if user == "retail" else self.admin_password
        return f"mysql://{user}:{password}@{self.host}:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url(user="admin")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        return env

    def _init_sql(self) -> Path:
        def q(text: str) -> str:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

        path = self.base / "init.sql"
        path.write_text(
            f"CREATE USER IF NOT EXISTS 'admin'@'%' IDENTIFIED BY {q(self.admin_password)};\n"
            "GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;\n"
            f"CREATE USER IF NOT EXISTS 'retail'@'%' IDENTIFIED BY {q(self.retail_password)};\n"
            f"GRANT {CDC_PRIVILEGES} ON *.* TO 'retail'@'%';\n"
        )
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
        return path

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        if not (self.data_dir / "mysql").exists():
            owner = self.user.pw_name if self.user else None
            run_checked(
                [
                    str(self.install_bin),
                    "--no-defaults",
                    f"--datadir={self.data_dir}",
                    "--auth-root-authentication-method=socket",
                    *([f"--auth-root-socket-user={owner}"] if owner else []),
                    "--skip-test-db",
                    "--skip-name-resolve",
                ],
                self.base / "install-db.log",
                cwd=self.base,
                env=self._env(),
                user=self.user,
                timeout=120,
            )
        self.port = self.port or free_port()
        self.proc = spawn(
            [
                str(self.server_bin),
                "--no-defaults",
                f"--datadir={self.data_dir}",
                f"--socket={self.socket}",
                f"--pid-file={self.base / 'mariadb.pid'}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                "--skip-name-resolve",
                f"--init-file={self._init_sql()}",
                f"--version={self.version}",
                # the binary log as Debezium needs it
                f"--server-id={self.server_id}",
                f"--log-bin={self.data_dir / 'binlog'}",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--expire-logs-days=1",
                # thrown away: no durability, small caches
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--sync-binlog=0",
                "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=32M",
                "--performance-schema=OFF",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_bin",
                "--default-time-zone=+00:00",
                "--max-connections=200",
                f"--log-error={self.log_path}",
            ],
            self.base / "mariadbd.out",
            cwd=self.base,
            env=self._env(),
            user=self.user,
        )
        self._register()

        def ready() -> bool:
            import pymysql

            conn = pymysql.connect(
                host=self.host,
                port=self.port,
                user="admin",
                password=self.admin_password,
                connect_timeout=2,
            )
            conn.close()
            return True

        wait_until(
            ready,
            timeout=self.start_timeout,
            what=f"MariaDB on {self.host}:{self.port}",
            proc=self.proc,
            log_path=self.log_path,
            interval=0.2,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        terminate(self.proc, grace=20)  # SIGTERM = normal shutdown
        self.proc = None

    def admin(self):  # noqa: ANN201 - a pymysql connection
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user="admin",
            password=self.admin_password,
            autocommit=True,
        )

    def create_database(self, prefix: str = "test") -> str:
        """A fresh, empty database (utf8mb4) that `retail` owns; its URL as `retail`."""
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO 'retail'@'%'")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def start_mariadb(retail_password: str | None = None) -> MariaDbServer:
    return MariaDbServer(retail_password=retail_password).started()
