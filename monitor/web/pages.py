"""The desk's pages: inbox, match, sites, sources, feeds, login. Server-rendered; every change
is a POSTed form with a CSRF token, answered by a redirect (or the page again with a message)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote as _quote
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from monitor.licence import allow_site, disallow_site
from monitor.notify.report import evidence_html
from monitor.sites import site_of, site_of_host
from monitor.store import allowlist, desk
from monitor.store import triage as triage_store
from monitor.store.users import User, authenticate
from monitor.triage import EDITOR_STATES, HANDLED_STATES, OPEN_STATES, STATES, MatchNotFound, StateConflict, TriageError, check, triage_match
from monitor.web import actions
from monitor.web.auth import CSRF_FIELD, check_csrf, csrf_token, editor_form, login_required

router = APIRouter()
PAGE = 50


def quote(s: str) -> str:
    return _quote(s, safe="")


def render(request: Request, template: str, user: User | None, status: int = 200, **context: Any) -> HTMLResponse:
    context.update(user=user, csrf=csrf_token(request), csrf_field=CSRF_FIELD, states=STATES,
                   flash=request.session.pop("flash", None))
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status)


def back(url: str, flash: str | None = None, request: Request | None = None) -> RedirectResponse:
    if flash and request is not None:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


def monitor_of(request: Request):  # noqa: ANN201
    return request.app.state.monitor


def _safe_next(nxt: str | None) -> str:
    """Only a path on this site (never //other.example or a scheme)."""
    if nxt and nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return "/"


# --- login -------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    return render(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))  # type: ignore[arg-type]
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "/")))
    limiter = request.app.state.limiter
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"name:{name.lower()}")
    from starlette.concurrency import run_in_threadpool

    wait = await run_in_threadpool(limiter.retry_after, *keys)  # counted in the database
    if wait:
        return render(request, "login.html", None, status=429, next=nxt, name=name,
                      error=f"Too many failed logins: try again in {wait} s.")
    db = monitor_of(request).db
    user = await run_in_threadpool(authenticate, db, name, password)  # argon2 is slow on purpose
    if user is None:
        await run_in_threadpool(limiter.failed, *keys)
        return render(request, "login.html", None, status=401, next=nxt, name=name,
                      error="Wrong name or password.")
    await run_in_threadpool(limiter.succeeded, *keys)
    request.session.clear()  # a new session: no fixation
    request.session["uid"] = user.id
    csrf_token(request)
    return back(nxt)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))  # type: ignore[arg-type]
    request.session.clear()
    return back("/login")


# --- inbox -------------------------------------------------------------------------------
STATE_GROUPS = {"open": OPEN_STATES, "handled": HANDLED_STATES}


def _date(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def inbox_filter(params: dict[str, str]) -> desk.InboxFilter:
    """The inbox's filters from query parameters (the pages and the API read the same ones)."""
    state = params.get("state") or ""
    if state and state not in STATES and state not in STATE_GROUPS:
        raise HTTPException(400, f"state {state!r}: use one of {', '.join((*STATE_GROUPS, *STATES))}")
    states = STATE_GROUPS.get(state) or ((state,) if state else ())
    source = params.get("source") or None
    min_score = params.get("min_score") or None
    try:
        source_id = int(source) if source else None
        score = float(min_score) if min_score else None
    except ValueError:
        raise HTTPException(400, "source is a source id, min_score a number from 0 to 1") from None
    until = _date(params.get("until"), "until")
    if until is not None and len(params.get("until", "")) <= 10:
        until = until.replace(hour=23, minute=59, second=59)  # a whole day
    site = (params.get("site") or "").strip().lower() or None
    return desk.InboxFilter(states=states, kind=params.get("kind") or None, site=site, source_id=source_id,
                            min_score=score, since=_date(params.get("since"), "since"), until=until,
                            text=(params.get("q") or "").strip() or None)


FILTER_KEYS = ("state", "kind", "site", "source", "min_score", "since", "until", "q")


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, user: User = Depends(login_required)) -> HTMLResponse:
    params = dict(request.query_params)
    f = inbox_filter(params)
    try:
        page = desk.inbox(monitor_of(request).db, f, after=params.get("after") or None, limit=PAGE)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    kept = {k: params[k] for k in FILTER_KEYS if params.get(k)}
    next_url = "/?" + urlencode({**kept, "after": page.next}) if page.next else None
    return render(request, "inbox.html", user, page=page, params=params, kinds=desk.KINDS,
                  next_url=next_url, first_url="/?" + urlencode(kept), paged=bool(params.get("after")),
                  groups=STATE_GROUPS, editor_states=EDITOR_STATES, here=str(request.url.path) + (
                      f"?{request.url.query}" if request.url.query else ""))


