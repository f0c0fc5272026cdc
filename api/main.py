"""Commerce platform API and page: `GET/POST /ctr`, the read endpoints (venue totals,
industry scores and history, late-payment share, customer insights), `/health`; the page
at `/app`; OpenAPI at `/openapi.json`, Swagger UI at `/docs`, ReDoc at `/redoc` (both from
local files: they work offline).

Start with `uvicorn api.main:app`. It reads ONLY published files under
`$PLATFORM_DATA_DIR/lake/` (the CTR serving copy of the per-minute rollups and the other
domains' `serving/` files, Parquet swapped atomically by Dagster after each commit), with
Polars, so it never opens a warehouse or database file and never waits on a write lock.

Row limit: `CTR_API_MAX_ROWS` (default 100000). A request without `limit` whose answer has
more rows gets a 422 that says so; with `limit` (≤ the maximum) and `offset` it gets one page
and, when more rows follow, `X-Next-Offset` (and, for GET, a `Link: rel="next"`) header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.common import (
    MAX_OFFSET,
    ErrorResponse,
    PlainInt,
    ascii_digits,
    max_rows,
    over_cap,
    page_response,
)
from api.headers import SecurityHeaders
from api.page import mount_page
from api.query import CtrRequest, query_ctr
from api.reads import reads_router
from assets.ctr.serving import PLATFORMS, canonical_platform, serving_root
from resources.lib.serving import lake_from_environment
from resources.lib.storage import Location

TS_FORMAT = "%Y-%m-%d %H:%M:%S"
TS_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"  # ASCII digits
MAX_AGGREGATION = 10_000_000  # minutes (~19 years): one bucket covers any sane range


def _parse_ts(value: str, field: str) -> datetime:
    ascii_digits(value, TS_PATTERN, "a 'YYYY-MM-DD HH:MM:SS' time")
    try:
        return datetime.strptime(value, TS_FORMAT)
    except ValueError as exc:
        raise ValueError(f"{field} must be a valid 'YYYY-MM-DD HH:MM:SS' time: {exc}") from exc


class CtrQuery(BaseModel):
    """A CTR query; all times are GMT-03:00 wall-clock."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "startTimestamp": "2016-02-01 00:00:00",
                    "endTimestamp": "2016-02-01 06:00:00",
                    "aggregation": 60,
                    "platform": "MobileWeb",
                }
            ]
        }
    )

    startTimestamp: str = Field(
        pattern=TS_PATTERN, description="First bucket start (inclusive), 'YYYY-MM-DD HH:MM:SS'."
    )
    endTimestamp: str = Field(
        pattern=TS_PATTERN, description="End of the last bucket (exclusive), after the start."
    )
    aggregation: PlainInt = Field(
        gt=0, le=MAX_AGGREGATION, description="Bucket length in minutes (positive)."
    )
    product: str | None = Field(
        default=None, min_length=1, max_length=200, description="One product (codeColor)."
    )
    platform: str | None = Field(
        default=None,
        max_length=50,
        description="iOS, Android or MobileWeb (any case); returned canonical.",
    )
    limit: PlainInt | None = Field(
        default=None,
        gt=0,
        description="Page size (≤ CTR_API_MAX_ROWS). Without it, an answer over the "
        "maximum is refused with a 422.",
    )
    offset: PlainInt = Field(default=0, ge=0, le=MAX_OFFSET, description="Rows to skip (paging).")

    @field_validator("startTimestamp")
    @classmethod
    def _start(cls, v: str) -> str:
        _parse_ts(v, "startTimestamp")
        return v

    @field_validator("endTimestamp")
    @classmethod
    def _end(cls, v: str, info: Any) -> str:
        end = _parse_ts(v, "endTimestamp")
        start = info.data.get("startTimestamp")
        if start is not None and end <= datetime.strptime(start, TS_FORMAT):
            raise ValueError("endTimestamp must be after startTimestamp")
        return v

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str | None) -> str | None:
        if v is None:
            return None
        canonical = canonical_platform(v)
        if canonical is None:
            raise ValueError(f"platform must be one of {', '.join(PLATFORMS)} (any case)")
        return canonical


class CtrRow(BaseModel):
    timestamp: str = Field(description="Bucket start, GMT-03:00, 'YYYY-MM-DD HH:MM:SS'.")
    platform: str
    product: str
    ctr: float | None = Field(description=(
        "purchases / views, 4 decimals; null if no views. Can exceed 1: a purchase counts in "
        "the bucket it happened in, the view that led to it may be in an earlier bucket, "
        "and one view can lead to several orders."))
    purchases: int
    views: int


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the request's path answers (Starlette's 405 names only
    the first route's), plus OPTIONS, which `method_not_allowed` answers."""
    methods: set[str] = {"OPTIONS"}
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def method_not_allowed(app: FastAPI, request: Request) -> Response:
    """A method no route of the path has: OPTIONS gets 204, anything else 405; both with an
    `Allow` header that lists every method of the path."""
    allow = {"Allow": ", ".join(allowed_methods(app, request))}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    return JSONResponse({"detail": "Method Not Allowed"}, 405, headers=allow)


def create_app(data_dir: str | None = None) -> FastAPI:
    """The app; the lake is read per request from LAKE_URL (a bucket, reached with the
    `AWS_*` variables) or `data_dir`/PLATFORM_DATA_DIR (default ./data/local) + `lake/`."""
    app = FastAPIOffline(title="Commerce platform API", version="1.1.0", description=__doc__)

    def lake() -> Location:
        return lake_from_environment(data_dir)

    def root() -> Location:
        return serving_root(lake())

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 405:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return method_not_allowed(app, request)

    def answer(q: CtrQuery, where: str, request: Request | None) -> Response:
        if (refused := over_cap(q.limit, where)) is not None:
            return refused
        req = CtrRequest(
            start=datetime.strptime(q.startTimestamp, TS_FORMAT),
            end=datetime.strptime(q.endTimestamp, TS_FORMAT),
            aggregation=q.aggregation,
            platforms=(q.platform,) if q.platform else PLATFORMS,
            product=q.product,
        )
        found = query_ctr(root(), req, limit=q.limit or max_rows(), offset=q.offset)
        return page_response(found.body, found.more, q.limit, q.offset, where, request,
                             "the time range, product or platform")

    responses: dict[int | str, dict[str, Any]] = {
        200: {"model": list[CtrRow], "description": "One row per bucket/platform/product."},
        422: {"model": ErrorResponse, "description": "A bad parameter (`loc` names it)."},
    }
    post_responses = {
        **responses,
        400: {"description": "The body is not valid JSON."},
    }

    @app.get("/ctr", response_model=list[CtrRow], responses=responses, tags=["ctr"])
    def get_ctr(request: Request, q: Annotated[CtrQuery, Query()]) -> Response:
        """CTR per time bucket, platform and product (GMT-03:00)."""
        return answer(q, "query", request)

    @app.post("/ctr", response_model=list[CtrRow], responses=post_responses, tags=["ctr"])
    def post_ctr(q: CtrQuery) -> Response:
        """The same query with the fields as a JSON body."""
        return answer(q, "body", None)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Liveness plus how many CTR serving files the API can see (no path: nothing of
        the server's filesystem is shown)."""
        files = sum(1 for e in root().list() if e.rel.endswith(".parquet")
                    and "/platform=" in e.rel and e.rel.count("/") == 2)
        return {"status": "ok", "serving_files": files}

    app.include_router(reads_router(lake))
    mount_page(app)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
