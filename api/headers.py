"""Security headers on every answer of the API: the page, its docs, the JSON and the files.

- `X-Content-Type-Options: nosniff`: a browser takes each body as the type it is served
  with (a JSON answer or a Parquet-derived string is never run as a script or shown as HTML).
- `Content-Security-Policy` (`POLICY`): only this origin's scripts, styles, images, fonts
  and requests, so the pages load nothing from another host (ReDoc's bundle always asks a
  CDN for its logo: under this policy the browser never sends that request); no `eval`
  (plotly.js 4 draws the page's bar and line charts without it: tests/browser); no framing
  by any other page (`frame-ancestors 'none'`), no plugins, no `<base>` elsewhere.
  `'unsafe-inline'` stays for scripts and styles: Swagger UI's and ReDoc's pages start
  from an inline script, and plotly.js sets inline styles.

A plain ASGI middleware (not Starlette's `BaseHTTPMiddleware`): it adds the headers when the
response starts and costs no extra task per request on the CTR API's hot path.
"""

from __future__ import annotations

from typing import Any

POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
          "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
          "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
          "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", POLICY.encode()),
]
_NAMES = {name for name, _ in HEADERS}


class SecurityHeaders:
    """ASGI middleware: every HTTP response gets `HEADERS` (replacing any of the same name)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
                message = {**message, "headers": kept + HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)
