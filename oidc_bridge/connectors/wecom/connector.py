"""The WeCom connector: which login page to send a browser to, and a callback -> Identity."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from urllib.parse import quote, urlencode

from ...config.schema import WeComSettings
from ...errors import LoginRefused, WeComError
from ...metrics import NO_METRICS, Recorder
from ...store.base import Store
from ..base import Identity, LoginContext, LoginRedirect
from .client import Member, UserDetail, WeComClient, shared_token_client
from .directory import Directory
from .errcodes import refusal_for
from .private_fields import PrivateFieldMemory
from .tags import TagIndex

# Doc 91022: WeCom rejects any other state with errcode 84025.
_STATE = re.compile(r"[A-Za-z0-9]{1,128}")
# OIDC scopes whose claims only auth/getuserdetail gives (email, phone_number). "profile"
# alone stays snsapi_base: name comes from user/get, and a consent page for a picture alone
# is not worth it.
_PRIVATE_SCOPES = frozenset({"email", "phone"})
_GENDER = {"1": "male", "2": "female"}
# Userids that make a valid email local part; linked-corp ids like "CorpId/userid" do not.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._-]{1,64}")


class WeComConnector:
    """Signs people in with a WeCom self-built app (Doc 98151 web login, Doc 91022 in-app OAuth)."""

    def __init__(
        self,
        settings: WeComSettings,
        client: WeComClient,
        directory: Directory,
        memory: PrivateFieldMemory,
        tags: TagIndex | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._directory = directory
        self._memory = memory
        # None unless a client has allowed_tags: then a login costs no tag lookup at all.
        self._tags = tags

    def login_url(self, ctx: LoginContext) -> LoginRedirect:
        """Inside the WeCom client (``wxwork`` in the User-Agent, Doc 90315) the in-app OAuth page;
        anywhere else, plain WeChat included, the web login page."""
        if not _STATE.fullmatch(ctx.state):
            raise ValueError("state must be 1-128 ASCII letters and digits (WeCom errcode 84025)")
        s = self._settings
        if "wxwork" in ctx.user_agent.lower():
            scope = self._inapp_scope(ctx.scopes)
            query = _query(
                appid=s.corp_id,
                redirect_uri=ctx.callback_url,
                response_type="code",
                scope=scope,
                state=ctx.state,
                agentid=s.agent_id,
            )
            # Doc 91022: the fragment is required.
            url = f"{s.oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"
            return LoginRedirect(url, {"entry": "inapp", "scope": scope})
        params = {
            "login_type": "CorpApp",
            "appid": s.corp_id,
            "agentid": s.agent_id,
            "redirect_uri": ctx.callback_url,
            "state": ctx.state,
        }
        if s.lang:
            params["lang"] = s.lang
        url = f"{s.sso_base.rstrip('/')}/wwlogin/sso/login?{_query(**params)}"
        return LoginRedirect(url, {"entry": "web", "scope": ""})

    def handle_callback(self, params: Mapping[str, str], connector_data: Mapping[str, str]) -> Identity:
        """Exchange WeCom's code for the person. Extra parameters (e.g. ``appid``) are ignored."""
        code = params.get("code")
        if not code:
            # The person refused on WeCom's page: WeCom returns with state and no code.
            raise LoginRefused("You cancelled the sign-in with WeCom.", reason="cancelled")
        with _refusals_as_login_refused():
            who = self._client.get_user_identity(code)
            if not who.userid:
                raise LoginRefused(
                    "This WeChat account is not a member of this company in WeCom,"
                    " so it cannot sign in here.",
                    detail="WeCom auth/getuserinfo gave an openid and no userid",
                    reason="not_member",
                )
            detail = self._client.get_user_detail(who.user_ticket) if who.user_ticket else None
            member = self._client.get_user(who.userid)
        self._directory.check_active(member)
        if detail is not None and detail.userid not in (None, who.userid):
            raise WeComError(
                None,
                "transient",
                "auth/getuserdetail answered for another user than auth/getuserinfo",
                "The sign-in with WeCom could not be completed. Please sign in again.",
            )
        if detail is not None:
            self._memory.remember(detail, who.userid)
        else:
            detail = self._memory.recall(who.userid)
        email_domain = self._settings.email_domain
        identity = _identity(who.userid, member, detail, self._directory, connector_data, email_domain)
        return self._with_tags(identity)

    def refresh_identity(self, user_id: str) -> Identity:
        """The person as WeCom knows them now (user/get): refused if disabled, gone or out of range.

        Fields only in-app consent gives (email, mobile...) are None here; the caller keeps the
        ones it already has.
        """
        with _refusals_as_login_refused():
            member = self._client.get_user(user_id)
        self._directory.check_active(member)
        return self._with_tags(_identity(user_id, member, None, self._directory, {}, ""))

    def _with_tags(self, identity: Identity) -> Identity:
        """The identity with its WeCom tags, when some client's policy needs them."""
        if self._tags is None:
            return identity
        return replace(identity, tags=self._tags.tags_of(identity.user_id, identity.department_ancestry))

    def _inapp_scope(self, scopes: frozenset[str]) -> str:
        if self._settings.inapp_scope != "auto":
            return self._settings.inapp_scope
        return "snsapi_privateinfo" if scopes & _PRIVATE_SCOPES else "snsapi_base"


@contextmanager
def _refusals_as_login_refused() -> Iterator[None]:
    """WeCom errcodes that mean "this person may not sign in" (60011, 60111...) become LoginRefused."""
    try:
        yield
    except WeComError as exc:
        refusal = refusal_for(exc)
        if refusal is not None:
            raise refusal from exc
        raise


def build_wecom_connector(
    settings: WeComSettings,
    store: Store,
    metrics: Recorder = NO_METRICS,
    *,
    resolve_tags: bool = False,
    pool_size: int = 1,
) -> WeComConnector:
    """The connector with its client, shared token cache and directory, all on one store.

    ``resolve_tags`` (some client has ``allowed_tags``) adds each person's tags to the Identity.
    """
    client = shared_token_client(settings, store, pool_size)
    client.count_calls_in(metrics)
    return WeComConnector(
        settings,
        client,
        Directory(store, settings, client),
        PrivateFieldMemory(store, settings),
        TagIndex(store, settings, client) if resolve_tags else None,
    )


def _identity(
    userid: str,
    member: Member,
    detail: UserDetail | None,
    directory: Directory,
    connector_data: Mapping[str, str],
    email_domain: str,
) -> Identity:
    """Claims from what WeCom gave: getuserdetail first, then user/get (only old apps get these
    there). Email: email, then biz_mail, then (if configured) a synthesized, unverified address."""
    d = detail or UserDetail(userid=None)
    gender = d.gender or member.gender
    groups, ancestry = directory.describe(member.departments)
    email = d.email or d.biz_mail or member.email or member.biz_mail
    verified: bool | None = True if email else None
    if not email and email_domain and _EMAIL_LOCAL.fullmatch(userid):
        email, verified = f"{userid}@{email_domain}", False
    return Identity(
        user_id=userid,
        name=member.name,
        email=email,
        email_verified=verified,
        phone_number=d.mobile or member.mobile,
        picture=d.avatar or member.avatar,
        gender=_GENDER.get(gender) if gender else None,
        groups=groups,
        department_ids=tuple(member.departments),
        department_ancestry=ancestry,
        entry="inapp" if connector_data.get("entry") == "inapp" else "web",
    )


def _query(**params: str) -> str:
    # redirect_uri is URL-encoded as a query value (Doc 91022), "/" and ":" included.
    return urlencode(params, quote_via=quote, safe="")
