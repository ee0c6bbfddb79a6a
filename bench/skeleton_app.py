"""The stack's floor for ``bench/node_oidc/compare.py``: a login's unavoidable work and nothing else.

The same four requests as a bridge login, served by the same gunicorn settings, Flask, and the
same client libraries on the same hot paths (redis-py with hiredis on one connection per
worker; requests through the WeCom client's own lean transport; orjson; cryptography's RS256),
doing only what no implementation of the bridge on this stack can skip:

- ``/authorize``: park the request in Redis, redirect to WeCom's login page;
- ``/callback``: take the parked request, read the shared WeCom token, call WeCom's
  ``auth/getuserinfo`` and ``user/get``, write the session and the code (one pipeline),
  redirect to the client;
- ``/token``: check the client's secret, take the code, check PKCE, write the access token and
  what the code issued (one pipeline), sign an RS256 ID token;
- ``/userinfo``: read the access token and the session.

That is the bridge's 8 Redis round trips (3 GET, 2 GETDEL, 5 SET), 2 WeCom calls and one
signature. Nothing else: no validation beyond what the flow needs, no cookies, no logs, no
metrics, no error pages. What the bridge costs above this is its own code, what this costs is
the stack's. Not a server to deploy: errors are tracebacks.

Configured by ``SKELETON_ISSUER``, ``SKELETON_REDIS_URL``, ``SKELETON_WECOM_URL``,
``SKELETON_CORP_ID``, ``SKELETON_AGENT_ID``, ``SKELETON_SECRET`` and ``SKELETON_CLIENT_SECRET``;
``SKELETON_REDIS_URL`` empty keeps the state in the worker's memory instead (one worker only).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import orjson
import redis
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, Response, abort, redirect, request

from oidc_bridge.connectors.wecom.client import _prepared, _WeComTransport

ENV = os.environ
ISSUER = ENV["SKELETON_ISSUER"]
WECOM = ENV["SKELETON_WECOM_URL"]
TTL_MS = 600_000

app = Flask(__name__)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
wecom = requests.Session()
wecom.mount("http://", _WeComTransport())


class MemoryStore:
    """State in this worker's memory, as node-oidc-provider's memory adapter keeps it: for one
    worker only, nothing expires (a benchmark run is short)."""

    def __init__(self) -> None:
        self._entries: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._entries.get(key)

    def getdel(self, key: str) -> Any:
        return self._entries.pop(key, None)

    def set(self, key: str, value: Any, px: int) -> None:
        self._entries[key] = value

    def pipeline(self, transaction: bool) -> contextlib.nullcontext[MemoryStore]:
        return contextlib.nullcontext(self)

    def execute(self) -> None:
        """What a pipeline's writes need to land: nothing here."""


@functools.cache
def store() -> redis.Redis | MemoryStore:
    """One Redis connection per worker, opened on its first request (after the fork), as the
    bridge's; or, when ``SKELETON_REDIS_URL`` is empty, this worker's memory."""
    url = ENV["SKELETON_REDIS_URL"]
    return redis.Redis.from_url(url, single_connection_client=True) if url else MemoryStore()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _wecom_token() -> str:
    token = store().get("skeleton:wecom-token")
    if token is None:  # once a run, as the bridge's shared token
        answer = _wecom("gettoken", corpid=ENV["SKELETON_CORP_ID"], corpsecret=ENV["SKELETON_SECRET"])
        token = answer["access_token"].encode()
        store().set("skeleton:wecom-token", token, px=TTL_MS)
    return token.decode()


def _wecom(path: str, **params: str) -> dict[str, Any]:
    response = wecom.send(_prepared("GET", f"{WECOM}/cgi-bin/{path}?{urlencode(params)}", None), timeout=5)
    answer: dict[str, Any] = orjson.loads(response.content)
    if answer.get("errcode"):
        abort(502)
    return answer


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/authorize")
def authorize() -> Response:
    fields = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")
    login = secrets.token_hex(16)  # WeCom's state: letters and digits
    store().set(f"skeleton:login:{login}", orjson.dumps({f: request.args[f] for f in fields}), px=TTL_MS)
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": ENV["SKELETON_CORP_ID"],
            "agentid": ENV["SKELETON_AGENT_ID"],
            "redirect_uri": f"{ISSUER}/callback",
            "state": login,
        }
    )
    return redirect(f"{WECOM}/wwlogin/sso/login?{query}")


@app.get("/callback")
def callback() -> Response:
    parked = orjson.loads(store().getdel(f"skeleton:login:{request.args['state']}"))
    token = _wecom_token()
    userid = _wecom("auth/getuserinfo", access_token=token, code=request.args["code"])["userid"]
    user = _wecom("user/get", access_token=token, userid=userid)
    sid, code = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    with store().pipeline(transaction=False) as pipe:
        pipe.set(f"skeleton:session:{sid}", orjson.dumps({"sub": userid, "name": user["name"]}), px=TTL_MS)
        pipe.set(f"skeleton:code:{code}", orjson.dumps({**parked, "sid": sid, "sub": userid}), px=TTL_MS)
        pipe.execute()
    query = urlencode({"code": code, "state": parked["state"], "iss": ISSUER})
    return redirect(f"{parked['redirect_uri']}?{query}")


@app.post("/token")
def token() -> dict[str, Any]:
    auth = request.authorization
    if auth is None or not hmac.compare_digest(auth.password or "", ENV["SKELETON_CLIENT_SECRET"]):
        abort(401)
    grant = orjson.loads(store().getdel(f"skeleton:code:{request.form['code']}"))
    challenge = _b64(hashlib.sha256(request.form["code_verifier"].encode()).digest())
    if not hmac.compare_digest(challenge, grant["code_challenge"]):
        abort(400)
    access = secrets.token_urlsafe(32)
    with store().pipeline(transaction=False) as pipe:
        record = orjson.dumps({"sub": grant["sub"], "sid": grant["sid"]})
        pipe.set(f"skeleton:access:{access}", record, px=TTL_MS)
        pipe.set(f"skeleton:issued:{request.form['code']}", access, px=TTL_MS)  # a replayed code revokes it
        pipe.execute()
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": grant["sub"],
        "aud": grant["client_id"],
        "iat": now,
        "exp": now + 3600,
        "nonce": grant["nonce"],
        "at_hash": _b64(hashlib.sha256(access.encode()).digest()[:16]),
    }
    signing_input = f"{_b64(orjson.dumps({'alg': 'RS256', 'typ': 'JWT'}))}.{_b64(orjson.dumps(claims))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": f"{signing_input}.{_b64(signature)}",
    }


@app.get("/userinfo")
def userinfo() -> dict[str, Any]:
    access = orjson.loads(store().get(f"skeleton:access:{request.headers['Authorization'][7:]}"))
    session = orjson.loads(store().get(f"skeleton:session:{access['sid']}"))
    return {"sub": session["sub"], "name": session["name"]}