@router.post("/matches/bulk")
def bulk(request: Request, form: FormData = Depends(editor_form), user: User = Depends(login_required)) -> Response:
    to_state, note = str(form.get("state", "")), str(form.get("note", "")).strip() or None
    done, problems = 0, []
    for item in form.getlist("ids"):
        try:
            mid, version = (int(x) for x in str(item).split(":"))
        except ValueError:
            continue
        try:
            triage_match(monitor_of(request).db, mid, to_state, user.name, note=note, version=version)
            done += 1
        except (StateConflict, TriageError, MatchNotFound) as e:
            problems.append(f"match {mid}: {e}")
    msg = f"{done} match(es) marked {to_state.replace('_', ' ')}." + (" " + " ".join(problems) if problems else "")
    return back(_safe_next(str(form.get("back", "/"))), msg, request)


# --- one match ---------------------------------------------------------------------------
def _match_context(request: Request, match_id: int, revision: int | None) -> dict[str, Any]:
    store = monitor_of(request).store
    db = monitor_of(request).db
    found = store.match_with_texts(match_id)
    if found is None:
        raise HTTPException(404, f"no match with id {match_id}")
    current = found[0]
    revisions = store.match_revisions(match_id)
    if revision is not None and revision != current.revision:
        found = store.revision_with_texts(match_id, revision)
        if found is None:
            raise HTTPException(404, f"match {match_id} has no revision {revision}")
    record, source_text, copy_text = found
    st = triage_store.match_state(db, match_id)
    choices = []
    for s in EDITOR_STATES:
        try:
            check(st.state, s, by_monitor=False)
            choices.append(s)
        except TriageError:
            pass
    return {"m": record, "current": current, "st": st, "revisions": revisions, "revision": revision,
            "evidence": evidence_html(record, source_text, copy_text), "choices": choices,
            "events": triage_store.events(db, match_id), "notes": triage_store.notes(db, match_id),
            "allowed": allowlist.find(db, st.site, record.source_id), "checks": copy_checks(db, match_id)}


from monitor.store.takedown import copy_checks  # noqa: E402 - the copy's re-readings (monitor/takedown)


@router.get("/matches/{match_id}", response_class=HTMLResponse)
def match_page(request: Request, match_id: int, revision: int | None = None,
               user: User = Depends(login_required)) -> HTMLResponse:
    return render(request, "match.html", user, **_match_context(request, match_id, revision))


@router.post("/matches/{match_id}/triage")
def triage(request: Request, match_id: int, form: FormData = Depends(editor_form),
           user: User = Depends(login_required)) -> Response:
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        raise HTTPException(400, "the form lacks the version of the match it was made from") from None
    to_state = str(form.get("state", ""))
    note = str(form.get("note", "")).strip() or None
    try:
        triage_match(monitor_of(request).db, match_id, to_state, user.name, note=note, version=version)
    except MatchNotFound as e:
        raise HTTPException(404, str(e)) from None
    except (StateConflict, TriageError) as e:
        status = 409 if isinstance(e, StateConflict) else 400
        return render(request, "match.html", user, status=status, error=str(e), note=note or "",
                      **_match_context(request, match_id, None))
    return back(f"/matches/{match_id}", f"Marked {to_state.replace('_', ' ')}.", request)


@router.post("/matches/{match_id}/notes")
def add_note(request: Request, match_id: int, form: FormData = Depends(editor_form),
             user: User = Depends(login_required)) -> Response:
    text = str(form.get("text", "")).strip()
    if not text:
        return back(f"/matches/{match_id}", "An empty note was not kept.", request)
    try:
        triage_store.add_note(monitor_of(request).db, match_id, user.name, text)
    except MatchNotFound as e:
        raise HTTPException(404, str(e)) from None
    return back(f"/matches/{match_id}#notes", "Note kept.", request)


@router.get("/matches/{match_id}/raw")
def raw(request: Request, match_id: int, revision: int | None = None,
        user: User = Depends(login_required)) -> Response:
    """The copy's page as fetched: a text/plain download, never rendered in the desk's origin."""
    found = desk.raw_page(monitor_of(request).db, match_id, revision)
    if found is None:
        raise HTTPException(404, f"match {match_id} has no stored raw page (its text came from the feed)")
    body, sha = found
    name = f"match-{match_id}" + (f"-rev{revision}" if revision is not None else "") + ".html.txt"
    return Response(body, media_type="text/plain", headers={
        "content-disposition": f'attachment; filename="{name}"', "x-content-type-options": "nosniff",
        "x-content-sha256": sha or "", "content-security-policy": "sandbox; default-src 'none'"})


# --- sites -------------------------------------------------------------------------------
@router.get("/sites", response_class=HTMLResponse)
def sites(request: Request, q: str = "", order: str = "matches", offset: int = 0,
          user: User = Depends(login_required)) -> HTMLResponse:
    db = monitor_of(request).db
    rows, total = desk.sites(db, q or None, max(0, offset), PAGE, order)
    config_allowed = {e.site for e in monitor_of(request).settings.allow.sites if e.source is None}
    allowed = {e.site for e in allowlist.all_entries(db) if e.source_id is None} | config_allowed
    return render(request, "sites.html", user, rows=rows, total=total, q=q, order=order, offset=offset,
                  page=PAGE, allowed=allowed)


