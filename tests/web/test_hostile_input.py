"""Hostile input at every endpoint: never a 5xx or a traceback, always the right error shape.

Generated requests (hypothesis) go to the app in-process through Flask's test client, with the
in-process store and WeCom on a closed loopback port: what is tested is the bridge's own input
handling. Endpoints come from the app's url_map at test time, so endpoints added later
(revocation, introspection, end_session) are fuzzed without touching this file.

A bug found gets a deterministic ``xfail(strict=True)`` test at the bottom. The property
tests recognise a known bug by its signature (``known_bug``) and let it pass, so they keep
looking for new ones. When a bug is fixed its xfail test passes, which fails the run: remove
the mark and the bug's line in ``known_bug``.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder, TestResponse
from werkzeug.wrappers import Request

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.store.memory_store import memory_store

ISSUER = "http://127.0.0.1:5556"
# Nothing listens on the discard port: a WeCom call fails at once, and the WeCom login URLs
# this bridge redirects to are easy to tell apart from the clients' redirect_uris.
WECOM = "http://127.0.0.1:9"
WECOM_LOGIN_PAGES = (f"{WECOM}/wwlogin/sso/login?", f"{WECOM}/connect/oauth2/authorize?")
WEB_ID, WEB_SECRET = "webapp", "webapp-secret-0123456789"
WEB_URI = "https://app.example.test/login/callback"
SPA_ID = "spa"
SPA_URI = "https://spa.example.test/cb?tenant=a"  # a registered redirect_uri with a query
REDIRECT_URIS = {WEB_ID: (WEB_URI,), SPA_ID: (SPA_URI,)}
LOGOUT_URI = "https://app.example.test/signed-out"
LOGOUT_URIS = {WEB_ID: (LOGOUT_URI,)}
VERIFY_FILE = "WW_verify_abc123.txt"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
FORM = "application/x-www-form-urlencoded"
BODY_LIMIT = 64 * 1024

# RFC 6749 §5.2 and RFC 6750 §3.1 / RFC 7009 §2.2.1: what a program may be told at a JSON endpoint.
JSON_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_token",
        "unsupported_token_type",
        "temporarily_unavailable",
    }
)
# RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: what an authorize error redirect may carry.
AUTHZ_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)
# RFC 6749 appendix A.7.
DESCRIPTION_CHARS = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
LEAKS = (b"Traceback", b"Internal Server Error", b'File "/')


# -- the app ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    keys_dir: Path = tmp_path_factory.mktemp("hostile") / "keys"
    settings = Settings(
        issuer=ISSUER,
        wecom=WeComSettings(
            corp_id="wwhostile0000001",
            agent_id="1000002",
            secret="hostile-wecom-secret-0123456789",
            api_base=WECOM,
            oauth_base=WECOM,
            sso_base=WECOM,
            verify_files={VERIFY_FILE: "abc123"},
            connect_timeout=0.2,
            read_timeout=0.2,
        ),
        clients=(
            ClientSettings(
                WEB_ID,
                (WEB_URI,),
                client_secret=WEB_SECRET,
                post_logout_redirect_uris=(LOGOUT_URI,),
                name="Web App",
            ),
            ClientSettings(SPA_ID, (SPA_URI,), name="SPA"),
        ),
        keys_dir=keys_dir,
    )
    return create_app(settings, store=memory_store(prefix=f"hostile-{secrets.token_hex(4)}:"))


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    # Cookies are part of the generated input, never carried from one example to the next.
    return app.test_client(use_cookies=False)


class _Crashes(logging.Handler):
    """Exceptions the app logged while answering: how a 500 is traced to its cause."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.seen.append(record.exc_info[1])


@pytest.fixture(scope="module")
def crashes() -> Iterator[_Crashes]:
    handler = _Crashes()
    logger = logging.getLogger("oidc_bridge")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@dataclass(frozen=True)
class Endpoint:
    rule: str
    endpoint: str
    methods: frozenset[str]
    arguments: tuple[str, ...]

    @property
    def is_json(self) -> bool:
        """Endpoints whose callers are programs: RFC 6749 JSON errors, never pages."""
        path = self.rule.rstrip("/")
        return path.endswith(("/token", "/userinfo")) or any(
            word in path for word in ("revoke", "revocation", "introspect")
        )

    @property
    def is_browser(self) -> bool:
        """Endpoints a person's browser lands on: a page or a redirect, never JSON."""
        return any(word in self.rule for word in ("authorize", "callback", "end_session", "logout"))


def discover(app: Flask) -> list[Endpoint]:
    found = [
        Endpoint(r.rule, r.endpoint, frozenset(r.methods or ()), tuple(sorted(r.arguments)))
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and not r.endpoint.endswith(".static")
    ]
    assert any(e.rule.endswith("/authorize") for e in found), "url_map discovery found no /authorize"
    return found


# -- requests ---------------------------------------------------------------------------------


