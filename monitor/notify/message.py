"""What an alert says: webhook payloads and emails, built from outbox jobs.

The copy's text is written by whoever runs the copying site: every value that reaches HTML is
escaped, and the only links are the two URLs, escaped as attribute values, and only when
they are http(s) URLs (`link`): a `javascript:` or `data:` "URL" from a feed is shown as text.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from monitor.store import DeliveryJob

PAYLOAD_VERSION = 1
EXCERPTS = 3
e = html.escape


def is_web_url(url: str) -> bool:
    """An http(s) URL with a host: the only kind of address that is ever made a link."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def link(url: str, label: str | None = None) -> str:
    """HTML for a URL read from the web: a link if it is http(s), else escaped text."""
    shown = e(label if label is not None else url)
    if not is_web_url(url):
        return shown
    return f'<a href="{e(url.strip(), quote=True)}" rel="noopener noreferrer nofollow">{shown}</a>'


def excerpts(job: DeliveryJob, n: int = EXCERPTS, width: int = 300) -> list[tuple[str, str]]:
    """The first aligned passages as (source excerpt, copy excerpt), trimmed for a message."""
    if job.match is None:
        return []
    out = []
    for p in job.match.evidence.get("passages", [])[:n]:
        src = job.source_text[p["source_start"]:p["source_end"]]
        cpy = job.copy_text[p["copy_start"]:p["copy_end"]]
        out.append((_trim(src, width), _trim(cpy, width)))
    return out


def related(job: DeliveryJob) -> list[dict[str, Any]]:
    """Your other articles this post matches only through text they share with this one
    (folded into this match: one alert per copy)."""
    if job.match is None:
        return []
    return [r for r in job.match.evidence.get("related", []) if isinstance(r, dict)]


# --- webhook payloads (documented in the README) -----------------------------------------
def match_page(desk: str | None, match_id: int) -> str | None:
    """The match's page on the desk (`monitor serve`), when web.base_url is set."""
    return f"{desk.rstrip('/')}/matches/{match_id}" if desk else None


def payload(job: DeliveryJob, desk: str | None = None) -> dict[str, Any]:
    base = {"type": job.event, "version": PAYLOAD_VERSION, "id": job.idempotency_key}
    m = job.match
    if m is None:  # feed.failing, feed.recovered, test
        return {**base, **(job.payload or {})}
    return {
        **base,
        "match_id": m.id,
        # a match.reinstated row's own revision is the negative of its triage event's id (one alert per return)
        "revision": m.revision if job.event == "match.reinstated" else job.revision,
        "detected_at": m.detected_at.isoformat(),
        "source": {"url": m.source_url, "title": m.source_title},
        "copy": {"url": m.copy_url, "title": m.copy_title, "http_status": m.http_status,
                 "raw_sha256": m.raw_sha256, "fetched_at": m.fetched_at.isoformat() if m.fetched_at else None},
        "kind": m.kind,
        "score": round(m.score, 4),
        "coverage": round(m.coverage, 4),
        "spin_rate": round(m.spin_rate, 4),
        "passages": m.evidence.get("passages", []),
        "substitutions": m.evidence.get("substitutions", [])[:20],
        "excerpts": [{"source": s, "copy": c} for s, c in excerpts(job)],
        "related": related(job),
        "report": f"monitor report {m.id} --html report-{m.id}.html",
        **({"desk_url": match_page(desk, m.id)} if desk else {}),
    }


def digest_payload(jobs: list[DeliveryJob], key: str, desk: str | None = None) -> dict[str, Any]:
    return {"type": "match.digest", "version": PAYLOAD_VERSION, "id": key,
            "matches": [payload(j, desk) for j in jobs]}


