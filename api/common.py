"""What every endpoint shares: the row limit, strict integers and dates, the error shape."""

from __future__ import annotations

import os
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


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"must be a valid 'YYYY-MM-DD' date: {exc}") from exc


PlainInt = Annotated[int, BeforeValidator(_plain_int)]
IsoDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2024-03-10"]),
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
        nxt = request.url.include_query_params(offset=offset + limit)
        headers["Link"] = f'<{nxt}>; rel="next"'
    return Response(body, media_type="application/json", headers=headers)