@dataclass
class Hostile:
    """One generated request, kept as data so a failure prints it."""

    method: str
    path: str
    query: bytes = b""
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def builder(self) -> EnvironBuilder:
        return EnvironBuilder(
            path=self.path,
            base_url=ISSUER,
            method=self.method,
            data=self.body,
            content_type=self.content_type,
            headers=self.headers,
            # Raw bytes, exactly as a client could send them (invalid percent-escapes included).
            environ_overrides={"QUERY_STRING": self.query.decode("latin-1")},
        )

    def received(self) -> MultiDict[str, str]:
        """The parameters as the app parses them: the query for GET, the form for POST."""
        request = Request(self.builder().get_environ())
        return request.form if self.method == "POST" else request.args


PARAM_NAMES = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "response_mode",
    "request",
    "request_uri",
    "claims",
    "id_token_hint",
    "login_hint",
    "ui_locales",
    "grant_type",
    "code",
    "code_verifier",
    "client_secret",
    "access_token",
    "refresh_token",
    "token",
    "token_type_hint",
    "post_logout_redirect_uri",
    "appid",
)
GOOD_VALUES = (
    WEB_ID,
    SPA_ID,
    WEB_URI,
    SPA_URI,
    "code",
    "openid",
    "openid profile email phone",
    "S256",
    CHALLENGE,
    "authorization_code",
    "refresh_token",
    "none",
    "login",
    "query",
    "form_post",
    "openid offline_access",
    LOGOUT_URI,
    WEB_SECRET,
    "a" * 43,
    "xyz",
    "0",
)
PERCENT_GARBAGE = (
    "%ZZ",
    "%FF%FE",
    "%",
    "%0",
    "%00",
    "%C3",
    "%E4%B8",
    "%u00e9",
    "%%",
    "%C0%AF",
    "+%+",
    "%0D%0A",
)
ODD_VALUES = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "é",
    "企业微信",
    "\u202e",
    "\ufeff",
    "[]",
    "{}",
    "null",
    "'\"<>&",
    "../../",
    "\r\n",
    "a#b",
    "javascript:alert(1)",
)

# Any text a client could put in a parameter: non-ASCII, NUL, up to 8 KB.
unicode_text = st.text(st.characters(codec="utf-8"), max_size=40)
long_text = st.builds(lambda ch, n: ch * n, st.sampled_from("aZ%é\x00中 +"), st.integers(2000, 8192))
values = st.one_of(
    unicode_text, st.sampled_from(GOOD_VALUES), st.sampled_from(ODD_VALUES), st.sampled_from(PERCENT_GARBAGE)
)
# True about one time in ten (hypothesis' own choices lean towards the first value).
rarely = st.sampled_from((False,) * 9 + (True,))
values_or_long = st.one_of(values, values, values, long_text)  # long about one time in four
present = st.one_of(values_or_long.filter(bool), st.sampled_from(GOOD_VALUES))
names = st.one_of(st.sampled_from(PARAM_NAMES), unicode_text, st.sampled_from(ODD_VALUES))


def encode(name: str, value: str) -> bytes:
    return f"{quote(name, safe='')}={quote(value, safe='')}".encode("ascii")


# One piece of a query string or form body: well encoded, or raw garbage as a hostile client sends.
pair_bytes = st.one_of(
    st.builds(encode, names, values_or_long),
    st.builds(
        lambda n, g: quote(n, safe="").encode() + b"=" + g.encode(), names, st.sampled_from(PERCENT_GARBAGE)
    ),
    st.builds(lambda n, raw: quote(n, safe="").encode() + b"=" + raw, names, st.binary(max_size=24)),
    st.sampled_from(
        [b"=", b"&", b"==", b"a", b"%ZZ=1", b"\xff\xfe=\xff", b"state=\xe9\xff", b";", b"a=b;c=d"]
    ),
)
raw_params = st.lists(pair_bytes, max_size=8).map(b"&".join)


def multipart(pairs: list[tuple[str, str]], boundary: str = "hostileBOUNDARY") -> bytes:
    out = b""
    for name, value in pairs:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


pairs = st.lists(st.tuples(names, values), max_size=6)
CONTENT_TYPES = (
    None,
    "",
    FORM,
    FORM + "; charset=utf-8",
    FORM + "; charset=latin-1",
    FORM + ";;;",
    "application/json",
    "multipart/form-data; boundary=hostileBOUNDARY",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
    "garbage",
    "application/x-www-form-urlencoded\tx",
)
# A body and a Content-Type, sometimes agreeing, often not.
bodies = st.one_of(
    st.tuples(st.none(), st.sampled_from(CONTENT_TYPES)),
    st.tuples(raw_params, st.sampled_from(CONTENT_TYPES)),
    st.tuples(raw_params, st.just(FORM)),
    st.tuples(pairs.map(lambda p: json.dumps(dict(p)).encode()), st.sampled_from(("application/json", FORM))),
    st.tuples(pairs.map(multipart), st.sampled_from((*CONTENT_TYPES[7:9], FORM))),
    st.tuples(st.binary(max_size=2048), st.sampled_from(CONTENT_TYPES)),
    st.tuples(st.just(b"a=" + b"x" * (BODY_LIMIT + 10)), st.sampled_from((FORM, "application/json", None))),
)

