"""The match page's notice: where to send it (RDAP abuse contacts, the platform's form), the
notice itself (DMCA or plain), and sending it, which moves the match to notice_sent."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from monitor.errors import ConfigError
from monitor.store import triage as triage_store
from monitor.store.users import User
from monitor.takedown.notices import VARIANTS, NoticeError, compose, send
from monitor.triage import StateConflict, TriageError, check
from monitor.web.auth import editor_form, login_required
from monitor.web.pages import back, monitor_of, render

router = APIRouter()


async def _page(request: Request, user: User, match_id: int, variant: str, to: str | None = None,
                error: str | None = None, status: int = 200) -> HTMLResponse:
    from monitor.takedown.cli import where_to_send

    monitor = monitor_of(request)
    found = monitor.store.match_with_texts(match_id)
    if found is None:
        raise HTTPException(404, f"no match with id {match_id}")
    if variant not in VARIANTS:
        raise HTTPException(400, f"unknown notice variant {variant!r}; variants: {', '.join(VARIANTS)}")
    lookup, platform = await where_to_send(monitor.settings, monitor.db, match_id, found[0].copy_url)
    recipients = [to] if to else lookup.emails
    notice, problem = None, None
    try:
        notice = compose(monitor.settings, monitor.db, match_id, variant, recipients)
    except (NoticeError, ConfigError) as e:
        problem = str(e)
    st = triage_store.match_state(monitor.db, match_id)
    try:
        check(st.state, "notice_sent", by_monitor=False)
        can_send = True
    except TriageError:
        can_send = False
    return render(request, "notice.html", user, status=status, m=found[0], st=st, lookup=lookup, platform=platform,
                  notice=notice, problem=problem, variant=variant, variants=VARIANTS, to=to or next(iter(recipients), ""),
                  can_send=can_send, error=error)


@router.get("/matches/{match_id}/notice", response_class=HTMLResponse)
async def notice_page(request: Request, match_id: int, variant: str = "dmca",
                      user: User = Depends(login_required)) -> HTMLResponse:
    return await _page(request, user, match_id, variant)


@router.post("/matches/{match_id}/notice")
async def send_notice(request: Request, match_id: int, form: FormData = Depends(editor_form),
                      user: User = Depends(login_required)) -> Response:
    variant = str(form.get("variant", "dmca"))
    to = str(form.get("to", "")).strip()
    monitor = monitor_of(request)
    try:
        notice = compose(monitor.settings, monitor.db, match_id, variant, [to] if to else [])
        await send(monitor.settings, monitor.db, notice, user.name)
    except (NoticeError, ConfigError, TriageError, StateConflict) as e:
        return await _page(request, user, match_id, variant if variant in VARIANTS else "dmca", to or None,
                           error=str(e), status=400)
    return back(f"/matches/{match_id}", f"Notice sent to {to}.", request)
