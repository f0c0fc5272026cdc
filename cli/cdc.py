"""Change data capture of the retail database (RETAIL_DB_URL) with Debezium on Kafka Connect:

    python -m cli.cdc register --connect-url URL --db-url URL --kafka BOOTSTRAP
                               [--name retail-source] [--topic-prefix retail]
    python -m cli.cdc status   --connect-url URL [--name retail-source] [--running]
    python -m cli.cdc delete   --connect-url URL [--name retail-source]

`register` builds the Debezium connector config for the database (PostgreSQL: the pgoutput
plugin, a slot and a publication named after the connector; MySQL/MariaDB: a server id and a
schema history topic) and PUTs it to Connect's REST API (`/connectors/NAME/config`: creates or
updates, so running it again is harmless). The four tables' changes go to
`PREFIX.public.TABLE` (PostgreSQL) or `PREFIX.DATABASE.TABLE` (MySQL/MariaDB).

The password is not in the config: it says `database.password=${env:RETAIL_DB_PASSWORD}`, and
the Connect worker, configured with `config.providers=env`
(`org.apache.kafka.common.config.provider.EnvVarConfigProvider`), reads it from its own
environment, where RETAIL_DB_PASSWORD must hold the URL's password (docs/cdc.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
import zlib
from typing import Any
from urllib.parse import unquote, urlsplit

from resources.env import redact
from resources.lib.retail_source import TABLES
from resources.redaction import guarded, one_line_errors
from resources.urls import check_url

DEFAULT_NAME = "retail-source"
DEFAULT_PREFIX = "retail"
PASSWORD_ENV = "RETAIL_DB_PASSWORD"


def dialect_of(db_url: str) -> str:
    return "postgresql" if db_url.startswith(("postgresql://", "postgres://")) else "mysql"


def _database(db_url: str) -> str:
    name = unquote(urlsplit(db_url).path.lstrip("/"))
    if not name:
        raise ValueError("the database URL names no database (scheme://user@host:port/DATABASE)")
    return name


def topics(db_url: str, topic_prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Table -> the Kafka topic of its change events."""
    middle = "public" if dialect_of(db_url) == "postgresql" else _database(db_url)
    return {table: f"{topic_prefix}.{middle}.{table}" for table in TABLES}


def _identifier(name: str) -> str:
    """A PostgreSQL slot/publication name from a connector name: [a-z0-9_], 63 at most."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]


def connector_config(
    db_url: str,
    kafka_bootstrap: str,
    name: str = DEFAULT_NAME,
    topic_prefix: str = DEFAULT_PREFIX,
    password_env: str = PASSWORD_ENV,
    server_id: int | None = None,
) -> dict[str, str]:
    """The Debezium source connector config for the retail database at `db_url`."""
    check_url("--db-url", db_url, "retail")
    parts = urlsplit(db_url)
    dialect = dialect_of(db_url)
    database = _database(db_url)
    config = {
        "tasks.max": "1",
        "database.hostname": parts.hostname or "127.0.0.1",
        "database.port": str(parts.port or (5432 if dialect == "postgresql" else 3306)),
        "database.user": unquote(parts.username or ""),
        "topic.prefix": topic_prefix,
        # numbers as the text the extracts have ("4176.5100"), not base64 bytes
        "decimal.handling.mode": "string",
        # DATE as Kafka Connect's Date (days since 1970-01-01), the same on both databases
        "time.precision.mode": "connect",
        # a delete is one event with op "d" and `before`; no extra null-value record
        "tombstones.on.delete": "false",
        # every existing row first (op "r"), then the changes from that point on
        "snapshot.mode": "initial",
    }
    if parts.password is not None:
        # resolved by the worker's `env` config provider: never in the registered config
        config["database.password"] = "${env:" + password_env + "}"
    if dialect == "postgresql":
        ident = _identifier(name)
        config.update(
            {
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                "database.dbname": database,
                "plugin.name": "pgoutput",  # built into PostgreSQL 10+: no server plugin to add
                "slot.name": ident,
                "publication.name": ident,
                "publication.autocreate.mode": "filtered",  # a publication of the four tables
                "table.include.list": ",".join(f"public.{t}" for t in TABLES),
            }
        )
    else:
        config.update(
            {
                "connector.class": "io.debezium.connector.mysql.MySqlConnector",
                # a replica id of its own on the server (unique per connector)
                "database.server.id": str(server_id or 10_000 + zlib.crc32(name.encode()) % 10**6),
                "database.include.list": database,
                "table.include.list": ",".join(f"{database}.{t}" for t in TABLES),
                "schema.history.internal.kafka.bootstrap.servers": kafka_bootstrap,
                "schema.history.internal.kafka.topic": f"schema-history.{name}",
                "include.schema.changes": "false",  # the DDL history is internal only
            }
        )
    return config


def _call(connect_url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        connect_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"Kafka Connect {method} {path}: {exc.code} "
            f"{exc.read().decode(errors='replace')[:1000]}"
        ) from None
    return json.loads(raw) if raw else None


def register(connect_url: str, config: dict[str, str], name: str = DEFAULT_NAME) -> dict:
    """Create or update the connector (`PUT /connectors/NAME/config`); Connect's answer."""
    return _call(connect_url, "PUT", f"/connectors/{name}/config", config)