# Header values: latin-1 text, no line breaks (no WSGI server passes those through).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode("ascii")


authorizations = st.one_of(
    st.none(),
    st.just(basic(f"{WEB_ID}:{WEB_SECRET}".encode())),
    st.binary(max_size=64).map(basic),  # decodes to anything, non-UTF-8 included
    header_text.map(lambda s: basic(s.encode())),  # with or without a colon, percent garbage
    header_text.map(lambda s: "Basic " + s),  # not base64
    header_text.map(lambda s: "Bearer " + s),
    st.sampled_from(
        [
            "",
            " ",
            "Basic",
            "Basic ",
            "Bearer",
            "Bearer ",
            "Basic =",
            "Basic ====",
            "Basic YQ",
            "Basic " + "A" * 8000,
            basic(b"a" * 6000 + b":" + b"b" * 6000),
            basic(b"webapp"),
            basic(b":"),
            basic(b"webapp:%ZZ"),
            basic(b"%FF%FE:%00"),
            basic(b"\xff\xfe:\x00"),
            basic(f"{WEB_ID}:{WEB_SECRET}".encode()) + "=",
            "BASIC " + basic(b"webapp:x")[6:],
            "bearer " + "x" * 8000,
            "Bearer a b c",
            "Digest username=x",
            "Negotiate YII=",
            "DPoP abc",
        ]
    ),
    header_text,
)
COOKIE_NAMES = ("oidc_bridge_browser", "oidc_bridge_session", "__Host-oidc_bridge_browser", "session", "")
cookies = st.lists(
    st.tuples(st.one_of(st.sampled_from(COOKIE_NAMES), header_text), header_text), max_size=4
).map(lambda cs: "; ".join(f"{n}={v}" for n, v in cs))
user_agents = st.one_of(
    st.sampled_from(["", "Mozilla/5.0 wxwork/4.1.0", "Mozilla/5.0 MicroMessenger/8.0", "curl/8"]), header_text
)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    out: dict[str, str] = {}
    auth = draw(authorizations)
    if auth is not None:
        out["Authorization"] = auth
    cookie = draw(cookies)
    if cookie:
        out["Cookie"] = cookie
    if draw(st.booleans()):
        out["User-Agent"] = draw(user_agents)
    if draw(st.booleans()):
        out["Accept"] = draw(st.sampled_from(["application/json", "text/html", "*/*", ""]))
    return out


def fill_path(endpoint: Endpoint, arguments: dict[str, str]) -> str:
    path = endpoint.rule
    for name in endpoint.arguments:
        path = re.sub(r"<(?:[^<>:]+:)?" + re.escape(name) + ">", quote(arguments[name], safe=""), path)
    return path


@st.composite
def hostile_request(draw: st.DrawFn, endpoint: Endpoint) -> Hostile:
    arguments = {
        name: draw(st.one_of(st.just("abc123"), unicode_text.filter(bool), st.sampled_from(PERCENT_GARBAGE)))
        for name in endpoint.arguments
    }
    body, content_type = draw(bodies)
    return Hostile(
        method=draw(st.one_of(st.sampled_from(sorted(endpoint.methods)), st.sampled_from(METHODS))),
        path=fill_path(endpoint, arguments),
        query=draw(raw_params),
        body=body,
        content_type=content_type,
        headers=draw(headers()),
    )


def send(client: FlaskClient, crashes: _Crashes, req: Hostile) -> tuple[TestResponse, list[BaseException]]:
    crashes.seen.clear()
    response = client.open(req.builder())
    return response, list(crashes.seen)


# -- what every answer must look like ---------------------------------------------------------


def known_bug(
    endpoint: Endpoint, req: Hostile, response: TestResponse, crashed: list[BaseException]
) -> str | None:
    """The signature of a known, still-open bug (each gets its own xfail test); none are open."""
    return None


def json_error(response: TestResponse) -> dict:
    assert response.mimetype == "application/json", response.get_data()[:300]
    body = response.get_json()
    assert isinstance(body, dict), body
    assert body.get("error") in JSON_ERRORS, body
    description = body.get("error_description")
    if description is not None:
        assert isinstance(description, str) and DESCRIPTION_CHARS.fullmatch(description), body
    assert response.headers.get("Cache-Control") == "no-store", response.headers
    return body


