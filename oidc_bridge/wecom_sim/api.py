"""The server-side ``/cgi-bin`` calls, answering as wecom-api.md §2 describes.

Every call but gettoken checks the access token first, then the trusted-IP list, then its
own parameters; failures raise ``SimApiError`` and become WeCom's JSON envelope in app.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .credentials import App
from .directory import SimDepartment, SimTag, SimUser
from .errors import SimApiError
from .state import current_state

bp = Blueprint("wecom_sim_api", __name__, url_prefix="/cgi-bin")

# Fields that apps created after 2022-06-20 get only from auth/getuserdetail.
_SENSITIVE = ("gender", "avatar", "qr_code", "mobile", "email", "biz_mail", "address")


def ok(**fields: Any) -> Response:
    return jsonify({"errcode": 0, "errmsg": "ok", **fields})


def _guard() -> App:
    """Token first (41001 / 40014 / 42001), then trusted IPs (60020); gettoken skips this."""
    sim = current_state()
    app = sim.credentials.check_token(request.args.get("access_token"))
    ips = sim.directory.trusted_ips
    if ips is not None and request.remote_addr not in ips:
        raise SimApiError(60020)
    return app


@bp.get("/gettoken")
def gettoken() -> Response:
    d = current_state().directory
    corpid, secret = request.args.get("corpid"), request.args.get("corpsecret")
    if not corpid:
        raise SimApiError(41002)
    if corpid != d.corp_id:
        raise SimApiError(40013)
    if not secret:
        raise SimApiError(41004)
    if secret != d.secret:
        raise SimApiError(40001)
    token, expires_in = current_state().credentials.token_for((d.corp_id, d.agent_id))
    return ok(access_token=token, expires_in=expires_in)


@bp.get("/auth/getuserinfo")
def getuserinfo() -> Response:
    """code -> identity: userid for members (+ user_ticket after in-app privateinfo), else openid."""
    app = _guard()
    sim = current_state()
    code = request.args.get("code")
    if not code:
        raise SimApiError(41008)
    grant = sim.credentials.redeem_code(code, app)
    user = sim.directory.user(grant.userid)
    if user is None:
        raise SimApiError(40029)
    if not user.member:
        return ok(openid=user.effective_openid, external_userid=user.external_userid)
    if not grant.with_ticket:
        return ok(userid=user.userid)
    ticket, expires_in = sim.credentials.issue_ticket(user.userid)
    return ok(userid=user.userid, user_ticket=ticket, expires_in=expires_in)


@bp.post("/auth/getuserdetail")
def getuserdetail() -> Response:
    _guard()
    sim = current_state()
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise SimApiError(47001)
    user = sim.directory.user(sim.credentials.ticket_user(body.get("user_ticket")))
    if user is None or not user.member:
        raise SimApiError(84015)
    return ok(userid=user.userid, **_present(user, _SENSITIVE))


@bp.get("/user/get")
def user_get() -> Response:
    _guard()
    d = current_state().directory
    userid = request.args.get("userid")
    if not userid:
        raise SimApiError(41009)
    user = d.user(userid)
    if user is None or not user.member:
        raise SimApiError(60111)
    if not user.in_visible_range:
        raise SimApiError(60011)
    fields: dict[str, Any] = {
        "userid": user.userid,
        "name": user.name,
        "department": list(user.department),
        "main_department": user.department[0] if user.department else 1,
        "position": user.position,
        "alias": user.alias,
        "status": user.status,
    }
    if d.legacy_app:
        fields.update(_present(user, _SENSITIVE))
    return ok(**fields)


@bp.get("/department/list")
def department_list() -> Response:
    _guard()
    return ok(department=[_dept(d) for d in _departments()])


@bp.get("/department/simplelist")
def department_simplelist() -> Response:
    _guard()
    return ok(department_id=[{"id": d.id, "parentid": d.parentid, "order": d.order} for d in _departments()])


@bp.get("/department/get")
def department_get() -> Response:
    _guard()
    dept_id = _dept_id()
    if dept_id is None:
        raise SimApiError(40058)
    dept = current_state().directory.department(dept_id)
    if dept is None:
        raise SimApiError(60123)
    return ok(department=_dept(dept))


@bp.get("/tag/list")
def tag_list() -> Response:
    """Doc 90216: every tag, ids and names only; members need one tag/get each."""
    _guard()
    return ok(taglist=[{"tagid": t.id, "tagname": t.name} for t in current_state().directory.tags])


@bp.get("/tag/get")
def tag_get() -> Response:
    """Doc 90213: a tag's people (members only) and departments; 40068 for an unknown tagid."""
    _guard()
    d = current_state().directory
    tag = _tag(request.args.get("tagid"))
    users = [d.user(u) for u in tag.userids]
    return ok(
        tagname=tag.name,
        userlist=[{"userid": u.userid, "name": u.name} for u in users if u is not None and u.member],
        partylist=list(tag.department_ids),
    )


def _tag(raw: str | None) -> SimTag:
    if not raw:
        raise SimApiError(41017)
    try:
        tag = current_state().directory.tag(int(raw))
    except ValueError:
        raise SimApiError(40068) from None
    if tag is None:
        raise SimApiError(40068)
    return tag


def _departments() -> list[SimDepartment]:
    """All departments, or with ``id`` that department's subtree (60123 if unknown)."""
    d = current_state().directory
    dept_id = _dept_id()
    if dept_id is None:
        return list(d.departments)
    if d.department(dept_id) is None:
        raise SimApiError(60123)
    return d.subtree(dept_id)


def _dept_id() -> int | None:
    raw = request.args.get("id")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise SimApiError(40058) from None


def _dept(d: SimDepartment) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "name_en": d.name_en, "parentid": d.parentid, "order": d.order}


def _present(user: SimUser, names: tuple[str, ...]) -> dict[str, Any]:
    """Only the fields this person has: absent, never invented."""
    values = {name: getattr(user, name) for name in names}
    return {k: v for k, v in values.items() if v not in (None, "")}
