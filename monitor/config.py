"""Typed configuration: `config/monitor.yaml`, overridden by `MONITOR_*` environment variables.

Precedence (highest first): explicit overrides from the command line, environment variables
(`MONITOR_DATABASE_URL`, `MONITOR_DETECTION__MIN_SCORE`, …), the YAML file, defaults.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.errors import ConfigError
from monitor.redact import redact

DEFAULT_CONFIG = Path("config/monitor.yaml")

__all__ = ["ConfigError", "Settings", "check_destinations", "load"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceEntry(_Strict):
    """One entry of `sources`: an article URL, a local file (with its public url), or a feed."""

    url: str | None = None
    file: Path | None = None
    feed: str | None = None
    title: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SourceEntry:
        given = [k for k in ("url", "file", "feed") if getattr(self, k)]
        if given not in (["url"], ["file"], ["url", "file"], ["feed"]):
            raise ValueError("give url (an article), file (with an optional url: where it is "
                             f"published) or feed; got {', '.join(given) or 'none'}")
        return self


class WatchEntry(_Strict):
    """A feed or blog home page to poll."""

    url: str
    interval: int = Field(60, ge=1, le=24 * 60, description="minutes between checks")
    name: str | None = None


class DestinationRules(_Strict):
    """What one destination wants to hear about."""

    min_score: float = Field(0.0, ge=0.0, le=1.0)  # matches scoring below this are not sent here
    sources: list[str] = []  # only matches of sources whose URL contains one of these (empty: all)
    digest: Literal["hourly", "daily"] | None = None  # one message per period instead of one per match
    feed_alerts: bool = True  # also tell this destination when a watched feed keeps failing

    def wants(self, source_url: str, score: float) -> bool:
        return score >= self.min_score and (not self.sources or any(s in source_url for s in self.sources))


class EmailNotifier(DestinationRules):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    timeout: float = 30.0
    ca_file: Path | None = None  # PEM bundle to trust for a server with a private CA

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def password(self) -> str | None:
        return _secret(self.password_env)

    @property
    def name(self) -> str:
        return f"email:{','.join(self.to)}"


class WebhookNotifier(DestinationRules):
    url: str
    # The env var holding the signing secret (`whsec_…` or a passphrase). Required: a webhook
    # is never sent unsigned (a receiver could not tell ours from a forger's).
    secret_env: str = Field(min_length=1)
    github_signature: bool = False  # also send X-Hub-Signature-256
    timeout: float = 30.0

    def secret(self) -> str:
        value = _secret(self.secret_env)
        assert value is not None  # secret_env is required
        return value

    @property
    def name(self) -> str:
        """How logs, the outbox and `notify test` name it: tokens hidden (webhook URLs are
        credentials), with a digest of the whole URL so two hooks on one host stay apart."""
        shown = redact(self.url, secret_url=True)
        if shown == self.url:
            return f"webhook:{self.url}"
        return f"webhook:{shown}#{hashlib.sha256(self.url.encode()).hexdigest()[:8]}"

    @property
    def legacy_name(self) -> str:
        """The name before tokens were hidden: alerts queued then are still this destination's."""
        return f"webhook:{self.url}"


class AppriseNotifier(DestinationRules):
    """A chat or push channel through Apprise (Slack, Discord, Teams, Telegram, Matrix, ntfy, …).

    The Apprise URL carries the channel's token, so the config names the environment variable
    that holds it, never the URL itself."""

    url_env: str
    timeout: float = 30.0  # connect, and each read

    def url(self) -> str:
        value = _secret(self.url_env)
        assert value is not None
        return value.strip()

    @property
    def name(self) -> str:
        return f"apprise:{self.url_env}"


class NotifyConfig(_Strict):
    email: list[EmailNotifier] = []
    webhooks: list[WebhookNotifier] = []
    apprise: list[AppriseNotifier] = []
    max_attempts: int = Field(20, ge=1)  # retries spread by back-off over about three days
    feed_failures: int = Field(5, ge=0)  # alert when a watched feed fails this many times in a row (0: never)

    def destinations(self) -> list[EmailNotifier | WebhookNotifier | AppriseNotifier]:
        return [*self.email, *self.webhooks, *self.apprise]