class _FormPost(HTMLParser):
    """The auto-submitting form of a form_post reply: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.action = a.get("action") or ""
        elif tag == "input" and self.action is not None:
            self.fields.append((a.get("name") or "", a.get("value") or ""))


def client_reply(response: TestResponse) -> tuple[str, str, list[tuple[str, str]]] | None:
    """("redirect" or "form_post", where to, parameters) when the answer goes anywhere."""
    location = response.headers.get("Location")
    if location:
        return "redirect", location, []
    if response.status_code == 200 and response.mimetype == "text/html":
        form = _FormPost()
        form.feed(response.get_data(as_text=True))
        if form.action is not None:
            return "form_post", html.unescape(form.action), form.fields
    return None


def registered_prefix(url: str, uris: dict[str, tuple[str, ...]], exact: bool) -> str | None:
    for candidates in uris.values():
        for uri in candidates:
            if (url == uri) if exact else (url == uri or url.startswith((uri + "?", uri + "&"))):
                return uri
    return None


def check_authorize_reply(
    kind: str, url: str, fields: list[tuple[str, str]], received: MultiDict[str, str], method: str
) -> None:
    """Only to WeCom's login pages, or with an error to the very redirect_uri this client registered."""
    assert all(0x21 <= ord(c) <= 0x7E for c in url), f"{kind} target not URL-safe: {url!r}"
    if kind == "redirect" and url.startswith(WECOM_LOGIN_PAGES):
        return
    target = registered_prefix(url, REDIRECT_URIS, exact=kind == "form_post")
    assert target is not None, f"{kind} to an unregistered address: {url[:200]}"
    client_ids, uris = received.getlist("client_id"), received.getlist("redirect_uri")
    assert len(client_ids) == 1 and target in REDIRECT_URIS.get(client_ids[0], ()), (client_ids, url)
    assert uris == [target], (uris, url)
    pairs = fields if kind == "form_post" else parse_qsl(url[len(target) + 1 :], keep_blank_values=True)
    params = dict(pairs)
    assert params.get("error") in AUTHZ_ERRORS, (kind, url, pairs)
    assert params.get("iss") == ISSUER, (kind, url, pairs)
    assert DESCRIPTION_CHARS.fullmatch(params.get("error_description", "")), (kind, url, pairs)
    # The client's state goes back once, when it sent one, whether by GET or POST.
    if method == "GET" and len(received.getlist("state")) == 1:
        assert [name for name, _ in pairs].count("state") == 1, (kind, url, pairs)
    # form_post asked for and verified: the reply is a form, never a query redirect.
    if received.getlist("response_mode") == ["form_post"] and kind == "redirect":
        raise AssertionError(f"response_mode=form_post answered with a redirect: {url[:200]}")


def outcome(endpoint: Endpoint, response: TestResponse) -> str:
    """A short label for hypothesis' statistics (--hypothesis-show-statistics)."""
    label = f"{endpoint.rule} {response.status_code}"
    location = response.headers.get("Location", "")
    if location:
        return label + (" to WeCom" if location.startswith(WECOM_LOGIN_PAGES) else " to the client")
    if response.status_code == 200 and b'<form method="post"' in response.get_data():
        return label + " form_post"
    if response.is_json and isinstance(response.get_json(silent=True), dict):
        return f"{label} {response.get_json().get('error', '')}".rstrip()
    title = re.search(rb"<title>([^<]*)</title>", response.get_data())
    return label + (f" {title.group(1).decode()[:40]}" if title and response.status_code >= 400 else "")


def check_answer(
    endpoint: Endpoint,
    req: Hostile,
    response: TestResponse,
    crashed: list[BaseException],
    *,
    upstream_may_fail: bool = False,
) -> None:
    bug = known_bug(endpoint, req, response, crashed)
    event(f"known bug: {bug}" if bug else outcome(endpoint, response))
    if bug:
        return
    status = response.status_code
    body = response.get_data()
    assert not crashed, f"the app logged an exception: {crashed!r}"
    if endpoint.rule.endswith("/readyz") and req.method in ("GET", "HEAD"):
        assert status == 200, body[:300]
    elif upstream_may_fail and status == 503:
        pass  # WeCom is unreachable on purpose: temporarily_unavailable, as a page
    else:
        assert status < 500, body[:300]
    for leak in LEAKS:
        assert leak not in body, body[:500]
    if status == 405:
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert allow == set(endpoint.methods), (allow, endpoint.methods)
    head = req.method == "HEAD"
    if endpoint.is_json and status >= 400 and not head:
        json_error(response)
    if status == 401:
        assert response.headers.get("WWW-Authenticate"), response.headers
    if endpoint.is_browser and req.method not in ("HEAD", "OPTIONS"):
        if 300 <= status < 400:
            assert response.headers.get("Location"), response.headers
        else:
            assert response.mimetype == "text/html", (status, response.mimetype, body[:200])
    if endpoint.is_browser and status >= 400 and not head:
        assert response.mimetype == "text/html" and b"<html" in body, (status, body[:200])
    reply = client_reply(response)
    if reply is None:
        return
    kind, url, fields = reply
    if endpoint.rule.endswith("/authorize"):
        check_authorize_reply(kind, url, fields, req.received(), req.method)
    elif any(word in endpoint.rule for word in ("logout", "end_session")):
        # Only to a post_logout_redirect_uri registered for the client the request named.
        target = registered_prefix(url, LOGOUT_URIS, exact=False)
        assert target is not None, f"sign-out {kind} to an unregistered address: {url[:200]}"
        received = req.received()
        assert received.getlist("post_logout_redirect_uri") == [target], url
        assert any(target in LOGOUT_URIS.get(c, ()) for c in received.getlist("client_id")), url
    elif endpoint.is_browser:
        assert registered_prefix(url, REDIRECT_URIS, exact=kind == "form_post"), f"{kind} to {url[:200]}"


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# -- property tests ---------------------------------------------------------------------------


