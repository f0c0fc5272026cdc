"""Server URLs checked before any driver sees them.

A URL that libpq, pymongo or librdkafka cannot parse is echoed by the driver into its error
(`invalid percent-encoded token: "<password>"`), and so into the run's logs. `check_url`
parses the value here first: a malformed one raises `ConfigError`, which names the setting
and what is wrong with it, never the value or a part of it, and which the step retry policy
does not retry (a `dg.Failure` with `allow_retries=False`: retrying cannot fix a setting).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import dagster as dg

SCHEMES = {
    "postgres": ("postgresql", "postgres"),
    "sql": ("postgresql", "postgres", "sqlite"),
    "mongodb": ("mongodb", "mongodb+srv"),
    "spark": ("sc",),
    "retail": ("postgresql", "postgres", "mysql", "mariadb"),
}
# What each setting is: the variable it comes from decides the kind of URL it must be.
KINDS = {
    "INVOICES_DB_URL": "postgres",
    "PURCHASES_DB_URL": "sql",
    "ECOMMERCE_DB_URL": "sql",
    "MONGODB_URI": "mongodb",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka",
    "SPARK_REMOTE": "spark",
    "DAGSTER_PG_URL": "postgres",
    "RETAIL_DB_URL": "retail",  # the point-of-sale database behind the late-payment extracts
}
_HOST = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]")
PASSWORD_HINT = " (a '/', '?', '#' or '@' in the password must be percent-encoded)"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class ConfigError(dg.Failure):
    """A setting that cannot work as given: names the setting and the problem, never the
    value; not retried (`allow_retries=False`)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(description=f"configuration error: {setting} {problem}",
                         allow_retries=False)
        self.setting = setting


def check_url(setting: str, value: str, kind: str) -> str:
    """`value` when it is a well-formed URL of `kind` (see `KINDS`), else `ConfigError`."""
    problem = _kafka_problem(value) if kind == "kafka" else _url_problem(value, kind)
    if problem:
        raise ConfigError(setting, problem)
    return value


def _url_problem(value: str, kind: str) -> str | None:
    if re.search(r"[\s\x00-\x1f\x7f]", value):
        return "contains a space or a control character (percent-encode it: a space is %20)"
    if _BAD_ESCAPE.search(value):
        return "has a '%' that is not followed by two hex digits (a literal '%' is written %25)"
    if "%00" in value:
        return "has a percent-encoded NUL (%00), which no server accepts"
    scheme, sep, rest = value.partition("://")
    base = scheme.split("+")[0] if kind == "postgres" else scheme
    if not sep or base not in SCHEMES[kind]:
        return f"must start with {' or '.join(s + '://' for s in SCHEMES[kind])}"
    if scheme == "sqlite":
        return None if rest.startswith("/") and len(rest) > 1 else (
            "must name a file: sqlite:///path/to/file")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if rest.count("@") > 1:
        return "has more than one '@' (an '@' in the user name or password is written %40)"
    if "@" in rest and "@" not in authority:
        return ("has an '@' after the host part: a '/', '?' or '#' in the password must be "
                "percent-encoded (%2F, %3F, %23)")
    if kind == "spark" and rest[len(authority):] and not rest[len(authority):].startswith("/;"):
        return "must be sc://host:port, with parameters after '/;' (sc://host:port/;token=...)"
    return _hosts_problem(authority.rpartition("@")[2], kind, rest)


def _hosts_problem(hosts: str, kind: str, rest: str) -> str | None:
    query = dict(parse_qsl(rest.partition("?")[2]))
    if not hosts and not query.get("host"):
        return "has no host (expected scheme://[user[:password]@]host[:port]/...)"
    for host in filter(None, hosts.split(",")) if kind != "spark" else [hosts]:
        problem = _host_port_problem(host)
        if problem:
            return problem
    return None


def _host_port_problem(hostport: str, hint: str = PASSWORD_HINT) -> str | None:
    host, colon, port = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]*)(:?)(.*)", hostport).groups()
    if not host:
        return "has no host before a port"
    if not _HOST.fullmatch(host):
        return "has a host name with characters a host name cannot have"
    if (colon or port) and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"has a port that is not a number from 1 to 65535{hint}"
    return None


def _kafka_problem(value: str) -> str | None:
    """`host:port[,host:port...]`, each optionally `PROTOCOL://host:port`."""
    if re.search(r"[\s\x00-\x1f\x7f@]", value):
        return "must be host:port[,host:port...], without spaces or credentials"
    for server in value.split(","):
        hostport = server.partition("://")[2] if "://" in server else server
        if not hostport:
            return "has an empty server in its list (host:port[,host:port...])"
        problem = _host_port_problem(hostport, hint="")
        if problem:
            return problem
    return None
