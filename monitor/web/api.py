"""The JSON API under /api/v1: matches (list, filter, get, triage, notes), sites (and the
allow-list), sources (add, remove) and feeds (add, pause, resume, remove).

Auth: `Authorization: Bearer <token>` (`monitor tokens create`), or the desk's session cookie
with the `X-CSRF-Token` header for changes. The OpenAPI document is /api/v1/openapi.json.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from monitor.licence import allow_site, disallow_site
from monitor.pipeline import Monitor
from monitor.sites import site_of_host
from monitor.store import allowlist, desk
from monitor.store import triage as triage_store
from monitor.store.users import User
from monitor.triage import STATES, MatchNotFound, StateConflict, TriageError, triage_match
from monitor.web import actions
from monitor.web.auth import LoginRequired, api_editor, login_required


class TriageRequest(BaseModel):
    state: str = Field(description=f"one of {', '.join(STATES)} (removed/reinstated: set by the monitor only)")
    note: str | None = None
    version: int | None = Field(None, description="the match's version you saw: a change since is a 409 conflict")


class NoteRequest(BaseModel):
    text: str = Field(min_length=1)


class AllowRequest(BaseModel):
    source_id: int | None = Field(None, description="only for this source (default: all)")
    note: str | None = None


class SourceRequest(BaseModel):
    url: str
    title: str | None = None
    text: str | None = Field(None, description="the article's text; without it, read from the URL")


class FeedRequest(BaseModel):
    url: str
    interval: int = Field(60, ge=1, le=1440, description="minutes between checks")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_api(monitor: Monitor) -> FastAPI:
    from monitor.web.pages import inbox_filter

    api = FastAPI(title="Reuse Monitor desk API", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  description=__doc__)
    api.state.monitor = monitor
    db = monitor.db

    @api.exception_handler(LoginRequired)
    async def unauthorized(request: Request, exc: LoginRequired) -> JSONResponse:
        return _error(401, "send `Authorization: Bearer <token>` (monitor tokens create) or log in")

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @api.get("/openapi.json", include_in_schema=False)
    def openapi(user: User = Depends(login_required)) -> dict[str, Any]:
        return api.openapi()

    # --- matches ---------------------------------------------------------------------------
    @api.get("/matches", summary="Matches, newest first, filtered; `next` is the cursor of the next page")
    def list_matches(request: Request, state: str | None = None, kind: str | None = None, site: str | None = None,
                     source: int | None = None, min_score: float | None = None, since: str | None = None,
                     until: str | None = None, q: str | None = None, after: str | None = None,
                     limit: int = 50, user: User = Depends(login_required)) -> dict[str, Any]:
        f = inbox_filter({k: str(v) for k, v in dict(state=state, kind=kind, site=site, source=source,
                                                       min_score=min_score, since=since, until=until,
                                                       q=q).items() if v is not None})
        try:
            page = desk.inbox(db, f, after=after, limit=max(1, min(limit, 500)))
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return {"matches": [r.to_dict() for r in page.rows], "next": page.next}

    @api.get("/matches/{match_id}", summary="One match: evidence, triage state, history, notes, revisions")
    def get_match(match_id: int, user: User = Depends(login_required)) -> dict[str, Any]:
        found = monitor.store.match_with_texts(match_id)
        if found is None:
            raise HTTPException(404, f"no match with id {match_id}")
        record = found[0]
        st = triage_store.match_state(db, match_id)
        return {**record.to_dict(), "state": st.state, "version": st.version, "state_reason": st.reason,
                "site": st.site, "history": [e.to_dict() for e in triage_store.events(db, match_id)],
                "notes": [n.to_dict() for n in triage_store.notes(db, match_id)],
                "revisions": [r.to_dict() for r in monitor.store.match_revisions(match_id)]}

    @api.post("/matches/{match_id}/triage", summary="Change a match's state (409 if it changed since `version`)",
              responses={409: {"description": "the match changed since the version you sent"}})
    def triage(match_id: int, body: TriageRequest, user: User = Depends(api_editor)) -> Any:
        try:
            st = triage_match(db, match_id, body.state, user.name, note=body.note, version=body.version)
        except MatchNotFound as e:
            return _error(404, str(e))
        except StateConflict as e:
            return JSONResponse({"error": str(e), "state": e.state, "version": e.current}, status_code=409)
        except TriageError as e:
            return _error(400, str(e))
        return {"id": st.id, "state": st.state, "version": st.version}

    @api.post("/matches/{match_id}/notes", summary="Add a note to a match", status_code=201)
    def note(match_id: int, body: NoteRequest, user: User = Depends(api_editor)) -> Any:
        try:
            return triage_store.add_note(db, match_id, user.name, body.text).to_dict()
        except MatchNotFound as e:
            return _error(404, str(e))

    # --- sites -----------------------------------------------------------------------------
    @api.get("/sites", summary="Copying sites (registrable domains), most matches first")
    def list_sites(q: str | None = None, order: str = "matches", offset: int = 0, limit: int = 50,
                   user: User = Depends(login_required)) -> dict[str, Any]:
        rows, total = desk.sites(db, q, max(0, offset), max(1, min(limit, 500)), order)
        return {"sites": [r.to_dict() for r in rows], "total": total}

    @api.get("/sites/{site}", summary="One site: its counts and allow-list entries")
    def get_site(site: str, user: User = Depends(login_required)) -> dict[str, Any]:
        row = desk.site(db, site)
        entries = allowlist.for_site(db, site)
        config = [e.model_dump() for e in monitor.settings.allow.sites if e.site == site]
        if row is None and not entries and not config:
            raise HTTPException(404, f"no match from {site} and not on the allow-list")
        return {**(row.to_dict() if row else {"site": site}), "allowed": [
            {"source_id": e.source_id, "source_url": e.source_url, "by": e.added_by, "note": e.note,
             "at": e.created_at.isoformat()} for e in entries] + [{"config": c} for c in config]}

    @api.post("/sites/{site}/allow", summary="Allow a site to republish; its new matches become licensed")
    def allow(site: str, body: AllowRequest, user: User = Depends(api_editor)) -> dict[str, Any]:
        try:
            n = allow_site(db, site_of_host(site), user.name, body.source_id, body.note)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return {"site": site_of_host(site), "licensed": n}

    @api.delete("/sites/{site}/allow", summary="Take a site off the desk's allow-list")
    def disallow(site: str, user: User = Depends(api_editor)) -> dict[str, Any]:
        return {"site": site, "removed": disallow_site(db, site)}

    # --- sources ---------------------------------------------------------------------------
    @api.get("/sources", summary="Registered articles with their copies")
    def list_sources(q: str | None = None, offset: int = 0, limit: int = 50,
                     user: User = Depends(login_required)) -> dict[str, Any]:
        rows, total = desk.sources(db, q, max(0, offset), max(1, min(limit, 500)))
        return {"sources": [r.to_dict() for r in rows], "total": total}

    @api.post("/sources", summary="Register an article (its text, or read from its URL)", status_code=201)
    async def add_source(body: SourceRequest, user: User = Depends(api_editor)) -> Any:
        try:
            sid = await actions.add_source(monitor, body.url, body.title, body.text)
        except actions.ActionError as e:
            return _error(400, str(e))
        return {"id": sid, "url": body.url.strip()}

    @api.delete("/sources/{source_id}", summary="Remove a source with its matches")
    async def remove_source(source_id: int, user: User = Depends(api_editor)) -> Any:
        try:
            return {"removed": actions.remove_source(monitor, source_id)}
        except actions.ActionError as e:
            return _error(404, str(e))

    # --- feeds -----------------------------------------------------------------------------
    @api.get("/feeds", summary="Watched feeds with their health")
    def list_feeds(user: User = Depends(login_required)) -> dict[str, Any]:
        return {"feeds": [f.to_dict() for f in desk.feeds(db)]}

    @api.post("/feeds", summary="Watch a feed or blog", status_code=201)
    def add_feed(body: FeedRequest, user: User = Depends(api_editor)) -> Any:
        try:
            fid = actions.add_feed(monitor, body.url, user.name, body.interval)
        except actions.ActionError as e:
            return _error(400, str(e))
        return {"id": fid, "url": body.url.strip()}

    @api.post("/feeds/{feed_id}/pause", summary="Stop polling a feed until resumed")
    def pause(feed_id: int, user: User = Depends(api_editor)) -> Any:
        return _pause(feed_id, True)

    @api.post("/feeds/{feed_id}/resume", summary="Poll a paused feed again (due at once)")
    def resume(feed_id: int, user: User = Depends(api_editor)) -> Any:
        return _pause(feed_id, False)

    def _pause(feed_id: int, paused: bool) -> Any:
        try:
            desk.pause_feed(db, feed_id, paused)
        except LookupError as e:
            return _error(404, str(e))
        line = desk.feed(db, feed_id)
        return line.to_dict() if line else {}

    @api.delete("/feeds/{feed_id}", summary="Stop watching a feed added on the desk (posts and matches stay)")
    def remove_feed(feed_id: int, user: User = Depends(api_editor)) -> Any:
        try:
            return {"removed": actions.remove_feed(monitor, feed_id)}
        except actions.ActionError as e:
            return _error(400 if "config" in str(e) else 404, str(e))

    return api