@settings(FUZZ, max_examples=800)
@given(data=st.data())
def test_every_endpoint_survives_hostile_requests(
    app: Flask, client: FlaskClient, crashes: _Crashes, data: st.DataObject
) -> None:
    endpoint = data.draw(st.sampled_from(discover(app)), label="endpoint")
    req = data.draw(hostile_request(endpoint), label="request")
    response, crashed = send(client, crashes, req)
    check_answer(endpoint, req, response, crashed)


GOOD_BASIC = basic(f"{WEB_ID}:{WEB_SECRET}".encode())
# How a program may (try to) authenticate: (Authorization header, body fields).
CLIENT_AUTH: tuple[tuple[str | None, list[tuple[str, str]]], ...] = (
    (GOOD_BASIC, []),
    (None, [("client_id", WEB_ID), ("client_secret", WEB_SECRET)]),
    (None, [("client_id", SPA_ID)]),
    (GOOD_BASIC, [("client_id", WEB_ID)]),
    (None, []),
    (GOOD_BASIC, [("client_secret", WEB_SECRET)]),
    ("Bearer x", [("client_id", SPA_ID)]),
)
GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "",
    "AUTHORIZATION_CODE",
)


@st.composite
def json_endpoint_request(draw: st.DrawFn, endpoint: Endpoint) -> Hostile:
    """Mostly well-formed POSTs by an authenticated client, so the checks past client
    authentication (grant type, code, PKCE, token) are reached too."""
    authorization, body_pairs = draw(st.sampled_from(CLIENT_AUTH))
    grant_type = draw(st.sampled_from(("authorization_code",) * 6 + GRANT_TYPES[1:] + ("random",)))
    if grant_type == "random":
        grant_type = draw(values)
    body_pairs = [*body_pairs, ("grant_type", grant_type), ("code", draw(present)), ("token", draw(present))]
    body_pairs += draw(
        st.lists(
            st.tuples(
                st.sampled_from(("redirect_uri", "code_verifier", "token_type_hint", "scope")),
                values_or_long,
            ),
            max_size=3,
            unique_by=lambda pair: pair[0],
        )
    )
    if draw(rarely):
        body_pairs += draw(st.lists(st.tuples(names, values), max_size=2))
    body = b"&".join(encode(n, v) for n, v in draw(st.permutations(body_pairs)))
    if draw(rarely):
        body += b"&" + draw(pair_bytes)
    hdrs = draw(headers())
    hdrs.pop("Authorization", None)
    authorization = draw(st.sampled_from((authorization,) * 4 + ("random",)))
    if authorization == "random":
        authorization = draw(authorizations)
    if authorization is not None:
        hdrs["Authorization"] = authorization
    return Hostile(
        method=draw(st.sampled_from(("POST",) * 9 + ("GET",))),
        path=endpoint.rule,
        query=draw(st.sampled_from((b"",) * 4 + (None,))) or draw(raw_params),
        body=body,
        content_type=draw(
            st.sampled_from((FORM,) * 6 + (FORM + "; charset=utf-8", "application/json", None))
        ),
        headers=hdrs,
    )


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_json_endpoints_answer_rfc6749_errors(
    app: Flask, client: FlaskClient, crashes: _Crashes, data: st.DataObject
) -> None:
    json_endpoints = [e for e in discover(app) if e.is_json and not e.arguments]
    endpoint = data.draw(st.sampled_from(json_endpoints), label="endpoint")
    req = data.draw(json_endpoint_request(endpoint), label="request")
    response, crashed = send(client, crashes, req)
    check_answer(endpoint, req, response, crashed)
    if 200 <= response.status_code < 300 and req.method not in ("HEAD", "OPTIONS"):
        # Revocation answers 200 with no body for any token (RFC 7009 §2.2); the rest answer JSON.
        assert response.mimetype == "application/json" or not response.get_data(), response.get_data()[:300]


def near_misses(uri: str) -> list[str]:
    parts = urlsplit(uri)
    return [
        uri + "x",
        uri + "/",
        uri + "#frag",
        uri + "?a=b" if "?" not in uri else uri + "&a=b",
        uri.upper(),
        uri.replace("https://", "http://"),
        uri.replace(parts.netloc, parts.netloc + ".evil.test"),
        uri.replace(parts.netloc, "evil.test@" + parts.netloc),
        uri + "%00",
        " " + uri,
        "https://evil.test/",
        "//evil.test",
    ]