# --- email ---------------------------------------------------------------------------------
def _envelope(subject: str, sender: str, to: list[str], key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(subject)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = f"<{key}@reuse-monitor>"
    return msg


def _match_text(job: DeliveryJob, desk: str | None = None) -> list[str]:
    m = job.match
    assert m is not None
    lines = [
        f"Your article: {m.source_url}" + (f" ({_one_line(m.source_title)})" if m.source_title else ""),
        f"The copy:     {m.copy_url}" + (f" ({_one_line(m.copy_title)})" if m.copy_title else ""),
        f"{_reused(m.coverage)}; score {m.score:.2f}, spin rate {m.spin_rate:.0%}; "
        f"detected {m.detected_at:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    for i, (src, cpy) in enumerate(excerpts(job), 1):
        lines += [f"Passage {i}", f"  yours: {src}", f"  copy:  {cpy}", ""]
    subs = m.evidence.get("substitutions", [])[:8]
    if subs:
        lines += ["Words swapped: " + "; ".join(f"{a} -> {b}" for a, b in subs), ""]
    rel = related(job)
    if rel:
        lines += ["Also matched through text they share with this article (one copy, one alert):"]
        lines += [f"  {r.get('source_url')}" for r in rel] + [""]
    lines.append(f"Full evidence: monitor report {m.id} --html report-{m.id}.html")
    if desk:
        lines.append(f"On the desk: {match_page(desk, m.id)}")
    return lines


def _match_html(job: DeliveryJob, desk: str | None = None) -> str:
    m = job.match
    assert m is not None
    rows = "".join(
        f"<tr><td style='vertical-align:top;padding:4px'>{e(s)}</td>"
        f"<td style='vertical-align:top;padding:4px'>{e(c)}</td></tr>" for s, c in excerpts(job))
    subs = "".join(f"<li>{e(a)} &rarr; {e(b)}</li>" for a, b in m.evidence.get("substitutions", [])[:8])
    return (
        f"<p>Your article: {link(m.source_url, m.source_title or m.source_url)}<br>"
        f"The copy: {link(m.copy_url)}"
        + (f" &ldquo;{e(_one_line(m.copy_title))}&rdquo;" if m.copy_title else "") + "</p>"
        f"<p>{e(_reused(m.coverage))}; score {m.score:.2f}, spin rate {m.spin_rate:.0%}.</p>"
        + (f"<table border='1' style='border-collapse:collapse'><tr><th>Yours</th><th>Copy</th></tr>{rows}</table>"
           if rows else "")
        + (f"<p>Words swapped:</p><ul>{subs}</ul>" if subs else "")
        + (("<p>Also matched through text they share with this article (one copy, one alert):</p><ul>"
            + "".join(f"<li>{e(str(r.get('source_url')))}</li>" for r in related(job)) + "</ul>")
           if related(job) else "")
        + f"<p>Full evidence: <code>monitor report {m.id} --html report-{m.id}.html</code></p>"
        + (f"<p><a href=\"{e(match_page(desk, m.id) or '')}\">Open it on the desk</a></p>" if desk else "")
    )


def _html_doc(body: str) -> str:
    return f"<!doctype html><html><body>{body}</body></html>"


def email(job: DeliveryJob, sender: str, to: list[str], desk: str | None = None) -> EmailMessage:
    m = job.match
    if m is not None:
        what = m.kind.replace("_", " ")
        verb = CHAT_VERBS.get(job.event, "Copy found")
        msg = _envelope(f"{verb} ({what}, {_reused(m.coverage)}): {m.source_title or m.source_url}",
                        sender, to, job.idempotency_key)
        intro = {"match.updated": f"A copy of your article changed materially ({what}).",
                 "match.reinstated": f"A copy of your article that had been removed is back online ({what})."
                 }.get(job.event, f"A post appears to copy your article ({what}).")
        msg.set_content("\n".join([intro, "", *_match_text(job, desk)]))
        msg.add_alternative(_html_doc(f"<p>{e(intro)}</p>" + _match_html(job, desk)), subtype="html")
        return msg
    p = job.payload or {}
    if job.event in ("feed.failing", "feed.recovered"):
        if job.event == "feed.failing":
            subject = f"Feed failing: {p.get('url')}"
            text = (f"The watched feed {p.get('url')} has failed {p.get('error_count')} times in a row.\n"
                    f"Last error: {p.get('last_error')}\nIt is retried with back-off; "
                    f"`monitor feeds list` shows its state.")
        else:
            subject = f"Feed recovered: {p.get('url')}"
            text = f"The watched feed {p.get('url')} is readable again."
    else:  # test
        subject = "Reuse Monitor test message"
        text = f"This is a test of the destination {job.destination}. Alerts will arrive like this one."
    msg = _envelope(subject, sender, to, job.idempotency_key)
    msg.set_content(text)
    msg.add_alternative(_html_doc("".join(f"<p>{e(line)}</p>" for line in text.split("\n"))), subtype="html")
    return msg


def digest_email(jobs: list[DeliveryJob], sender: str, to: list[str], key: str,
                 desk: str | None = None) -> EmailMessage:
    msg = _envelope(f"{len(jobs)} new cop{'y' if len(jobs) == 1 else 'ies'} of your articles",
                    sender, to, key)
    text, body = [f"{len(jobs)} match(es) since the last digest.", ""], [f"<p>{len(jobs)} match(es) since the last digest.</p>"]
    for i, job in enumerate(jobs, 1):
        text += [f"{i}.", *_match_text(job, desk), ""]
        body.append(f"<h3>{i}.</h3>" + _match_html(job, desk))
    msg.set_content("\n".join(text))
    msg.add_alternative(_html_doc("".join(body)), subtype="html")
    return msg


# --- chat and push (Apprise) ------------------------------------------------------------
CHAT_VERBS = {"match.created": "Copy found", "match.updated": "Copy changed", "match.reinstated": "Copy back online"}


def _chat_match(job: DeliveryJob, desk: str | None) -> list[str]:
    m = job.match
    assert m is not None
    lines = [f"{m.kind.replace('_', ' ')}, score {m.score:.2f} ({_reused(m.coverage)})",
             f"Yours: {m.source_url}", f"Copy: {m.copy_url}"]
    if desk:
        lines.append(f"Desk: {match_page(desk, m.id)}")
    return lines


def chat(job: DeliveryJob, desk: str | None = None) -> tuple[str, str]:
    """(title, body) of a short plain-text message for a chat or push channel."""
    m = job.match
    if m is not None:
        verb = CHAT_VERBS.get(job.event or "", "Copy found")
        return (_one_line(f"{verb}: {m.source_title or m.source_url}"), "\n".join(_chat_match(job, desk)))
    p = job.payload or {}
    if job.event == "feed.failing":
        return (_one_line(f"Feed failing: {p.get('url')}"),
                f"{p.get('error_count')} failures in a row; last error: {p.get('last_error')}")
    if job.event == "feed.recovered":
        return _one_line(f"Feed recovered: {p.get('url')}"), f"The watched feed {p.get('url')} is readable again."
    return "Reuse Monitor test message", f"This is a test of the destination {job.destination}."


def chat_digest(jobs: list[DeliveryJob], desk: str | None = None) -> tuple[str, str]:
    parts = []
    for i, job in enumerate(jobs, 1):
        title, body = chat(job, desk)
        parts.append(f"{i}. {title}\n{body}")
    return f"{len(jobs)} new cop{'y' if len(jobs) == 1 else 'ies'} of your articles", "\n\n".join(parts)


def probe_job(destination: str) -> DeliveryJob:
    now = datetime.now(timezone.utc)
    return DeliveryJob(0, destination, 0, f"msg_test_{int(now.timestamp())}", "test",
                       payload={"message": "Reuse Monitor test message", "sent_at": now.isoformat()})


def _reused(coverage: float) -> str:
    # The one figure a subject line and a body both quote, named: a bare "9 %" beside a
    # score of 1.00 read as two contradicting verdicts.
    return f"{coverage:.0%} of your article reused"


def _trim(s: str, width: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def _one_line(s: str) -> str:
    return " ".join(s.split())[:160]
