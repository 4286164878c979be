"""What an alert says: the webhook payload and the email, built from a stored match.

The copy's text is written by whoever runs the copying site: every value that reaches HTML is
escaped, and links are only ever the two URLs, escaped as attribute values.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from typing import Any

from monitor.store import DeliveryJob

PAYLOAD_VERSION = 1
EXCERPTS = 3


def excerpts(job: DeliveryJob, n: int = EXCERPTS, width: int = 300) -> list[tuple[str, str]]:
    """The first aligned passages as (source excerpt, copy excerpt), trimmed for a message."""
    out = []
    for p in job.match.evidence.get("passages", [])[:n]:
        src = job.source_text[p["source_start"]:p["source_end"]]
        cpy = job.copy_text[p["copy_start"]:p["copy_end"]]
        out.append((_trim(src, width), _trim(cpy, width)))
    return out


def payload(job: DeliveryJob) -> dict[str, Any]:
    """The webhook body (version 1, documented in the README)."""
    m = job.match
    return {
        "type": "match.created",
        "version": PAYLOAD_VERSION,
        "id": job.idempotency_key,
        "match_id": m.id,
        "detected_at": m.detected_at.isoformat(),
        "source": {"url": m.source_url, "title": m.source_title},
        "copy": {"url": m.copy_url, "title": m.copy_title, "http_status": m.http_status,
                 "raw_sha256": m.raw_sha256},
        "kind": m.kind,
        "score": round(m.score, 4),
        "coverage": round(m.coverage, 4),
        "spin_rate": round(m.spin_rate, 4),
        "passages": m.evidence.get("passages", []),
        "substitutions": m.evidence.get("substitutions", [])[:20],
        "excerpts": [{"source": s, "copy": c} for s, c in excerpts(job)],
        "report": f"monitor report {m.id}",
    }


def email(job: DeliveryJob, sender: str, to: list[str]) -> EmailMessage:
    m = job.match
    pct = f"{m.score:.0%}"
    msg = EmailMessage()
    msg["Subject"] = f"Copy found ({m.kind.replace('_', ' ')}, {pct}): {_one_line(m.source_title or m.source_url)}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = f"<{job.idempotency_key}@reuse-monitor>"
    lines = [
        f"A post appears to copy your article ({m.kind.replace('_', ' ')}).",
        "",
        f"Your article: {m.source_url}",
        f"The copy:     {m.copy_url}" + (f" ({_one_line(m.copy_title)})" if m.copy_title else ""),
        f"Score {m.score:.2f}, coverage {m.coverage:.0%}, spin rate {m.spin_rate:.0%}, "
        f"detected {m.detected_at:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    for i, (src, cpy) in enumerate(excerpts(job), 1):
        lines += [f"Passage {i}", f"  yours: {src}", f"  copy:  {cpy}", ""]
    subs = m.evidence.get("substitutions", [])[:8]
    if subs:
        lines.append("Words swapped: " + "; ".join(f"{a} -> {b}" for a, b in subs))
    lines += ["", f"Full evidence: monitor report {m.id} --html report.html"]
    msg.set_content("\n".join(lines))

    e = html.escape
    rows = "".join(
        f"<tr><td style='vertical-align:top;padding:4px'>{e(s)}</td>"
        f"<td style='vertical-align:top;padding:4px'>{e(c)}</td></tr>"
        for s, c in excerpts(job))
    subs_html = "".join(f"<li>{e(a)} &rarr; {e(b)}</li>" for a, b in subs)
    body = (
        f"<p>A post appears to copy your article ({e(m.kind.replace('_', ' '))}).</p>"
        f"<p>Your article: <a href=\"{e(m.source_url, quote=True)}\">{e(m.source_title or m.source_url)}</a><br>"
        f"The copy: <a href=\"{e(m.copy_url, quote=True)}\">{e(m.copy_url)}</a>"
        + (f" &ldquo;{e(_one_line(m.copy_title))}&rdquo;" if m.copy_title else "") + "</p>"
        f"<p>Score {m.score:.2f}, coverage {m.coverage:.0%}, spin rate {m.spin_rate:.0%}.</p>"
        f"<table border='1' style='border-collapse:collapse'><tr><th>Yours</th><th>Copy</th></tr>{rows}</table>"
        + (f"<p>Words swapped:</p><ul>{subs_html}</ul>" if subs_html else "")
        + f"<p>Full evidence: <code>monitor report {m.id} --html report.html</code></p>"
    )
    msg.add_alternative(f"<!doctype html><html><body>{body}</body></html>", subtype="html")
    return msg


def _trim(s: str, width: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def _one_line(s: str) -> str:
    return " ".join(s.split())[:120]
