"""The evidence package of one match: a zip a lawyer or a host can check without the monitor.

    report.html    the evidence report (`monitor report --html`), with the timeline
    page.html      the copy's page as served (the bytes the recorded sha256 was taken of)
    headers.json   the response to that fetch: URL, status, time, headers as served
    fetch.warc.gz  the same response as a WARC record (ISO 28500; warcio), readable by any WARC tool
    source.txt     your article's text and copy.txt the copy's, as the passages' offsets point into
    manifest.json  the facts, and the sha256 and size of every file above

The page is kept decoded (what `curl --compressed` saves), so the WARC record's headers drop
Content-Encoding and Transfer-Encoding and give the decoded Content-Length; headers.json keeps
them as they were served.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timezone
from http import HTTPStatus

from monitor import __version__
from monitor.notify.report import render
from monitor.store import Database, Store
from monitor.store.takedown import CopyFetch, copy_fetch
from monitor.takedown.timeline import timeline

FORMAT = "reuse-monitor-evidence/1"
RESHAPED = ("content-encoding", "transfer-encoding", "content-length")  # the body is kept decoded


class EvidenceError(LookupError):
    pass


def warc_record(fetch: CopyFetch) -> bytes:
    """One gzipped WARC response record of the copy's fetch."""
    from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
    from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

    assert fetch.raw_page is not None and fetch.http_status is not None
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    try:
        phrase = HTTPStatus(fetch.http_status).phrase
    except ValueError:
        phrase = ""
    headers = [(k, v) for k, v in fetch.headers.items() if k.lower() not in RESHAPED]
    headers.append(("Content-Length", str(len(fetch.raw_page))))
    http = StatusAndHeaders(f"{fetch.http_status} {phrase}".strip(), headers, protocol="HTTP/1.1")
    when = (fetch.fetched_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    record = writer.create_warc_record(fetch.url, "response", payload=io.BytesIO(fetch.raw_page),
                                       http_headers=http,
                                       warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    writer.write_record(record)
    return out.getvalue()


def package(db: Database, match_id: int, revision: int | None = None) -> bytes:
    """The zip's bytes, of the match as it stands or of an earlier `revision` (the copy as it
    was before a material change: its page, the headers of that fetch, its passages).
    EvidenceError when the match or the revision does not exist."""
    store = Store(db)
    found = store.match_with_texts(match_id)
    if found is None:
        raise EvidenceError(f"no match with id {match_id} (see `monitor matches`)")
    steps = timeline(db, match_id, found[0].detected_at)
    earlier = store.match_revisions(match_id)
    if revision is not None and revision != found[0].revision:
        found = store.revision_with_texts(match_id, revision)
        if found is None:
            raise EvidenceError(f"match {match_id} has no revision {revision} (revisions: "
                                f"{', '.join(str(r.revision) for r in earlier) or 'none before'} and the current one)")
    fetch = copy_fetch(db, match_id, found[0].revision)
    if fetch is None:
        raise EvidenceError(f"no match with id {match_id} (see `monitor matches`)")
    record, source_text, copy_text = found
    files: dict[str, bytes] = {
        "report.html": render(record, source_text, copy_text, [r for r in earlier if r.revision != record.revision],
                              [s.line() for s in steps]).encode("utf-8"),
        "source.txt": source_text.encode("utf-8"),
        "copy.txt": copy_text.encode("utf-8"),
    }
    if fetch.raw_page is not None:
        files["page.html"] = fetch.raw_page
        if fetch.raw_sha256 and hashlib.sha256(fetch.raw_page).hexdigest() != fetch.raw_sha256:
            raise EvidenceError(f"match {match_id}: the stored page no longer has its recorded sha256")
    if fetch.http_status is not None and fetch.raw_page is not None:
        files["headers.json"] = json.dumps(
            {"url": fetch.url, "status": fetch.http_status,
             "fetched_at": fetch.fetched_at.isoformat() if fetch.fetched_at else None,
             "headers": fetch.headers}, indent=2, ensure_ascii=False).encode("utf-8")
        files["fetch.warc.gz"] = warc_record(fetch)
    manifest = {
        "format": FORMAT,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generator": f"Reuse Monitor {__version__}",
        "match_id": match_id,
        "revision": record.revision,
        "kind": record.kind, "score": round(record.score, 4), "coverage": round(record.coverage, 4),
        "source": {"url": record.source_url, "title": record.source_title},
        "copy": {"url": fetch.url, "title": record.copy_title, "http_status": fetch.http_status,
                 "fetched_at": fetch.fetched_at.isoformat() if fetch.fetched_at else None,
                 "raw_sha256": fetch.raw_sha256,
                 "from_feed": fetch.http_status is None},  # no page fetched: the feed carried the text
        "timeline": [s.to_dict() for s in steps],
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in files.items()},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return out.getvalue()
