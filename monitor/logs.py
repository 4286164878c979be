"""Structured log lines: key=value (default) or JSON, with the feed, post, match and delivery ids
of the work under way on every line, and secrets redacted from every line.

The ids come from a context variable that the pipeline sets where a feed, a post or a delivery
is handled (`bind`/`context`); asyncio tasks copy it, so concurrent feeds never mix their ids.
A call may also pass them itself: `log.info(..., extra={"match": 12})`.
"""

from __future__ import annotations

import json
import os
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from monitor.config import Settings

IDS = ("feed", "post", "match", "delivery")
LogFormat = Literal["text", "json"]

_ids: ContextVar[dict[str, object]] = ContextVar("monitor_log_ids", default={})  # noqa: B039 - never mutated


def bind(**ids: object) -> Token[dict[str, object]]:
    """Add ids to every line logged from here on in this task; `unbind` the token when done."""
    return _ids.set({**_ids.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind(token: Token[dict[str, object]]) -> None:
    _ids.reset(token)


@contextmanager
def context(**ids: object) -> Iterator[None]:
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)


def current_ids() -> dict[str, object]:
    return dict(_ids.get())


# --- redaction ---------------------------------------------------------------------------
MASK = "***"
_known: dict[str, str] = {}  # secret value → what is shown instead
_PATTERNS = [
    # user:password@ in a URL
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I), rf"\g<keep>{MASK}@"),
    # token-like query or form parameters
    (re.compile(r"(?P<keep>[?&;](?:access_token|api[_-]?key|apikey|auth|key|password|passwd|secret|"
                r"sig|signature|token)=)[^&\s#\"']+", re.I), rf"\g<keep>{MASK}"),
    # Authorization headers and Standard Webhooks secrets
    (re.compile(r"(?P<keep>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<keep>{MASK}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), f"whsec_{MASK}"),
]


def add_secret(value: str | None, shown: str = MASK) -> None:
    """Never show `value` in a log line; `shown` stands in its place."""
    if value and len(value) >= 4:  # shorter values would mask ordinary words
        _known[value] = shown


def redacted_url(url: str) -> str:
    """A URL that may carry a token in its path (Slack, Discord, Teams hooks): scheme and host only."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return MASK
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{MASK}" if parts.path.strip("/") or parts.query else url


def add_settings_secrets(settings: Settings) -> None:
    """The config's secrets: SMTP passwords, webhook signing secrets, and webhook URLs (whose
    path or query is often the credential itself)."""
    for email in settings.notify.email:
        add_secret(email.password())
    for hook in settings.notify.webhooks:
        secret = hook.secret()
        add_secret(secret)
        if secret and secret.startswith("whsec_"):
            add_secret(secret.removeprefix("whsec_"))
        add_secret(hook.url, redacted_url(hook.url))
    for channel in settings.notify.apprise:
        if os.environ.get(channel.url_env, "").strip():  # checked at start-up; `notify test` names it
            add_secret(channel.url(), f"[{channel.name}]")


def redact(text: str) -> str:
    """`text` with every known secret and every credential-looking URL part masked.

    URLs go through `monitor.redact.redact`, the redaction of database errors, destination
    names and the command line's error lines too."""
    from monitor.redact import redact as redact_urls

    for value in sorted(_known, key=len, reverse=True):  # a URL before a token inside it
        if value in text:
            text = text.replace(value, _known[value])
    text = redact_urls(text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


# --- formatters --------------------------------------------------------------------------
def fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, object]:
    """One line's fields: time, level, logger, the ids in scope, message (and traceback)."""
    out: dict[str, object] = {
        "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    ids = _ids.get()
    for key in IDS:
        value = getattr(record, key, None)
        if value is None:
            value = ids.get(key)
        if value is not None:
            out[key] = value
    out["msg"] = redact(record.getMessage())
    if record.exc_info:
        out["error"] = redact(formatter.formatException(record.exc_info))
    elif record.exc_text:
        out["error"] = redact(record.exc_text)
    return out


_BARE = re.compile(r"[^\s=\"\\]+")


def _kv(value: object) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=info logger=monitor feed=3 post=17 msg="…"`: one line, grep- and logfmt-friendly."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv(v)}" for k, v in fields(record, self).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields(record, self), ensure_ascii=False, default=str)


QUIET = ("httpx", "httpcore", "apscheduler", "alembic", "aiosmtplib", "mail.log")


def configure(fmt: LogFormat = "text", verbose: bool = False, stream: Any = None) -> logging.Handler:
    """Send the process's log lines to stderr (or `stream`) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_monitor", False)]:
        root.removeHandler(old)
    handler._monitor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler
