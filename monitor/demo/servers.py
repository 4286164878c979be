"""Loopback servers for the demo and the end-to-end tests: a blog, an SMTP sink, a webhook receiver,
an RDAP registry.

They run in background threads and bind 127.0.0.1 only.
"""

from __future__ import annotations

import html
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class BlogPost:
    slug: str
    title: str
    text: str


def blogger_page(blog_title: str, post: BlogPost, published: datetime) -> str:
    """A post page shaped like Blogger's: header, sidebar, share widget, labels, comments."""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in post.text.split("\n") if p.strip())
    return f"""<!DOCTYPE html>
<html lang="ms"><head><meta charset="utf-8"><title>{html.escape(post.title)} | {html.escape(blog_title)}</title>
<meta name="generator" content="blogger">
<link rel="alternate" type="application/atom+xml" title="{html.escape(blog_title)} - Atom" href="/feeds/posts/default">
</head><body>
<div class="header-outer"><h1 class="title"><a href="/">{html.escape(blog_title)}</a></h1>
<div class="tabs"><ul><li><a href="/">Home</a></li><li><a href="/p/about.html">About</a></li></ul></div></div>
<div class="main-outer"><div class="date-outer"><h2 class="date-header"><span>{published:%A, %d %B %Y}</span></h2>
<div class="post hentry"><h3 class="post-title entry-title">{html.escape(post.title)}</h3>
<div class="post-body entry-content">{paras}
<div class="share-button-container"><b>Buat lebih berguna, kongsi:</b>
<a class="share-button" href="#twitter">Twitter</a> <a class="share-button" href="#facebook">Facebook</a></div>
</div>
<div class="post-footer"><span class="post-labels">Labels: berita, dunia</span></div></div></div>
<div class="comments" id="comments"><h4>No comments:</h4><p class="comment-footer"><a href="#">Post a Comment</a></p></div></div>
<div class="sidebar"><div class="widget PopularPosts"><h2>Popular Posts</h2><ul><li><a href="/">Lain-lain</a></li></ul></div>
<div class="widget BlogArchive"><h2>Blog Archive</h2><ul><li>2018 (42)</li></ul></div></div>
</body></html>"""


def blogger_feed(blog_title: str, base: str, posts: list[tuple[BlogPost, datetime]]) -> str:
    """A summary-only Atom feed, as Blogger serves when full feeds are off: pages must be fetched."""
    entries = "".join(
        f"""<entry><id>tag:blogger.com,1999:blog-1.post-{i}</id>
<published>{when.isoformat()}</published><updated>{when.isoformat()}</updated>
<title type="text">{html.escape(p.title)}</title>
<summary type="text">{html.escape(p.text[:200])}</summary>
<link rel="alternate" type="text/html" href="{base}/{p.slug}.html" title="{html.escape(p.title)}"/>
</entry>"""
        for i, (p, when) in enumerate(posts))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:blogger.com,1999:blog-1</id>
<title type="text">{html.escape(blog_title)}</title><updated>{datetime.now(timezone.utc).isoformat()}</updated>
<link rel="alternate" type="text/html" href="{base}/"/>{entries}</feed>"""


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port), served from a background thread while open."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep the demo's output readable
        pass


class Blog(LoopbackServer):
    """A Blogger-style blog on loopback: `/` (home), `/feeds/posts/default`, `/<slug>.html`."""

    def __init__(self, title: str, posts: list[BlogPost]) -> None:
        self.title = title
        now = datetime.now(timezone.utc)
        self.posts = [(p, now - timedelta(hours=i)) for i, p in enumerate(posts)]
        self.requests: list[str] = []
        self.taken_down: dict[str, int] = {}  # slug → the status its page answers instead (0: an empty page)
        blog = self

        class Handler(_Quiet):
            def do_GET(self) -> None:  # noqa: N802
                blog.requests.append(self.path)
                body, ctype, status = blog.respond(self.path.split("?")[0])
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def take_down(self, slug: str, status: int = 404) -> None:
        """The blogger removes a post: its page answers `status` (0: an empty page) until put back."""
        self.taken_down[slug] = status

    def put_back(self, slug: str) -> None:
        self.taken_down.pop(slug, None)

    def respond(self, path: str) -> tuple[bytes, str, int]:
        if path == "/robots.txt":
            return b"User-agent: *\nDisallow: /search\n", "text/plain", 200
        if path == "/feeds/posts/default":
            return blogger_feed(self.title, self.url, self.posts).encode(), "application/atom+xml; charset=UTF-8", 200
        if path == "/":
            links = "".join(f'<li><a href="/{p.slug}.html">{html.escape(p.title)}</a></li>' for p, _ in self.posts)
            page = (f'<!DOCTYPE html><html><head><title>{html.escape(self.title)}</title>'
                    f'<meta name="generator" content="blogger"><link rel="alternate" '
                    f'type="application/atom+xml" href="/feeds/posts/default"></head>'
                    f'<body><ul>{links}</ul></body></html>')
            return page.encode(), "text/html; charset=utf-8", 200
        for post, when in self.posts:
            if path == f"/{post.slug}.html" and post.slug in self.taken_down:
                status = self.taken_down[post.slug]
                return (b"<html><body></body></html>", "text/html", 200) if not status else (b"gone", "text/plain", status)
            if path == f"/{post.slug}.html":
                return blogger_page(self.title, post, when).encode(), "text/html; charset=utf-8", 200
        return b"not found", "text/plain", 404


@dataclass
class WebhookReceiver(LoopbackServer):
    """Records every POST; answers with the next status in `statuses` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(_Quiet):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body.decode("utf-8"), "status": status})
                self.send_response(status)
                if status in (429, 503):
                    self.send_header("Retry-After", "3600")
                self.send_header("Content-Length", "0")
                self.end_headers()

        LoopbackServer.__init__(self, Handler)
        self.url += "/hooks/reuse"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if 200 <= r["status"] < 300]


class RDAPServer(LoopbackServer):
    """An RDAP registry (RFC 9083) on loopback: answers `/ip/<ip>` and `/domain/<name>` from
    `answers` (path → the JSON a registry gives), 404 with an RDAP error otherwise. `delays`:
    path prefix → seconds to wait before answering (a registry that is slow to answer)."""

    def __init__(self, answers: dict[str, Any], delays: dict[str, float] | None = None) -> None:
        self.answers, self.delays = answers, delays or {}
        self.requests: list[str] = []
        server = self

        class Handler(_Quiet):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(self.path)
                for prefix, seconds in server.delays.items():
                    if self.path.startswith(prefix):
                        time.sleep(seconds)
                answer = server.answers.get(self.path)
                body = json.dumps(answer or {"errorCode": 404, "title": "Not Found"}).encode()
                self.send_response(200 if answer else 404)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


class SMTPSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps the messages it receives."""

    def __init__(self, port: int | None = None, *, tls: ssl.SSLContext | None = None,
                 starttls: ssl.SSLContext | None = None,
                 login: tuple[str, str] | None = None) -> None:
        """`tls`: implicit TLS; `starttls`: STARTTLS required; `login`: AUTH required."""
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[EmailMessage] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
                return "250 Message accepted for delivery"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = login is not None and (auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=ok)

        self.port = port or free_port()
        options: dict[str, Any] = {}
        if tls is not None:
            options["ssl_context"] = tls
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=True)
        if login is not None:
            # With implicit TLS the whole session is encrypted already: no STARTTLS needed first.
            options.update(authenticator=authenticate, auth_required=True,
                           auth_require_tls=starttls is not None)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **options)

    def __enter__(self) -> SMTPSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def webhook_json(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(record["body"])