@st.composite
def authorize_request(draw: st.DrawFn, authorize: Endpoint) -> Hostile:
    """A valid client and redirect_uri (sometimes bent, missing or repeated) amid garbage."""
    client_id = draw(st.sampled_from((WEB_ID, SPA_ID)))
    registered = REDIRECT_URIS[client_id][0]
    other = REDIRECT_URIS[SPA_ID if client_id == WEB_ID else WEB_ID][0]
    # Mostly the registered one, so most requests get past the checks that allow a redirect.
    bent = draw(rarely)
    uri = draw(st.sampled_from([other, *near_misses(registered)])) if bent else registered
    base = [("client_id", client_id), ("redirect_uri", uri), ("response_type", "code"), ("scope", "openid")]
    if client_id == SPA_ID or draw(st.booleans()):
        base += [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]
    mode = draw(st.sampled_from((None, "query", "form_post", "form_post", "fragment")))
    if mode is not None:
        base.append(("response_mode", mode))
    extra = draw(st.lists(st.tuples(names, values_or_long), max_size=5))
    mixed = draw(st.permutations(base + extra))
    # Sometimes drop or repeat a parameter, client_id and redirect_uri included.
    if mixed and draw(rarely):
        mixed.pop(draw(st.integers(0, len(mixed) - 1)))
    if mixed and draw(rarely):
        mixed.append(draw(st.sampled_from(mixed)))
    encoded = b"&".join(encode(n, v) for n, v in mixed)
    if draw(rarely):
        encoded += b"&" + draw(pair_bytes)
    hdrs = draw(headers())
    if draw(st.booleans()):
        return Hostile("GET", authorize.rule, query=encoded, headers=hdrs)
    content_type = draw(st.sampled_from((FORM,) * 6 + ("text/plain", None, FORM + "; charset=latin-1")))
    return Hostile("POST", authorize.rule, body=encoded, content_type=content_type, headers=hdrs)


@settings(FUZZ, max_examples=600)
@given(data=st.data())
def test_authorize_redirects_only_to_registered_redirect_uris(
    app: Flask, client: FlaskClient, crashes: _Crashes, data: st.DataObject
) -> None:
    for authorize in (e for e in discover(app) if e.rule.endswith("/authorize")):
        req = data.draw(authorize_request(authorize), label="request")
        response, crashed = send(client, crashes, req)
        check_answer(authorize, req, response, crashed)


