"""Takedown notices: a DMCA notice (every element of 17 U.S.C. § 512(c)(3)(A)) or a plain
copyright infringement notice for hosts outside the US, from Jinja2 templates a user can
override (`notice.templates_dir`: dmca.txt, plain.txt, notice.html), as text, HTML or an
email (.eml); sent through the configured SMTP server, which moves the match to notice_sent
and keeps the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import jinja2

from monitor.config import NoticeContact, Settings
from monitor.errors import ConfigError
from monitor.store import Database, Store
from monitor.store.repo import MatchRecord

VARIANTS = ("dmca", "plain")
BUILTIN = Path(__file__).parent / "templates"
PASSAGES = 6
WIDTH = 400


class NoticeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Notice:
    match_id: int
    variant: str
    subject: str
    text: str
    html: str
    sender: str
    recipients: tuple[str, ...]

    def email(self) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = self.sender
        if self.recipients:
            msg["To"] = ", ".join(self.recipients)
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(f"notice-{self.match_id}", domain="reuse-monitor")
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


def environment(templates_dir: Path | None) -> jinja2.Environment:
    """The user's templates first (any they override), then the built-in ones. HTML is escaped."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise ConfigError(f"notice.templates_dir: {templates_dir} is not a folder")
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN)))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=jinja2.select_autoescape(["html"]),
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _trim(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= WIDTH else s[: WIDTH - 1].rstrip() + "…"


def context(record: MatchRecord, source_text: str, copy_text: str, contact: NoticeContact,
            registered: datetime | None, recipients: list[str]) -> dict[str, Any]:
    passages = [{"work": _trim(source_text[p["source_start"]:p["source_end"]]),
                 "copied": _trim(copy_text[p["copy_start"]:p["copy_end"]])}
                for p in record.evidence.get("passages", [])[:PASSAGES]]
    when = (lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if d else None)
    return {
        "today": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "recipients": recipients,
        "contact": contact.model_dump(),
        "source": {"url": record.source_url, "title": record.source_title,
                   "registered": (registered or record.detected_at).strftime("%Y-%m-%d")},
        "copy": {"url": record.copy_url, "title": record.copy_title, "fetched_at": when(record.fetched_at),
                 "http_status": record.http_status, "raw_sha256": record.raw_sha256},
        "found_at": when(record.detected_at),
        "kind": record.kind, "kind_words": record.kind.replace("_", " "),
        "coverage": f"{record.coverage:.0%}", "passages": passages, "match_id": record.id,
    }


def compose(settings: Settings, db: Database, match_id: int, variant: str = "dmca",
            recipients: list[str] | None = None) -> Notice:
    if variant not in VARIANTS:
        raise NoticeError(f"unknown notice variant {variant!r}; variants: {', '.join(VARIANTS)}")
    contact = settings.notice.contact
    if contact is None:
        raise ConfigError("notice.contact is not set: a notice names its complainant "
                          "(notice: {contact: {name, email, address?, phone?, organisation?}})")
    store = Store(db)
    found = store.match_with_texts(match_id)
    if found is None:
        raise NoticeError(f"no match with id {match_id} (see `monitor matches`)")
    record, source_text, copy_text = found
    info = store.find_source(record.source_url)
    ctx = context(record, source_text, copy_text, contact, info.created_at if info else None, recipients or [])
    env = environment(settings.notice.templates_dir)
    try:
        text = env.get_template(f"{variant}.txt").render(ctx)
        subject = next((ln.removeprefix("Subject:").strip() for ln in text.splitlines() if ln.startswith("Subject:")),
                       f"Copyright infringement notice: {record.copy_url}")
        html = env.get_template("notice.html").render(ctx | {"text": text, "subject": subject})
    except jinja2.TemplateError as e:
        raise ConfigError(f"notice template {getattr(e, 'name', None) or ''}: {e}") from None
    sender = f"{contact.name} <{contact.email}>"
    return Notice(match_id, variant, subject, text, html, sender, tuple(recipients or []))


async def send(settings: Settings, db: Database, notice: Notice, actor: str) -> int:
    """Send the notice through the SMTP server of the first `notify.email` destination; then
    the match is `notice_sent` (the recipients in its history) and the message is kept.
    Returns the kept notice's id."""
    import aiosmtplib

    from monitor.store.takedown import keep_notice
    from monitor.store.triage import match_state
    from monitor.triage import check, triage_match

    if not notice.recipients:
        raise NoticeError("give the address to send the notice to (--to), e.g. the host's abuse contact")
    if not settings.notify.email:
        raise ConfigError("sending a notice uses the SMTP server of notify.email (the first entry); none is configured")
    state = match_state(db, notice.match_id)
    check(state.state, "notice_sent", by_monitor=False)  # before sending: only a confirmed match
    c = settings.notify.email[0]
    msg = notice.email()
    try:
        await aiosmtplib.send(
            msg, hostname=c.host, port=c.port, use_tls=c.security == "tls",
            start_tls=True if c.security == "starttls" else False,
            username=c.username, password=c.password() if c.username else None,
            timeout=c.timeout, cert_bundle=str(c.ca_file) if c.ca_file else None)
    except aiosmtplib.SMTPResponseException as e:
        raise NoticeError(f"the SMTP server {c.host} refused the notice: {e.code} {e.message}") from None
    except (aiosmtplib.SMTPException, OSError) as e:
        raise NoticeError(f"the notice could not be sent through {c.host}:{c.port}: {e}") from None
    kept = keep_notice(db, notice.match_id, actor, notice.recipients, notice.variant, msg.as_bytes())
    triage_match(db, notice.match_id, "notice_sent", actor,
                 note=f"{notice.variant} notice sent to {', '.join(notice.recipients)}")
    return kept
