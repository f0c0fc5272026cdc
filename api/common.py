"""What every endpoint shares: the row limit, strict integers and dates, the error shape."""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

MAX_OFFSET = 1_000_000_000


def max_rows() -> int:
    """The most rows one answer holds (`CTR_API_MAX_ROWS`, default 100000); page beyond it."""
    try:
        return max(1, int(os.environ.get("CTR_API_MAX_ROWS", "100000")))
    except ValueError:
        return 100_000


def _plain_int(value: Any) -> Any:
    """An integer field takes a JSON integer or, in a query string, ASCII digits (an
    optional '-'), nothing else: pydantic's lax mode would read `true` as 1 and accept
    ' 10', '+10' or '1_0', and a float as its integer."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer")
    if isinstance(value, str):
        digits = value.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError("must be an integer written with the digits 0-9")
        return int(value)
    return value


DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # ASCII digits: `\d` would take '２０２４'


def ascii_digits(value: str, pattern: str, what: str) -> str:
    """`value` when it matches `pattern` in ASCII (digits 0-9 only), else a ValueError
    saying what was expected: Python's date and time parsers accept any Unicode digit."""
    if not re.fullmatch(pattern, value, flags=re.ASCII):
        raise ValueError(f"must be {what} written with the digits 0-9")
    return value


def _iso_date(value: str) -> date:
    ascii_digits(value, DATE_PATTERN, "a 'YYYY-MM-DD' date")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:  # e.g. month 13, or year 0 (the range is 0001..9999)
        raise ValueError(f"must be a valid 'YYYY-MM-DD' date: {exc}") from exc


PlainInt = Annotated[int, BeforeValidator(_plain_int)]
IsoDate = Annotated[
    str, Field(pattern=DATE_PATTERN, examples=["2024-03-10"]),
    AfterValidator(_iso_date),
]


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: list[ErrorDetail]


def error(field: str, where: str, msg: str, kind: str = "value_error") -> JSONResponse:
    """A 422 in FastAPI's own shape, `loc` naming the field."""
    return JSONResponse(
        status_code=422, content={"detail": [{"loc": [where, field], "msg": msg, "type": kind}]}
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "A bad parameter (`loc` names it)."},
}


def over_cap(limit: int | None, where: str) -> JSONResponse | None:
    """The 422 for a `limit` above the row limit; None when it is within."""
    cap = max_rows()
    if limit is not None and limit > cap:
        return error("limit", where, f"limit must be ≤ {cap} (CTR_API_MAX_ROWS)")
    return None


def page_response(body: bytes, more: bool, limit: int | None, offset: int, where: str,
                  request: Request | None, narrow: str) -> Response:
    """A JSON answer of one page. More rows after it: without `limit` a 422 that says how to
    `narrow` the question; with it, `X-Next-Offset` (and, given the request, a `Link`)."""
    if not more:
        return Response(body, media_type="application/json")
    if limit is None:
        return error("limit", where, f"the answer has more than {max_rows()} rows "
                     f"(CTR_API_MAX_ROWS): narrow {narrow}, or page with limit and offset",
                     "too_many_rows")
    headers = {"X-Next-Offset": str(offset + limit)}
    if request is not None:
        headers["Link"] = f'<{next_page(request, offset + limit)}>; rel="next"'
    return Response(body, media_type="application/json", headers=headers)


def next_page(request: Request, offset: int) -> str:
    """The next page as a relative reference (path and query): never built from the
    request's `Host` header, which the client chooses (RFC 8288 resolves it against the
    request's own URL)."""
    url = request.url.include_query_params(offset=offset)
    return f"{url.path}?{url.query}"
