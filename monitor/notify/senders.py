"""Senders: one per configured destination. Each raises DeliveryError on failure."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx
from standardwebhooks.webhooks import Webhook

from monitor.config import AppriseNotifier, ConfigError, EmailNotifier, WebhookNotifier
from monitor.errors import MonitorError
from monitor.fetch.http import seconds_until
from monitor.notify import message
from monitor.redact import redact
from monitor.store import DeliveryJob


class DeliveryError(MonitorError):
    """An alert could not be delivered. `permanent` failures are not retried."""

    def __init__(self, destination: str, reason: str, *, permanent: bool = False,
                 disable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(redact(f"{destination}: {reason}"))  # stored as last_error, logged
        self.permanent = permanent or disable
        self.disable = disable  # the destination itself is gone: stop sending to it
        self.retry_after = retry_after


class Sender(Protocol):
    @property  # read-only: each sender has its own config type and derives its name from it
    def name(self) -> str: ...

    @property
    def config(self) -> EmailNotifier | WebhookNotifier | AppriseNotifier: ...

    async def send(self, job: DeliveryJob) -> None: ...

    async def send_digest(self, jobs: list[DeliveryJob]) -> None: ...


@dataclass
class EmailSender:
    config: EmailNotifier
    desk_url: str | None = None  # web.base_url: messages link each match's page on the desk

    @property
    def name(self) -> str:
        return self.config.name

    async def send(self, job: DeliveryJob) -> None:
        await self._deliver(message.email(job, self.config.sender, self.config.to, desk=self.desk_url))

    async def send_digest(self, jobs: list[DeliveryJob]) -> None:
        key = "msg_digest_" + "_".join(str(j.id) for j in jobs[:8])
        await self._deliver(message.digest_email(jobs, self.config.sender, self.config.to, key, desk=self.desk_url))

    async def _deliver(self, msg: EmailMessage) -> None:
        c = self.config
        try:
            password = c.password() if c.username else None
        except ConfigError as e:  # checked at start-up; the environment of this process lacks it
            raise DeliveryError(self.name, str(e)) from None
        try:
            await aiosmtplib.send(
                msg, hostname=c.host, port=c.port,
                use_tls=c.security == "tls", start_tls=True if c.security == "starttls" else False,
                username=c.username, password=password,
                timeout=c.timeout, cert_bundle=str(c.ca_file) if c.ca_file else None,
            )
        except aiosmtplib.SMTPResponseException as e:
            # 5xx is a refusal that retrying will not fix (bad recipient, auth); 4xx is temporary.
            raise DeliveryError(self.name, f"SMTP {e.code} {e.message}",
                                permanent=500 <= e.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as e:
            raise DeliveryError(self.name, f"{type(e).__name__}: {e}") from None


@dataclass
class WebhookSender:
    config: WebhookNotifier
    client: httpx.AsyncClient
    desk_url: str | None = None  # web.base_url: payloads carry each match's page on the desk

    @property
    def name(self) -> str:
        return self.config.name

    async def send(self, job: DeliveryJob) -> None:
        await self._post(job.idempotency_key, message.payload(job, desk=self.desk_url))

    async def send_digest(self, jobs: list[DeliveryJob]) -> None:
        key = "msg_digest_" + "_".join(str(j.id) for j in jobs[:8])
        await self._post(key, message.digest_payload(jobs, key, desk=self.desk_url))

    async def _post(self, msg_id: str, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        headers = {"content-type": "application/json", "user-agent": "ReuseMonitor-Webhook/1"}
        try:
            secret = self.config.secret()
        except ConfigError as e:  # a secret named but missing or empty: never send unsigned
            raise DeliveryError(self.name, f"not sent unsigned: {e}") from None
        headers.update(sign(msg_id, body, secret, self.config.github_signature))
        try:
            r = await self.client.post(self.config.url, content=body.encode(), headers=headers,
                                       timeout=self.config.timeout)
        except httpx.HTTPError as e:
            raise DeliveryError(self.name, f"{type(e).__name__}: {e}") from None
        if 200 <= r.status_code < 300:
            return
        raise DeliveryError(
            self.name, f"HTTP {r.status_code}",
            disable=r.status_code == 410,  # Gone: the receiver asks us to stop
            retry_after=seconds_until(r.headers.get("retry-after")),
        )



def sign(msg_id: str, body: str, secret: str, github: bool = False) -> dict[str, str]:
    """Standard Webhooks headers (webhook-id, -timestamp, -signature), and optionally GitHub's."""
    if not secret:
        raise ValueError("a webhook is never sent unsigned: no secret")
    now = datetime.now(timezone.utc)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(_standard_secret(secret)).sign(msg_id, now, body)}
    if github:
        raw = _raw_secret(secret)
        headers["x-hub-signature-256"] = "sha256=" + hmac.new(raw, body.encode(), hashlib.sha256).hexdigest()
    return headers


def _standard_secret(secret: str) -> str:
    # The spec's secrets are base64 with a `whsec_` prefix; a plain passphrase is accepted too.
    return secret if secret.startswith("whsec_") else "whsec_" + base64.b64encode(secret.encode()).decode()


def _raw_secret(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()


@dataclass
class AppriseSender:
    """A chat or push channel through Apprise: a short message (kind, score, both URLs, the
    desk link). Apprise says only whether it got through; its own log lines give the reason."""

    config: AppriseNotifier
    desk_url: str | None = None

    @property
    def name(self) -> str:
        return self.config.name

    async def send(self, job: DeliveryJob) -> None:
        title, body = message.chat(job, desk=self.desk_url)
        await self._notify(title, body)

    async def send_digest(self, jobs: list[DeliveryJob]) -> None:
        title, body = message.chat_digest(jobs, desk=self.desk_url)
        await self._notify(title, body)

    async def _notify(self, title: str, body: str) -> None:
        # Apprise's notify() blocks (requests): it runs in a thread, with the channel's socket
        # timeouts set from the config so that a dead channel gives up on its own.
        await asyncio.to_thread(self._notify_blocking, title, body)

    def _notify_blocking(self, title: str, body: str) -> None:
        import apprise  # loaded only when an Apprise destination is configured

        try:
            url = self.config.url()
        except ConfigError as e:  # checked at start-up; the environment of this process lacks it
            raise DeliveryError(self.name, str(e)) from None
        channel = apprise.Apprise.instantiate(url)
        if channel is None:
            raise DeliveryError(self.name, f"{self.config.url_env} does not hold an Apprise URL it knows",
                                permanent=True)
        channel.socket_connect_timeout = self.config.timeout
        channel.socket_read_timeout = self.config.timeout
        with apprise.LogCapture(level=logging.WARNING) as said:
            ok = channel.notify(body=body, title=title)
        if not ok:
            lines = [ln.strip() for ln in said.getvalue().splitlines() if ln.strip()]
            raise DeliveryError(self.name, "; ".join(lines[-2:]) or "Apprise could not deliver it")