class DetectionConfig(_Strict):
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    rewrites: bool = True  # also look for a sentence-by-sentence re-telling (kind rewrite)
    # The semantic tier (sentence embeddings, monitor/detect/README.md "Semantic tier"): "auto"
    # runs it when its optional extra and model are installed (installing them is the opt-in:
    # the default install has neither), true asks for it (a warning if they are missing), false
    # keeps it off. Seconds of CPU for each post that reaches it.
    semantic: bool | Literal["auto"] = "auto"
    # A new source is compared with the posts stored in this many days (0: none); `monitor rescan`.
    recheck_days: int = Field(default=30, ge=0)
    # A source's text longer than this is refused: one comparison costs time and memory in
    # proportion (a 50 MB file took ~11 s and 1.7 GB each). About 2 MB of text.
    max_source_chars: int = Field(default=2_000_000, ge=1000)


class FetchConfig(_Strict):
    timeout: float = Field(20.0, gt=0)  # connect, and each read
    total_timeout: float = Field(60.0, gt=0)  # a whole response: stops servers that trickle bytes
    max_bytes: int = Field(15 * 1024 * 1024, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(16, ge=1)
    per_host: int = Field(2, ge=1)
    respect_robots: bool = True
    allow_private_networks: bool = False  # loopback/private addresses are refused unless true


class AllowEntry(_Strict):
    """A site that may republish: all your sources, or only the one whose URL is `source`."""

    site: str  # a host or registrable domain: www.partner.example allows all of partner.example
    source: str | None = None

    @field_validator("site")
    @classmethod
    def _a_host(cls, v: str) -> str:
        from monitor.sites import site_of, site_of_host

        site = site_of(v) if "://" in v else site_of_host(v)
        if not site or "/" in site or " " in site:
            raise ValueError(f"{v!r} is not a site (give a host name such as partner.example)")
        return site


class AllowConfig(_Strict):
    """Who may republish: their matches are stored as licensed and do not alert."""

    sites: list[AllowEntry] = []
    # A copy whose rel=canonical names your article's URL declares itself a syndicated copy:
    # licensed with that reason. (An attribution line alone is not a licence: autoblogs add one.)
    syndication: bool = True

    @model_validator(mode="before")
    @classmethod
    def _list_or_mapping(cls, v: Any) -> Any:
        if isinstance(v, list):  # allow: [partner.example, {site: …, source: …}]
            v = {"sites": v}
        if isinstance(v, dict) and isinstance(v.get("sites"), list):
            v = {**v, "sites": [{"site": e} if isinstance(e, str) else e for e in v["sites"]]}
        return v


class WebConfig(_Strict):
    """`monitor serve`: the desk and its JSON API."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # The desk's public address (https://desk.example/); alerts then link each match's page.
    base_url: str | None = None
    stale_after: int = Field(900, ge=10, description="seconds without a completed cycle before /healthz says 503")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")


class NoticeContact(_Strict):
    """The complainant: who the notice is from (the rights holder or their agent)."""

    name: str
    email: str
    organisation: str | None = None
    address: str | None = None  # postal address, one string (lines may be separated by newlines)
    phone: str | None = None
    title: str | None = None  # e.g. "Managing editor, authorised to act for the rights holder"


class NoticeConfig(_Strict):
    """From a confirmed match to a removed copy (monitor/takedown)."""

    # Confirmed and noticed copies are read again this often: gone, or back.
    recheck_hours: float = Field(24.0, gt=0)
    contact: NoticeContact | None = None  # needed to write a notice
    templates_dir: Path | None = None  # your own notice templates (same names as monitor/takedown/templates)
    # RDAP (the registries' WHOIS in JSON): where to ask about an IP network and a domain. The
    # defaults are rdap.org's redirects to the registry that holds the answer.
    rdap_ip_url: str = "https://rdap.org/ip/"
    rdap_domain_url: str = "https://rdap.org/domain/"
    rdap_timeout: float = Field(10.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite file under data_dir
    user_agent: str = "ReuseMonitor/0.1 (+https://github.com/reuse-monitor)"
    tick_seconds: int = Field(30, ge=1, description="how often `monitor run` looks for due feeds")
    sources: list[SourceEntry] = []
    watch: list[WatchEntry] = []
    notify: NotifyConfig = NotifyConfig()
    detection: DetectionConfig = DetectionConfig()
    fetch: FetchConfig = FetchConfig()
    allow: AllowConfig = AllowConfig()
    web: WebConfig = WebConfig.model_validate({})  # (not WebConfig(): mypy without the pydantic plugin)
    notice: NoticeConfig = NoticeConfig.model_validate({})

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'monitor.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init_settings carries the YAML file's values merged with CLI overrides (see load()).
        return (env_settings, init_settings)


def _secret(env_name: str | None) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"environment variable {env_name} is not set (named by the config)")
    if not value.strip():
        raise ConfigError(f"environment variable {env_name} is empty (named by the config)")
    return value


def check_destinations(settings: Settings) -> list[str]:
    """Check that every secret the alert destinations name is there, before anything is sent.

    Raises ConfigError naming each destination and variable at fault (a variable not set, or
    set to nothing: a webhook is never sent unsigned). Returns notes worth a warning (none
    today: kept for the callers).
    `run`, `serve` and `notify test` call this when the config is loaded.
    """
    problems: list[str] = []
    notes: list[str] = []
    for i, d in enumerate(settings.notify.email):
        if d.password_env:
            problems += _missing(f"notify.email.{i}.password_env", d.name, d.password_env)
    for i, w in enumerate(settings.notify.webhooks):
        problems += _missing(f"notify.webhooks.{i}.secret_env", w.name, w.secret_env)
    for i, a in enumerate(settings.notify.apprise):
        key = f"notify.apprise.{i}.url_env"
        missing = _missing(key, a.name, a.url_env)
        if missing:
            problems += missing
        elif not apprise_url_ok(a.url()):
            problems.append(f"  {key}: {a.name}: environment variable {a.url_env} does not hold an Apprise URL "
                            "it knows (e.g. ntfys://ntfy.sh/topic, slack://…, json://host/path)")
    if problems:
        raise ConfigError(f"{len(problems)} alert destination(s) cannot be used:\n" + "\n".join(problems))
    return notes


def apprise_url_ok(url: str) -> bool:
    """Whether Apprise knows the URL's scheme and can read it (nothing is sent)."""
    import apprise  # loaded only when an Apprise destination is configured

    return apprise.Apprise.instantiate(url) is not None


def _missing(key: str, destination: str, env_name: str) -> list[str]:
    value = os.environ.get(env_name)
    if value is None:
        return [f"  {key}: {destination}: environment variable {env_name} is not set"]
    if not value.strip():
        return [f"  {key}: {destination}: environment variable {env_name} is empty"]
    return []


def load(path: Path | None = None, **overrides: Any) -> Settings:
    """Load the YAML file (if any) and the environment; raise ConfigError naming the bad key.

    `path` None means `$MONITOR_CONFIG` or `config/monitor.yaml` when it exists, else defaults.
    `overrides` (from the command line) win over both.
    """
    if path is None:
        env_path = os.environ.get("MONITOR_CONFIG")
        path = Path(env_path) if env_path else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path}: the top level must be a mapping of keys")
        data = loaded or {}
        # Relative paths in the file are relative to the file, not to where monitor runs.
        base = Path(path).resolve().parent
        for entry in data.get("sources") or []:
            if isinstance(entry, dict) and entry.get("file") and not Path(entry["file"]).is_absolute():
                entry["file"] = str(base / entry["file"])
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError(_explain(e, path)) from None


def _explain(e: ValidationError, path: Path | None) -> str:
    where = f"config file {path}" if path else "configuration"
    lines = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (a typo?)"
        elif err["type"] == "missing" and key.endswith(".secret_env"):
            msg = ("required: webhooks are always signed; name the environment variable that holds "
                   "the signing secret")
        lines.append(f"  {key}: {msg}")
    return f"{where} has {len(lines)} problem(s):\n" + "\n".join(lines)
