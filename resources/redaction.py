"""One redaction of the configured secrets, for every exception text that may reach a log.

The secrets are read from the environment when needed: the whole value of each server URL
variable (`urls.KINDS`: INVOICES_DB_URL, ..., DAGSTER_PG_URL) and its password (raw and
percent-decoded, and the pieces a driver might quote when it splits a malformed password at
an '@', '/', ':' or '%'), Spark Connect's `token=`, and the value of every variable whose
name says it is a secret (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `*ACCESS_KEY*`, ...: e.g.
AWS_SECRET_ACCESS_KEY). Each is replaced by a label naming its variable
(`<INVOICES_DB_URL password>`). Strings shorter than 3 characters are left alone: they
would blank out ordinary words, and are no secret anyway.

`guarded()` is the one place it is applied: every resource wraps the code that hands a
secret to a driver (connect, and the block the connection is used in) in it, so an
exception leaves the resource with its text, its notes and its cause and context chain
redacted, before Dagster serializes it into the event log, the compute logs (stderr) and
the run storage. The exception keeps its type where its text can be rewritten in place (most
drivers' errors: the retry policy and callers' `except` clauses still see a psycopg or
pymongo error); otherwise it becomes a `RedactedError` naming the original type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import unquote

from resources.urls import KINDS

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|"
                         r"API_KEY|AUTH_KEY")
MIN_LENGTH = 3


class RedactedError(Exception):
    """An exception whose text could not be redacted in place, carried with its original
    type's name and its redacted text."""


def url_secrets(value: str) -> set[str]:
    """The secret parts of a URL: its password (raw, percent-decoded, and its pieces) and
    the values of `token=` / `password=` parameters."""
    rest = value.partition("://")[2] or value
    password = rest.rpartition("@")[0].partition(":")[2]
    found = {password, unquote(password), *re.split(r"[@/?#:%\s]+", password)}
    for param in re.split(r"[;&?]", rest)[1:]:
        key, _, secret = param.partition("=")
        if key.lower() in ("token", "password", "sslpassword"):
            found |= {secret, unquote(secret)}
    return found


def configured_secrets(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every secret string configured in `environ` (default: this process' environment),
    each with the label that replaces it."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name in KINDS:
        value = env.get(name)
        if value:
            for piece in url_secrets(value):
                found.setdefault(piece, f"<{name} password>")
            found[value] = found[unquote(value)] = f"<{name}>"
    for name, value in env.items():
        if value and SECRET_NAME.search(name.upper()):
            found.setdefault(value, f"<{name}>")
            found.setdefault(unquote(value), f"<{name}>")
    return {text: label for text, label in found.items() if len(text) >= MIN_LENGTH}


def _pattern(secrets: Mapping[str, str]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))


def redact_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every configured secret replaced by the label naming its variable."""
    secrets = configured_secrets(environ)
    pattern = _pattern(secrets)
    return pattern.sub(lambda m: secrets[m[0]], text) if pattern else text


def _text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ shows nothing, so leaks nothing
        text = ""
    return "\n".join([text, *map(str, getattr(exc, "__notes__", []))])


def scrub(exc: BaseException) -> BaseException:
    """`exc` with every configured secret redacted from its text, notes, cause and context
    (in place); a `RedactedError` instead when its own text cannot be rewritten."""
    secrets = configured_secrets()
    pattern = _pattern(secrets)
    if pattern is None:
        return exc
    return _scrub(exc, lambda text: pattern.sub(lambda m: secrets[m[0]], text), set())


def _scrub(exc: BaseException, sub, seen: set[int]) -> BaseException:
    seen.add(id(exc))
    suppress = exc.__suppress_context__
    for link in ("__cause__", "__context__"):
        linked = getattr(exc, link)
        if linked is not None and id(linked) not in seen:
            setattr(exc, link, _scrub(linked, sub, seen))
    exc.__suppress_context__ = suppress
    text = _text(exc)
    if sub(text) == text:
        return exc
    exc.args = tuple(sub(a) if isinstance(a, str) else a for a in exc.args)
    if hasattr(exc, "__notes__"):
        exc.__notes__ = [sub(str(note)) for note in exc.__notes__]
    if sub(_text(exc)) == _text(exc):
        return exc
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    safe = RedactedError(f"{kind}: {sub(text)}").with_traceback(exc.__traceback__)
    safe.__cause__, safe.__context__ = exc.__cause__, exc.__context__
    safe.__suppress_context__ = suppress
    return safe


@contextmanager
def guarded() -> Iterator[None]:
    """Let no configured secret out in the text of an exception raised inside the block."""
    try:
        yield
    except Exception as exc:
        safe = scrub(exc)
        if safe is exc:
            raise
        raise safe from safe.__cause__ or (None if safe.__suppress_context__ else
                                           safe.__context__)


def one_line_errors(main: Callable[[], int]) -> int:
    """A command's `main`, with any failure as one line on stderr (redacted of the
    configured secrets) and exit code 1, not a traceback."""
    import sys

    try:
        return main()
    except Exception as exc:  # noqa: BLE001 - the command's answer to any failure
        text = " ".join(f"{type(exc).__name__}: {exc}".split())  # a driver's lines, joined
        print(f"error: {redact_secrets(text)}", file=sys.stderr)
        return 1