@router.get("/sites/{site}", response_class=HTMLResponse)
def site_page(request: Request, site: str, user: User = Depends(login_required)) -> HTMLResponse:
    db = monitor_of(request).db
    row = desk.site(db, site)
    matches = desk.inbox(db, desk.InboxFilter(site=site), limit=PAGE)
    entries = allowlist.for_site(db, site)
    config_entries = [e for e in monitor_of(request).settings.allow.sites if e.site == site]
    feeds = [f for f in desk.feeds(db, url_contains=site) if site_of(f.url) == site]
    sources = sorted({(m.source_id, m.source_title or m.source_url) for m in matches.rows})
    return render(request, "site.html", user, site=site, row=row, matches=matches, entries=entries,
                  config_entries=config_entries, feeds=feeds, sources=sources)


@router.post("/sites/{site}/allow")
def allow(request: Request, site: str, form: FormData = Depends(editor_form),
          user: User = Depends(login_required)) -> Response:
    source = str(form.get("source_id", "")).strip()
    note = str(form.get("note", "")).strip() or None
    try:
        n = allow_site(monitor_of(request).db, site_of_host(site), user.name, int(source) if source else None, note)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    return back(f"/sites/{quote(site)}", f"{site} may republish now; {n} match(es) marked licensed.", request)


@router.post("/sites/{site}/disallow")
def disallow(request: Request, site: str, form: FormData = Depends(editor_form),
             user: User = Depends(login_required)) -> Response:
    n = disallow_site(monitor_of(request).db, site)
    return back(f"/sites/{quote(site)}", f"{site} taken off the allow-list ({n} entr{'y' if n == 1 else 'ies'}).",
                request)


# --- sources -----------------------------------------------------------------------------
@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, q: str = "", offset: int = 0, user: User = Depends(login_required)) -> HTMLResponse:
    rows, total = desk.sources(monitor_of(request).db, q or None, max(0, offset), PAGE)
    return render(request, "sources.html", user, rows=rows, total=total, q=q, offset=offset, page=PAGE)


@router.post("/sources")
async def add_source(request: Request, form: FormData = Depends(editor_form)) -> Response:
    url, title, text = (str(form.get(k, "")) for k in ("url", "title", "text"))
    try:
        sid = await actions.add_source(monitor_of(request), url, title.strip() or None, text)
    except actions.ActionError as e:
        return back("/sources", f"Not added: {e}", request)
    return back(f"/sources?q={quote(url.strip())}", f"Source {sid} registered: {url.strip()}", request)


@router.post("/sources/{source_id}/remove")
async def remove_source(request: Request, source_id: int, form: FormData = Depends(editor_form)) -> Response:
    line = desk.source_line(monitor_of(request).db, source_id)
    if line is None:
        raise HTTPException(404, f"no source with id {source_id}")
    if line.copies and form.get("confirm") != "yes":
        return back("/sources", f"Source {source_id} has {line.copies} match(es): tick the box to delete them too.",
                    request)
    url = actions.remove_source(monitor_of(request), source_id)
    return back("/sources", f"Source {url} removed.", request)


# --- feeds -------------------------------------------------------------------------------
@router.get("/feeds", response_class=HTMLResponse)
def feeds(request: Request, user: User = Depends(login_required)) -> HTMLResponse:
    return render(request, "feeds.html", user, rows=desk.feeds(monitor_of(request).db))


@router.post("/feeds")
def add_feed(request: Request, form: FormData = Depends(editor_form), user: User = Depends(login_required)) -> Response:
    try:
        interval = int(str(form.get("interval") or 60))
        actions.add_feed(monitor_of(request), str(form.get("url", "")), user.name, interval)
    except (actions.ActionError, ValueError) as e:
        return back(_safe_next(str(form.get("back", "/feeds"))), f"Not added: {e}", request)
    return back("/feeds", f"Watching {str(form.get('url', '')).strip()}; it is checked at the next cycle.", request)


@router.post("/feeds/{feed_id}/{action}")
def feed_action(request: Request, feed_id: int, action: str, form: FormData = Depends(editor_form)) -> Response:
    db = monitor_of(request).db
    try:
        if action in ("pause", "resume"):
            desk.pause_feed(db, feed_id, action == "pause")
            msg = f"Feed {feed_id} {'paused' if action == 'pause' else 'resumed'}."
        elif action == "remove":
            msg = f"{actions.remove_feed(monitor_of(request), feed_id)} is no longer watched."
        else:
            raise HTTPException(404, f"no action {action!r}")
    except (LookupError, actions.ActionError) as e:
        msg = str(e)
    return back("/feeds", msg, request)


def site_name(url_or_host: str) -> str:
    return site_of(url_or_host) if "://" in url_or_host else site_of_host(url_or_host)
