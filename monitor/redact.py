"""Secrets out of everything the monitor prints, logs or stores about itself.

Database URLs carry passwords; webhook URLs carry tokens in their query string or path (Slack,
Discord, Teams, Zapier …). `redact` is the one function that hides them, for a URL or for a
message with URLs in it; the command line's error line, every log line, destination names
(and so the outbox table) and `notify test` go through it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

HIDDEN = "***"

# Query parameters whose value is a credential in a URL that is not itself a secret (a feed's).
_SECRET_KEYS = re.compile(r"(?i)(token|key|secret|sig|signature|pass|pwd|auth|session|sid|code|credential|hash)")

# Hosts whose webhook URLs hold the token in the path: the path segments kept before it.
_PATH_TOKENS = {
    "hooks.slack.com": 1,  # /services/T…/B…/token
    "discord.com": 2,  # /api/webhooks/id/token
    "discordapp.com": 2,
    "hooks.zapier.com": 2,  # /hooks/catch/id/token
    "outlook.office.com": 1,  # /webhook/…
    "api.telegram.org": 0,  # /bot<token>/…
}
_PATH_TOKEN_SUFFIXES = (".webhook.office.com",)  # Teams: /webhookb2/…

# A URL with a scheme, inside free text; stops at spaces, quotes and brackets.
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>()\[\]{}]+""")


def redact(text: str, *, whole_query: bool = False, secret_url: bool = False) -> str:
    """`text` (a URL, or a message with URLs in it) with passwords and tokens replaced by ***.

    In each URL: the password of `user:password@`; the value of query parameters that look
    like credentials (every query value with `whole_query`); the path tokens of known webhook
    hosts. With `secret_url`, for URLs that are credentials themselves (webhook addresses, whose
    path is often the token): everything after the host.
    """
    return _URL_IN_TEXT.sub(lambda m: _redact_url(m.group(0), whole_query, secret_url), text)


def _redact_url(url: str, whole_query: bool, secret_url: bool = False) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an invalid port or IPv6 literal: hide everything after the scheme
        return url.split("://", 1)[0] + "://" + HIDDEN
    if secret_url and (parts.path.strip("/") or parts.query or parts.fragment):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/{HIDDEN}"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, at, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{colon}{HIDDEN if colon else ''}{at}{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if "=" not in query or not pairs:  # not key=value: a bare token
            query = HIDDEN
        else:
            query = "&".join(f"{k}={HIDDEN if whole_query or _SECRET_KEYS.search(k) else v}" for k, v in pairs)
    path = parts.path
    keep = _PATH_TOKENS.get(host)
    if keep is None and host.endswith(_PATH_TOKEN_SUFFIXES):
        keep = 1
    if keep is not None:
        segments = path.split("/")  # "" first: the path starts with "/"
        if len(segments) > keep + 1:
            path = "/".join([*segments[: keep + 1], HIDDEN])
    fragment = HIDDEN if parts.fragment and whole_query else parts.fragment
    if (netloc, query, path, fragment) == (parts.netloc, parts.query, parts.path, parts.fragment):
        return url  # nothing hidden: the URL exactly as given
    # Built by hand: urlunsplit drops the "//" of an empty host (sqlite:///file.db).
    return (f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")
            + (f"#{fragment}" if fragment else ""))