def status(connect_url: str, name: str = DEFAULT_NAME) -> dict:
    return _call(connect_url, "GET", f"/connectors/{name}/status")


def running(answer: dict) -> bool:
    """A status answer whose connector and every task (one at least) are RUNNING."""
    tasks = answer.get("tasks") or []
    states = [answer.get("connector", {}).get("state")] + [t.get("state") for t in tasks]
    return bool(tasks) and all(state == "RUNNING" for state in states)


def delete(connect_url: str, name: str = DEFAULT_NAME) -> None:
    _call(connect_url, "DELETE", f"/connectors/{name}")


def parser() -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(
        prog="python -m cli.cdc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = args.add_subparsers(dest="command", required=True)
    for command in ("register", "status", "delete"):
        cmd = sub.add_parser(command)
        cmd.add_argument("--connect-url", required=True, help="http://host:8083")
        cmd.add_argument("--name", default=DEFAULT_NAME, help="the connector's name")
        if command == "status":
            cmd.add_argument("--running", action="store_true",
                             help="exit 1 unless the connector and each task are RUNNING")
        if command == "register":
            cmd.add_argument(
                "--db-url",
                default=os.environ.get("RETAIL_DB_URL"),
                help="the retail database (default $RETAIL_DB_URL)",
            )
            cmd.add_argument(
                "--kafka",
                default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                help="bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS)",
            )
            cmd.add_argument("--topic-prefix", default=DEFAULT_PREFIX)
            cmd.add_argument(
                "--password-env",
                default=PASSWORD_ENV,
                help="the worker's variable holding the password",
            )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "register":
        if not args.db_url or not args.kafka:
            print("register needs --db-url (or RETAIL_DB_URL) and --kafka", file=sys.stderr)
            return 2
        os.environ["RETAIL_DB_URL"] = args.db_url  # known to the redaction of errors
        with guarded():
            config = connector_config(
                args.db_url, args.kafka, args.name, args.topic_prefix, args.password_env
            )
            answer = register(args.connect_url, config, args.name)
        print(f"registered {answer.get('name', args.name)} for {redact(args.db_url)}; topics:")
        for table, topic in topics(args.db_url, args.topic_prefix).items():
            print(f"  {table}: {topic}")
    elif args.command == "status":
        answer = status(args.connect_url, args.name)
        print(json.dumps(answer, indent=2))
        if args.running and not running(answer):
            return 1
    else:
        delete(args.connect_url, args.name)
        print(f"deleted {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(one_line_errors(main))