def start_login(client: FlaskClient, client_id: str = WEB_ID) -> tuple[str, str]:
    """A real parked login: (WeCom's state handle, the browser cookie header)."""
    response = client.get(
        "/authorize",
        query_string={
            "client_id": client_id,
            "redirect_uri": REDIRECT_URIS[client_id][0],
            "response_type": "code",
            "scope": "openid",
            "state": "rp-state",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 302, response.get_data()[:300]
    handle = dict(parse_qsl(urlsplit(response.headers["Location"]).query))["state"]
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    return handle, cookie


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_wecom_callback_survives_hostile_returns(
    app: Flask, client: FlaskClient, crashes: _Crashes, data: st.DataObject
) -> None:
    callback = next(e for e in discover(app) if e.rule.endswith("/wecom/callback"))
    client_id = data.draw(st.sampled_from((WEB_ID, SPA_ID)), label="client")
    handle, cookie = start_login(client, client_id)
    state = data.draw(st.sampled_from([handle] * 4 + [handle.lower(), handle + "a", handle[:-1] + "%00", ""]))
    params = [("state", state)]
    if data.draw(st.booleans(), label="has code"):
        params.append(("code", data.draw(values_or_long, label="code")))
    params += data.draw(st.lists(st.tuples(names, values), max_size=4), label="extra")
    hdrs = data.draw(headers(), label="headers")
    browser = data.draw(st.sampled_from(["own", "own", "none", "other"]), label="cookie")
    if browser == "own":
        hdrs["Cookie"] = cookie
    elif browser == "other":
        hdrs["Cookie"] = "oidc_bridge_browser=" + secrets.token_urlsafe(32)
    query = b"&".join(encode(n, v) for n, v in data.draw(st.permutations(params)))
    req = Hostile("GET", callback.rule, query=query, headers=hdrs)
    response, crashed = send(client, crashes, req)
    check_answer(callback, req, response, crashed, upstream_may_fail=True)
    if response.status_code == 503:
        assert response.mimetype == "text/html", response.get_data()[:200]
    location = response.headers.get("Location")
    if location:
        assert location.startswith(REDIRECT_URIS[client_id][0] + ("&" if client_id == SPA_ID else "?")), (
            location
        )


@st.composite
def logout_request(draw: st.DrawFn, logout: Endpoint) -> Hostile:
    """RP-initiated logout: a registered client and post_logout_redirect_uri, or near misses."""
    uri = draw(st.sampled_from((LOGOUT_URI,) * 5 + (WEB_URI, SPA_URI, *near_misses(LOGOUT_URI))))
    client_id = draw(st.sampled_from((WEB_ID, WEB_ID, SPA_ID, "unknown", "")))
    base = [("client_id", client_id), ("post_logout_redirect_uri", uri), ("state", draw(values))]
    if draw(rarely):
        base.append(("id_token_hint", draw(st.sampled_from(("abc", "a.b.c", "e30.e30.", "....")) | values)))
    pairs_ = draw(st.permutations(base + draw(st.lists(st.tuples(names, values_or_long), max_size=3))))
    if pairs_ and draw(rarely):
        pairs_.append(draw(st.sampled_from(pairs_)))
    encoded = b"&".join(encode(n, v) for n, v in pairs_)
    hdrs = draw(headers())
    if draw(st.booleans()):
        return Hostile("GET", logout.rule, query=encoded, headers=hdrs)
    return Hostile(
        "POST",
        logout.rule,
        body=encoded,
        content_type=draw(st.sampled_from((FORM,) * 4 + (None,))),
        headers=hdrs,
    )


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_logout_redirects_only_to_registered_post_logout_uris(
    app: Flask, client: FlaskClient, crashes: _Crashes, data: st.DataObject
) -> None:
    logouts = [e for e in discover(app) if any(w in e.rule for w in ("logout", "end_session"))]
    if not logouts:
        pytest.skip("no RP-initiated logout endpoint")
    for logout in logouts:
        req = data.draw(logout_request(logout), label="request")
        response, crashed = send(client, crashes, req)
        check_answer(logout, req, response, crashed)


# -- deterministic cases ----------------------------------------------------------------------


def authorize_query(**overrides: str | list[str]) -> list[tuple[str, str]]:
    params: dict[str, str | list[str]] = {
        "client_id": WEB_ID,
        "redirect_uri": WEB_URI,
        "response_type": "code",
        "scope": "openid",
        "state": "xyz",
    }
    params.update(overrides)
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        out += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return out


def raw(pairs: list[tuple[str, str]]) -> bytes:
    return b"&".join(encode(n, v) for n, v in pairs)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "repeated",
    [
        {"client_id": [WEB_ID, WEB_ID]},
        {"client_id": [WEB_ID, SPA_ID]},
        {"redirect_uri": [WEB_URI, WEB_URI]},
        {"redirect_uri": [WEB_URI, "https://evil.test/cb"]},
        {"redirect_uri": ["https://evil.test/cb", WEB_URI]},
    ],
    ids=["same-client", "two-clients", "same-uri", "uri-then-evil", "evil-then-uri"],
)
def test_repeated_client_id_or_redirect_uri_gets_a_page_not_a_redirect(
    client: FlaskClient, method: str, repeated: dict[str, list[str]]
) -> None:
    body = raw(authorize_query(**repeated))
    if method == "GET":
        response = client.open(Hostile("GET", "/authorize", query=body).builder())
    else:
        response = client.open(Hostile("POST", "/authorize", body=body, content_type=FORM).builder())
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("uri", [*near_misses(WEB_URI), SPA_URI])
def test_unregistered_redirect_uri_is_never_redirected_to(client: FlaskClient, uri: str) -> None:
    response = client.open(
        Hostile("GET", "/authorize", query=raw(authorize_query(redirect_uri=uri))).builder()
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 1024 * 1024])
def test_oversized_body_is_a_readable_413(app: Flask, client: FlaskClient, size: int) -> None:
    problems = []
    for endpoint in discover(app):
        if "POST" not in endpoint.methods or endpoint.arguments:
            continue
        response = client.post(endpoint.rule, data=b"a=" + b"x" * size, content_type=FORM)
        body = response.get_data()
        if response.status_code != 413 or any(leak in body for leak in LEAKS):
            problems.append((endpoint.rule, response.status_code, body[:200]))
        elif endpoint.is_json:
            assert json_error(response)["error"] == "invalid_request"
        else:
            assert response.mimetype == "text/html" and b"<html" in body, (endpoint.rule, body[:200])
    assert not problems


def test_nul_in_state_goes_back_percent_encoded(client: FlaskClient) -> None:
    query = b"client_id=webapp&redirect_uri=" + quote(WEB_URI, safe="").encode()
    refused = client.open(
        Hostile("GET", "/authorize", query=query + b"&response_type=token&scope=openid&state=a%00b").builder()
    )
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith(WEB_URI + "?")
    assert refused.headers["Location"].endswith("&state=a%00b")
    accepted = client.open(
        Hostile("GET", "/authorize", query=query + b"&response_type=code&scope=openid&state=%00").builder()
    )
    assert accepted.status_code == 302
    assert accepted.headers["Location"].startswith(WECOM_LOGIN_PAGES)


