"""The page people read the answers from: `/app`, static files under `/app/static`, and the
charting library (plotly.js, as shipped in the `plotly` package, a declared dependency)
under `/app/vendor/`. Everything is served from this process: the page works offline
(the Content-Security-Policy that keeps it so: api/headers.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGE_PATH = "/app"


def plotly_js() -> Path:
    """plotly.min.js inside the installed plotly package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def mount_page(app: FastAPI) -> None:
    """Add the page, its static files and the charting library to `app`."""
    router = APIRouter(include_in_schema=False)
    script = plotly_js()

    @router.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse(PAGE_PATH)

    @router.get(PAGE_PATH)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get(f"{PAGE_PATH}/vendor/plotly.min.js")
    def plotly() -> FileResponse:
        return FileResponse(script, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    app.include_router(router)
    app.mount(f"{PAGE_PATH}/static", StaticFiles(directory=STATIC), name="page-static")
