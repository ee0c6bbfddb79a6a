"""The two login pages (browser web login, in-app OAuth) and the simulator-only approve/cancel URLs.

The approve and cancel links carry the login page's own query parameters plus ``flow`` and are
validated again, so they need no server-side session and a test can build one by hand:
``/_sim/approve?flow=sso|oauth&<original parameters>&userid=U[&consent=1]`` and
``/_sim/cancel?flow=sso|oauth&<original parameters>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, request

from .directory import SimUser
from .errors import SimPageError
from .pages import ChooserEntry, chooser_page, consent_page
from .state import current_state

bp = Blueprint("wecom_sim_login", __name__)

SSO_PARAMS = ("login_type", "appid", "agentid", "redirect_uri", "state", "lang")
OAUTH_PARAMS = ("appid", "redirect_uri", "response_type", "scope", "state", "agentid")
_STATE = re.compile(r"[a-zA-Z0-9]{0,128}")
_STATUS_NOTE = {2: "已禁用 disabled", 4: "未激活 not activated", 5: "已离职 left"}


@dataclass(frozen=True)
class LoginRequest:
    """A validated login page request, kept as its original parameters for the links."""

    flow: str  # "sso" (web login) or "oauth" (in-app)
    params: dict[str, str]
    redirect_uri: str
    state: str
    agent_id: str | None
    wants_ticket: bool  # in-app snsapi_privateinfo with agentid
    lang: str = "zh"


@bp.get("/wwlogin/sso/login")
def sso_login() -> Response | str:
    return _start(_parse("sso", request.args))


@bp.get("/connect/oauth2/authorize")
def oauth_authorize() -> Response | str:
    return _start(_parse("oauth", request.args))


@bp.get("/_sim/approve")
def approve() -> Response | str:
    req = _parse(request.args.get("flow", ""), request.args)
    return _approve(req, request.args.get("userid", ""), consent=request.args.get("consent") == "1")


@bp.get("/_sim/cancel")
def cancel() -> Response:
    """The person refused: back to the app with ``state`` and no ``code``."""
    req = _parse(request.args.get("flow", ""), request.args)
    return redirect(with_query(req.redirect_uri, {"state": req.state}), 302)


def _parse(flow: str, args: Mapping[str, str]) -> LoginRequest:
    if flow == "sso":
        return _parse_sso(args)
    if flow == "oauth":
        return _parse_oauth(args)
    raise SimPageError(40058)


def _parse_sso(args: Mapping[str, str]) -> LoginRequest:
    """Web login checks, with the login page's errcodes (Doc 98151)."""
    d = current_state().directory
    if args.get("login_type") != "CorpApp":
        raise SimPageError(-31040)
    if args.get("appid") != d.corp_id:
        raise SimPageError(-31027)
    if args.get("agentid") != d.agent_id:
        raise SimPageError(-31028)
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri:
        raise SimPageError(-31035)
    if not _redirect_allowed(redirect_uri, d.trusted_domain):
        raise SimPageError(-31020)
    params = {k: args[k] for k in SSO_PARAMS if k in args}
    lang = "en" if args.get("lang") == "en" else "zh"
    return LoginRequest("sso", params, redirect_uri, args.get("state", ""), d.agent_id, False, lang)


def _parse_oauth(args: Mapping[str, str]) -> LoginRequest:
    """In-app OAuth checks (Doc 91022). Without agentid, privateinfo quietly acts as snsapi_base."""
    d = current_state().directory
    if args.get("appid") != d.corp_id:
        raise SimPageError(40013)
    if args.get("response_type") != "code":
        raise SimPageError(40058, "response_type 必须为 code (response_type must be code)")
    scope = args.get("scope")
    if scope not in ("snsapi_base", "snsapi_privateinfo"):
        raise SimPageError(40058, "scope 参数错误 (scope must be snsapi_base or snsapi_privateinfo)")
    state = args.get("state", "")
    if not _STATE.fullmatch(state):
        raise SimPageError(84025)
    agent_id = args.get("agentid") or None
    if agent_id is not None and agent_id != d.agent_id:
        raise SimPageError(40056, "agentid 参数错误 (agentid does not belong to this corp)")
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri or not _redirect_allowed(redirect_uri, d.trusted_domain):
        raise SimPageError(50001)
    params = {k: args[k] for k in OAUTH_PARAMS if k in args}
    wants_ticket = scope == "snsapi_privateinfo" and agent_id is not None
    return LoginRequest("oauth", params, redirect_uri, state, agent_id, wants_ticket)


def _redirect_allowed(uri: str, trusted_domain: str | None) -> bool:
    """An absolute http(s) URI whose host, port included, equals the trusted domain when one is set."""
    try:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if trusted_domain is None:
        return True
    return parts.netloc.rpartition("@")[2].lower() == trusted_domain.lower()


def _start(req: LoginRequest) -> Response | str:
    sim = current_state()
    if sim.auto_approve:
        return _approve(req, sim.auto_approve, consent=False, auto=True)
    if req.flow == "sso":
        intro = "扫码或在桌面端确认登录 · Choose who confirms this login"
    else:
        intro = "企业微信内打开 · Choose who is using the WeCom app"
    entries = [_entry(req, u) for u in sim.directory.users]
    return chooser_page(intro, entries, _sim_link("/_sim/cancel", req), req.lang)


def _entry(req: LoginRequest, user: SimUser) -> ChooserEntry:
    notes = [] if user.member else ["非成员 non-member"]
    if user.status in _STATUS_NOTE:
        notes.append(_STATUS_NOTE[user.status])
    href: str | None = _sim_link("/_sim/approve", req, userid=user.userid)
    if user.member and not user.in_visible_range:
        notes.append("不在可见范围 outside visible range")
        if req.flow == "sso":  # WeCom refuses them on its own page; in-app they get no user_ticket
            href = None
    return ChooserEntry(user.userid, user.name, href, " · ".join(notes))


def _approve(req: LoginRequest, userid: str, consent: bool, auto: bool = False) -> Response | str:
    sim = current_state()
    user = sim.directory.user(userid)
    if user is None:
        raise SimPageError(60111)
    if req.flow == "sso" and user.member and not user.in_visible_range:
        raise SimPageError(50002)
    with_ticket = req.wants_ticket and user.member and user.in_visible_range
    if with_ticket and not auto:
        if consent:
            sim.credentials.record_consent(user.userid)
        elif not sim.credentials.has_consented(user.userid):
            allow = _sim_link("/_sim/approve", req, userid=userid, consent="1")
            return consent_page(user.name, user.userid, allow, _sim_link("/_sim/cancel", req))
    app = (sim.directory.corp_id, req.agent_id)
    code = sim.credentials.issue_code(user.userid, app, with_ticket)
    params = {"code": code, "state": req.state}
    if req.flow == "sso":
        params["appid"] = sim.directory.corp_id
    return redirect(with_query(req.redirect_uri, params), 302)


def _sim_link(path: str, req: LoginRequest, **extra: str) -> str:
    return f"{path}?{urlencode({'flow': req.flow, **req.params, **extra})}"


def with_query(uri: str, params: dict[str, str]) -> str:
    """Append parameters as WeCom does: ``&`` when the URI already has a query, else ``?``."""
    base, hashmark, fragment = uri.partition("#")
    sep = "" if base.endswith(("?", "&")) else "&" if "?" in base else "?"
    return f"{base}{sep}{urlencode(params)}{hashmark}{fragment}"