def wrong_methods(app: Flask, *, json: bool) -> list[tuple[str, str, int, str | None]]:
    """(path, method, status, Allow) for every method an endpoint does not take."""
    client = app.test_client(use_cookies=False)
    out = []
    for endpoint in discover(app):
        if endpoint.is_json != json or endpoint.arguments:
            continue
        for method in sorted(set(METHODS) - endpoint.methods):
            response = client.open(endpoint.rule, method=method)
            out.append((endpoint.rule, method, response.status_code, response.headers.get("Allow")))
    assert out
    return out


def allow_matches(app: Flask, path: str, allow: str | None) -> bool:
    expected = next(set(e.methods) for e in discover(app) if e.rule == path)
    return allow is not None and {m.strip() for m in allow.split(",")} == expected


def test_wrong_method_is_405_with_allow_header(app: Flask) -> None:
    wrong = [
        (path, method, status, allow)
        for path, method, status, allow in wrong_methods(app, json=False)
        if status != 405 or not allow_matches(app, path, allow)
    ]
    assert not wrong


def test_token_with_a_json_body_is_invalid_request(client: FlaskClient) -> None:
    response = client.post(
        "/token",
        json={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": WEB_ID,
            "client_secret": WEB_SECRET,
        },
    )
    assert response.status_code == 400
    assert json_error(response)["error"] == "invalid_request"


def test_userinfo_with_both_header_and_body_token_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/userinfo", headers={"Authorization": "Bearer abc"}, data={"access_token": "abc"}, content_type=FORM
    )
    assert response.status_code in (400, 401)
    assert json_error(response)["error"] in ("invalid_request", "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!not-base64!!!",
        basic(b"\xff\xfe:\xfd"),
        basic(b"webapp-without-colon"),
        "Basic " + "A" * 16000,
        basic(b"webapp:%ZZ%FF"),
        "Bearer " + "x" * 100,
        "Digest username=webapp",
    ],
    ids=["bad-base64", "not-utf8", "no-colon", "huge", "percent-garbage", "bearer", "digest"],
)
def test_hostile_client_credentials_are_invalid_client(client: FlaskClient, authorization: str) -> None:
    response = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": authorization},
        content_type=FORM,
    )
    assert response.status_code == 401
    assert json_error(response)["error"] == "invalid_client"
    assert response.headers.get("WWW-Authenticate")


# -- known bugs: each flips to a failure (XPASS, strict) when fixed -----------------------------


@pytest.mark.parametrize("query", ["%C3%A9=1&%C3%A9=2", "%22=1&%22=2", "%5C=" + "a" * 3000])
def test_repeated_or_long_parameter_with_any_name_is_an_error_redirect(
    client: FlaskClient, query: str
) -> None:
    response = client.open(
        Hostile("GET", "/authorize", query=raw(authorize_query()) + b"&" + query.encode()).builder()
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(WEB_URI + "?error=invalid_request")


@pytest.mark.parametrize("body", ["%C3%A9=1&%C3%A9=2", "%22=" + "a" * 5000])
def test_repeated_or_long_form_field_with_any_name_is_invalid_request(client: FlaskClient, body: str) -> None:
    response = client.post("/token", data="grant_type=authorization_code&" + body, content_type=FORM)
    assert response.status_code == 400
    assert json_error(response)["error"] == "invalid_request"


@pytest.mark.parametrize("hint", ["abc", "a.b.c", "%FF"])
def test_malformed_id_token_hint_is_an_error_redirect(client: FlaskClient, hint: str) -> None:
    response = client.open(
        Hostile("GET", "/authorize", query=raw(authorize_query(id_token_hint=hint))).builder()
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(WEB_URI + "?error=invalid_request")


def test_wrong_method_at_json_endpoints_is_405_with_allow_header(app: Flask) -> None:
    wrong = [
        (path, method, status, allow)
        for path, method, status, allow in wrong_methods(app, json=True)
        if status != 405 or not allow_matches(app, path, allow)
    ]
    assert not wrong


def test_posted_authorization_request_gets_its_state_back(client: FlaskClient) -> None:
    body = raw(authorize_query(response_type="token", state="rp-state"))
    response = client.open(Hostile("POST", "/authorize", body=body, content_type=FORM).builder())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("&state=rp-state")


def test_raw_non_utf8_bytes_in_the_query_are_never_a_500(app: Flask, client: FlaskClient) -> None:
    answers = [
        (
            e.rule,
            client.open(Hostile("GET", e.rule, query=b"client_id=\x80&state=\xff").builder()).status_code,
        )
        for e in discover(app)
        if "GET" in e.methods and not e.arguments
    ]
    assert all(status < 500 for _, status in answers), answers


def test_pyop_refusal_honours_form_post(client: FlaskClient) -> None:
    query = raw(authorize_query(response_mode="form_post", claims="[]"))
    response = client.open(Hostile("GET", "/authorize", query=query).builder())
    assert response.status_code == 200
    reply = client_reply(response)
    assert reply is not None and reply[0] == "form_post" and reply[1] == WEB_URI
    assert dict(reply[2]).get("error") == "invalid_request"
