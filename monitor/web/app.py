"""The desk's application: pages, the JSON API under /api/v1, /healthz and /metrics.

Nothing from a copy may run in the desk's origin: templates autoescape everything, the
Content-Security-Policy allows no inline script and no other origin, and a copy's raw page is
only ever a text/plain download.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.pipeline import Monitor
from monitor.store.service import session_secret
from monitor.web.auth import LoginLimiter, LoginRequired, user_of
from monitor.web.ops import health, metrics_text

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Every response carries the CSP and friends (a plain ASGI middleware: streams untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                # Server-Timing: the time the desk took to answer (pages are whole when they start).
                timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in have] + [(b"server-timing", timing)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def package_dir(name: str) -> Path:
    return Path(str(resources.files("monitor.web") / name))


def templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(package_dir("templates")), autoescape=True)
    return Jinja2Templates(env=env)


def create_app(monitor: Monitor) -> FastAPI:
    from monitor.web import api, pages
    from monitor.web import notice as notice_pages

    settings = monitor.settings
    app = FastAPI(title="Reuse Monitor desk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.monitor = monitor
    app.state.templates = templates()
    app.state.limiter = LoginLimiter(monitor.db)
    https = bool(settings.web.base_url and settings.web.base_url.startswith("https://"))
    app.add_middleware(SessionMiddleware, secret_key=session_secret(monitor.db), session_cookie="monitor_desk",
                       max_age=14 * 24 * 3600, same_site="lax", https_only=https)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=package_dir("static")), name="static")
    app.include_router(pages.router)
    app.include_router(notice_pages.router)  # the takedown notice (monitor/web/notice.py)
    app.mount("/api/v1", api.create_api(monitor))

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={pages.quote(nxt)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, exc: HTTPException) -> Response:
        return request.app.state.templates.TemplateResponse(
            request, "error.html", {"status": exc.status_code, "message": exc.detail, "user": None},
            status_code=exc.status_code)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # browsers ask; the desk has no icon

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        status, facts = health(monitor.db, settings.web.stale_after)
        return JSONResponse(facts, status_code=status)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if user_of(request) is None:  # Prometheus sends `authorization: Bearer <token>`
            return JSONResponse({"error": "log in or send an API token"}, status_code=401)
        return PlainTextResponse(metrics_text(monitor.db), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
