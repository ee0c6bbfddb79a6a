"""The WeCom server API: one typed method per call, explicit timeouts, no blind retries.

The only module that imports ``requests``. Retries are the two WeCom documents as safe
(wecom-api.md §3): a new access token once on 40014/42001, and one short retry on busy or
rate-limit answers. Nothing secret (access_token, corpsecret, code, user_ticket) reaches a log
line or an exception: URLs are redacted, and requests' own exceptions are not chained.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from ... import fastjson
from ...config.schema import WeComSettings
from ...errors import WeComError
from ...metrics import NO_METRICS, Recorder
from ...store.base import Store
from .access_token import AccessToken, AccessTokenCache
from .errcodes import RETRY_ONCE, TOKEN_EXPIRED, error_from_response, unreachable, wrong_endpoint

log = logging.getLogger(__name__)

_SECRET_PARAMS = frozenset({"access_token", "corpsecret", "code", "user_ticket"})


@dataclass(frozen=True)
class UserIdentity:
    """auth/getuserinfo (Doc 91023): a member has ``userid``, a non-member only ``openid``."""

    userid: str | None
    openid: str | None = None
    user_ticket: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class UserDetail:
    """auth/getuserdetail (Doc 95833): each field real only if the admin ticked it and the user consented."""

    userid: str | None
    email: str | None = None
    biz_mail: str | None = None
    mobile: str | None = None
    avatar: str | None = None
    gender: str | None = None  # WeCom's string: "0" unknown, "1" male, "2" female


@dataclass(frozen=True)
class Member:
    """user/get (Doc 90196). Apps created after 2022-06-20 get no email/mobile/avatar/gender here."""

    userid: str
    name: str | None
    departments: tuple[int, ...]
    status: int | None  # 1 active, 2 disabled, 4 not activated, 5 left
    email: str | None = None
    biz_mail: str | None = None
    mobile: str | None = None
    avatar: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class Department:
    id: int
    name: str | None
    parent_id: int | None = None


@dataclass(frozen=True)
class Tag:
    id: int
    name: str | None


@dataclass(frozen=True)
class TagMembers:
    """tag/get (Doc 90213): people carrying the tag, and departments whose members all carry it."""

    userids: tuple[str, ...]
    department_ids: tuple[int, ...]


class WeComClient:
    """One per process: a pool of connections to WeCom and the shared access-token cache."""

    def __init__(
        self,
        settings: WeComSettings,
        token_cache: AccessTokenCache,
        *,
        pool_size: int = 1,
        retry_delay: float = 0.2,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._tokens = token_cache
        self._api = settings.api_base.rstrip("/") + "/cgi-bin/"
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._retry_delay = retry_delay
        # Requests go straight to requests' transport, not through a Session: WeCom's API sets
        # no cookies and never redirects, and a Session's per-call merging of cookies, hooks and
        # the environment's proxy variables cost as much CPU as the HTTP exchange itself
        # (bench/logins.py --profile). The proxy variables are read once, here, so HTTPS_PROXY
        # and NO_PROXY set for the process still apply.
        self._proxies = requests.utils.get_environ_proxies(self._api)
        self._transport = _WeComTransport(pool_connections=2, pool_maxsize=pool_size, max_retries=0)

    def count_calls_in(self, metrics: Recorder) -> None:
        """Report calls, gettoken fetches and token-cache hits to ``metrics`` (the app factory's)."""
        self._metrics = metrics
        self._tokens.metrics = metrics

    def close(self) -> None:
        self._transport.close()

    # -- the calls ---------------------------------------------------------------------------

    def fetch_access_token(self) -> AccessToken:
        """gettoken (Doc 91039). Not guarded by the trusted-IP list; never retried on 40001."""
        params = {"corpid": self._settings.corp_id, "corpsecret": self._settings.secret}
        body = self._request_retrying("GET", "gettoken", params, None)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise unreachable("gettoken", "answer without access_token")
        return AccessToken(token, int(body.get("expires_in") or 7200))

    def get_user_identity(self, code: str) -> UserIdentity:
        """auth/getuserinfo: exchange a login code (single use, 5 minutes) for who signed in."""
        body = self._call("GET", "auth/getuserinfo", {"code": code})
        # Doc 91023: older versions of this call spelled the keys UserId / OpenId.
        return UserIdentity(
            userid=_str(body.get("userid") or body.get("UserId")),
            openid=_str(body.get("openid") or body.get("OpenId")),
            user_ticket=_str(body.get("user_ticket")),
        )

    def get_user_detail(self, user_ticket: str) -> UserDetail:
        """auth/getuserdetail: email, mobile, avatar, gender after in-app snsapi_privateinfo consent."""
        body = self._call("POST", "auth/getuserdetail", {}, {"user_ticket": user_ticket})
        return UserDetail(
            userid=_str(body.get("userid")),
            email=_str(body.get("email")),
            biz_mail=_str(body.get("biz_mail")),
            mobile=_str(body.get("mobile")),
            avatar=_str(body.get("avatar")),
            gender=_str(body.get("gender")),
        )

    def get_user(self, userid: str) -> Member:
        """user/get: name, departments and status of a member."""
        body = self._call("GET", "user/get", {"userid": userid})
        status = body.get("status")
        return Member(
            userid=_str(body.get("userid")) or userid,
            name=_str(body.get("name")),
            departments=tuple(int(d) for d in body.get("department") or ()),
            status=int(status) if status is not None else None,
            email=_str(body.get("email")),
            biz_mail=_str(body.get("biz_mail")),
            mobile=_str(body.get("mobile")),
            avatar=_str(body.get("avatar")),
            gender=_str(body.get("gender")),
        )

    def list_departments(self) -> tuple[Department, ...]:
        """Every department the app may see, with names.

        department/list gives the whole visible tree in one call; simplelist + get would cost one
        call per department each time the cache expires. Entries that come back without a name
        are filled in with department/get.
        """
        body = self._call("GET", "department/list", {})
        departments = []
        for entry in body.get("department") or ():
            dept_id = int(entry["id"])
            name = _str(entry.get("name"))
            if name is None:
                name = _str(
                    self._call("GET", "department/get", {"id": str(dept_id)})
                    .get("department", {})
                    .get("name")
                )
            parent = entry.get("parentid")
            departments.append(Department(dept_id, name, int(parent) if parent is not None else None))
        return tuple(departments)

    def list_tags(self) -> tuple[Tag, ...]:
        """tag/list (Doc 90216): ids and names; who carries a tag needs one tag/get per tag."""
        body = self._call("GET", "tag/list", {})
        return tuple(Tag(int(t["tagid"]), _str(t.get("tagname"))) for t in body.get("taglist") or ())

    def get_tag_members(self, tag_id: int) -> TagMembers:
        """tag/get (Doc 90213): 40068 if the tag no longer exists."""
        body = self._call("GET", "tag/get", {"tagid": str(tag_id)})
        userids = (_str(u.get("userid")) for u in body.get("userlist") or ())
        return TagMembers(
            userids=tuple(u for u in userids if u),
            department_ids=tuple(int(d) for d in body.get("partylist") or ()),
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, params: Mapping[str, str], json_body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A call that needs the access token: on 40014/42001 refetch once and retry once."""
        token = self._tokens.get()
        try:
            return self._request_retrying(method, path, {**params, "access_token": token}, json_body)
        except WeComError as exc:
            if exc.errcode not in TOKEN_EXPIRED:
                raise
            log.info("wecom access token rejected, fetching a new one", extra={"wecom_errcode": exc.errcode})
            self._tokens.invalidate(token)
            token = self._tokens.get()
            return self._request_retrying(method, path, {**params, "access_token": token}, json_body)

    def _request_retrying(
        self, method: str, path: str, params: Mapping[str, str], json_body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """One short retry on busy / rate-limit answers (-1, 45009, 45033), then give up."""
        try:
            return self._request(method, path, params, json_body)
        except WeComError as exc:
            if exc.errcode not in RETRY_ONCE:
                raise
            time.sleep(self._retry_delay)
            return self._request(method, path, params, json_body)

    def _request(
        self, method: str, path: str, params: Mapping[str, str], json_body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = "unreachable"  # no errcode: no answer, or not a WeCom answer
        try:
            body = self._answer(method, path, params, json_body)
            outcome = "0"
            return body
        except WeComError as exc:
            if exc.errcode is not None:
                outcome = str(exc.errcode)
            raise
        finally:
            self._metrics.wecom_call(path, outcome, time.perf_counter() - started)

    def _answer(
        self, method: str, path: str, params: Mapping[str, str], json_body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        target = f"{self._api}{path}?{urlencode(params)}"
        try:
            request = _prepared(method, target, json_body)
            resp = self._transport.send(request, timeout=self._timeout, proxies=self._proxies)
            _ = resp.content  # read it all, whatever the status: the connection goes back to the pool
        except requests.Timeout:
            error = unreachable(path, "timed out")
        except requests.RequestException as exc:
            error = unreachable(path, f"connection failed: {type(exc).__name__}")
        else:
            error = None
        if error is not None:
            # Raised outside the except block: requests' messages carry the full URL, secrets included.
            log.warning("wecom call failed", extra={"wecom_call": redact_url(target), "wecom_errcode": None})
            raise error
        body = _json_of(path, resp)
        errcode = body.get("errcode", 0)
        if errcode:
            error = error_from_response(path, body)
            log.warning(
                "wecom call failed",
                extra={
                    "wecom_call": redact_url(target),
                    "wecom_errcode": error.errcode,
                    "wecom_hint": error.request_hint,
                },
            )
            raise error
        if log.isEnabledFor(logging.DEBUG):  # the redaction is not free; most logs are INFO
            log.debug("wecom call ok", extra={"wecom_call": redact_url(target)})
        return body


def shared_token_client(settings: WeComSettings, store: Store, pool_size: int = 1) -> WeComClient:
    """A client whose access token lives in the store, shared with every other worker;
    ``pool_size`` connections kept open to WeCom (one per thread of the worker)."""
    client: WeComClient
    # Late binding: the cache needs the client's gettoken, the client needs the cache.
    tokens = AccessTokenCache(store, settings, lambda: client.fetch_access_token())
    client = WeComClient(settings, tokens, pool_size=pool_size)
    return client


def redact_url(url: str) -> str:
    """The URL with secret query values (access_token, corpsecret, code, user_ticket) masked."""
    parts = urlsplit(url)
    query = [
        (k, "***" if k in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


_HEADERS = {"User-Agent": "wecom-oidc-bridge", "Accept": "application/json"}


def _prepared(method: str, url: str, json_body: Mapping[str, Any] | None) -> PreparedRequest:
    """The request as ``requests.Request(...).prepare()`` would make it, without re-parsing a URL
    this module built itself from the validated ``api_base`` and an encoded query: prepare()'s
    URL parsing, IDNA check and type-checked parameter encoding were a third of a call's CPU."""
    request = PreparedRequest()
    request.method = method
    request.url = url
    request.headers = CaseInsensitiveDict(_HEADERS)
    request.body = None
    if json_body is not None:
        # As prepare() encodes json=: UTF-8 bytes, and the type and length headers.
        request.body = fastjson.dumps_bytes(json_body)
        request.headers["Content-Type"] = "application/json"
        request.headers["Content-Length"] = str(len(request.body))
    request.hooks = {"response": []}
    return request


class _WeComTransport(HTTPAdapter):
    """requests' transport for one WeCom client, through the hooks requests documents for
    subclasses: answers without the cookie jar (WeCom's API sets no cookies and the client keeps
    none, yet the stock ``build_response`` parses every answer for them, a sixth of a call's
    CPU), and the connection pool of each origin found once (every call of a client goes to its
    one api_base with the same TLS settings and proxies; finding it parsed the URL and built the
    pool key on every call)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pools: dict[str, Any] = {}

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        url = request.url or ""
        origin = url[: url.find("/", url.find("//") + 2)]
        pool = self._pools.get(origin)
        if pool is None:
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self._pools[origin] = pool
        return pool

    def close(self) -> None:
        self._pools.clear()
        super().close()

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        response = Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url or ""
        response.request = req
        response.connection = self
        return response


def _json_of(path: str, resp: requests.Response) -> dict[str, Any]:
    if resp.status_code >= 500:
        raise unreachable(path, f"HTTP {resp.status_code}")
    if resp.status_code != 200:
        raise wrong_endpoint(path, resp.status_code)
    try:
        body = fastjson.loads(resp.content)
    except ValueError:
        raise unreachable(path, "answer is not JSON") from None
    if not isinstance(body, dict):
        raise unreachable(path, "answer is not a JSON object")
    return body


def _str(value: object) -> str | None:
    """WeCom's value as a string, or None when absent or empty: never invent a value."""
    if value is None:
        return None
    text = str(value)
    return text or None
