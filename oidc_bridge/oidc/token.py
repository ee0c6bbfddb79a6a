"""The token endpoint's grants, access tokens and userinfo.

Access tokens are opaque, stored by hash with their client, subject, scope and session, and
live for the client's access-token lifetime. Refresh tokens are issued when ``offline_access``
is granted, or to clients configured for them, and rotate on every use (``refresh.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.schema import ClientSettings, Settings
from ..connectors.upstreams import Upstreams
from ..errors import (
    AccessDenied,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    LoginRefused,
    UnauthorizedClient,
    UnsupportedGrantType,
    WeComError,
)
from ..metrics import NO_METRICS, Recorder
from ..observability import bind
from ..store.base import Store
from ..store.pyop_adapter import StoreMapping
from .claims import claims_for_client, claims_for_scopes, claims_from_identity
from .clients import ClientRegistry
from .policy import check_access
from .provider import KEY_AUTH_REQUEST, KEY_CLAIMS, KEY_EXTRA, PyopCore
from .refresh import Family, RefreshTokens
from .sessions import Sessions

GRANT_TYPES = ("authorization_code", "refresh_token")

log = logging.getLogger(__name__)

KEPT_AT_REFRESH = frozenset(
    {"email", "email_verified", "phone_number", "phone_number_verified", "picture", "gender", "_wecom_app"}
)


@dataclass(frozen=True)
class AccessToken:
    value: str
    record: dict[str, Any]

    @property
    def expires_in(self) -> int:
        return self.record["exp"] - self.record["iat"]


class Tokens:
    """What the token, userinfo, revocation and introspection endpoints share."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clients: ClientRegistry,
        core: PyopCore,
        upstreams: Upstreams,
        sessions: Sessions,
        clock: Callable[[], float] = time.time,
        *,
        metrics: Recorder = NO_METRICS,
    ) -> None:
        self.settings = settings
        self._metrics = metrics
        self.clients = clients
        self.core = core
        self.refresh_tokens = RefreshTokens(store, clock)
        self._store = store
        self._upstreams = upstreams
        self._sessions = sessions
        self._clock = clock
        longest = max(
            [settings.tokens.access_token_lifetime, *(c.access_token_lifetime or 0 for c in clients)]
        )
        self.access_tokens = StoreMapping(store, "at", longest)

    # -- access tokens -----------------------------------------------------------------------

    def new_access_token(
        self, client: ClientSettings, sub: str, scope: str, sid: str | None, family: str | None
    ) -> AccessToken:
        now = int(self._clock())
        lifetime = client.access_token_lifetime or self.settings.tokens.access_token_lifetime
        record = {
            "sub": sub,
            "client_id": client.client_id,
            "scope": scope,
            "iat": now,
            "exp": now + lifetime,
            "sid": sid,
            "family": family,
        }
        value = secrets.token_urlsafe(32)
        self.access_tokens[value] = record
        return AccessToken(value, record)

    def live_access_token(self, value: str) -> dict[str, Any] | None:
        record = self.access_tokens.get(value)
        if record is None or record["exp"] <= self._clock():
            return None
        return record

    # -- token endpoint ----------------------------------------------------------------------

    def token(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        params = single_values(form)
        client = self.clients.authenticate(authorization, params)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("no grant_type", description="grant_type is required.")
        if grant_type not in GRANT_TYPES:
            raise UnsupportedGrantType(grant_type[:64])
        if grant_type not in client.grant_types:
            raise UnauthorizedClient(f"{client.client_id} may not use {grant_type}")
        if grant_type == "refresh_token":
            body = self._refresh_grant(client, params)
        else:
            body = self._code_grant(client, params)
        self._metrics.token_issued(grant_type)
        return body

    def _code_grant(self, client: ClientSettings, params: Mapping[str, str]) -> dict[str, Any]:
        code = params.get("code")
        if not code:
            raise InvalidRequest("no code", description="code is required.")
        record = self.core.codes.take_code(code)
        if record is None:
            # Unknown, expired, or already redeemed: a replay revokes what the code issued.
            self.core.codes.revoke_issued_by(code)
            raise InvalidGrant("unknown, expired or used code")
        bind(login_id=record.get("login_id") or None)
        # The code is consumed from here on, whatever follows: a wrong client or verifier burns it.
        auth_req = record[KEY_AUTH_REQUEST]
        if auth_req["client_id"] != client.client_id:
            raise InvalidGrant("code issued to another client")
        if params.get("redirect_uri") != auth_req["redirect_uri"]:
            raise InvalidGrant("redirect_uri differs from the authorization request")
        verify_pkce(auth_req.get("code_challenge"), params.get("code_verifier"))

        sub, scope, extra = record["sub"], record["granted_scope"], record[KEY_EXTRA]
        claims = record[KEY_CLAIMS]
        sid = extra.get("sid")
        family_id, refresh_token = None, None
        with self._store.batch():  # what the code issues, written in one round trip
            if self._wants_refresh(client, scope):
                family, refresh_token = self.refresh_tokens.start_family(
                    client.refresh_token_lifetime or self.settings.tokens.refresh_token_lifetime,
                    client_id=client.client_id,
                    sub=sub,
                    sid=sid,
                    scope=scope,
                    auth_time=extra["auth_time"],
                    auth_request=auth_req,
                    claims=claims,
                )
                family_id = family.family_id
                self._attach_to_session(sid, family_id)
            access = self.new_access_token(client, sub, scope, sid, family_id)
            self.core.codes.remember_issued(code, access.value)
        log.info("code redeemed by client %s", client.client_id)
        return self._response(client, sub, claims, scope, access, auth_req.get("nonce"), extra, refresh_token)

    def _refresh_grant(self, client: ClientSettings, params: Mapping[str, str]) -> dict[str, Any]:
        token = params.get("refresh_token")
        if not token:
            raise InvalidRequest("no refresh_token", description="refresh_token is required.")
        family = self.refresh_tokens.find(token)
        if family is None:
            self.refresh_tokens.revoke_if_replayed(token)
            raise InvalidGrant("unknown, expired, revoked or rotated refresh token")
        if family.client_id != client.client_id:
            raise InvalidGrant("refresh token issued to another client")
        scope = self._narrowed_scope(family, params.get("scope"))
        claims = self._recheck_person(family)
        self._recheck_policy(client, family, claims)
        new_token = self.refresh_tokens.rotate(token, family, claims)
        if new_token is None:
            raise InvalidGrant("refresh token used concurrently")
        extra = {"auth_time": family.auth_time, **({"sid": family.sid} if family.sid else {})}
        access = self.new_access_token(client, family.sub, scope, family.sid, family.family_id)
        return self._response(client, family.sub, claims, scope, access, None, extra, new_token)

    def _recheck_person(self, family: Family) -> dict[str, Any]:
        """Someone disabled or gone in WeCom loses access at the next refresh; WeCom being down
        is temporarily_unavailable, and the refresh token stays usable."""
        upstream = self._upstreams.get(family.claims.get("_wecom_app"))
        if upstream is None:
            self.refresh_tokens.revoke_family(family.family_id, "its WeCom app is no longer configured")
            raise InvalidGrant("the WeCom app this login came through is no longer configured")
        try:
            identity = upstream.connector.refresh_identity(family.claims.get("_wecom_userid", family.sub))
        except LoginRefused as exc:
            self.refresh_tokens.revoke_family(
                family.family_id, f"person may no longer sign in ({exc.reason})"
            )
            raise InvalidGrant(f"WeCom refused {exc.reason}") from exc
        except WeComError as exc:
            log.warning("WeCom re-check at refresh failed: errcode=%s hint=%s", exc.errcode, exc.admin_hint)
            err = exc.as_oauth_error()
            raise (InvalidGrant(exc.detail) if isinstance(err, AccessDenied) else err) from exc
        # WeCom's answer now replaces the login's (departments, tags, name), even when empty;
        # only what in-app consent alone gives (user/get gives new apps no email or mobile) and
        # the app the person came through are kept from the login.
        kept = {k: v for k, v in family.claims.items() if k in KEPT_AT_REFRESH}
        return {**kept, **claims_from_identity(identity, family.sub)}

    def _recheck_policy(self, client: ClientSettings, family: Family, claims: Mapping[str, Any]) -> None:
        """Moved out of the client's departments (or tags) since login: no new tokens."""
        try:
            check_access(client, claims)
        except LoginRefused as exc:
            self.refresh_tokens.revoke_family(family.family_id, f"access policy: {exc.reason}")
            raise InvalidGrant(f"{client.client_id}'s access policy refuses the person now") from exc

    @staticmethod
    def _narrowed_scope(family: Family, requested: str | None) -> str:
        if requested is None:
            return family.scope
        if not set(requested.split()) <= set(family.scope.split()):
            raise InvalidScope("refresh asked for more than was granted")
        return requested

    def _wants_refresh(self, client: ClientSettings, scope: str) -> bool:
        asked = "offline_access" in scope.split() or client.refresh_tokens
        return asked and "refresh_token" in client.grant_types

    def _attach_to_session(self, sid: str | None, family_id: str) -> None:
        session = self._sessions.get(sid) if sid else None
        if session is not None:
            session.families.append(family_id)
            self._sessions.save(session)

    def _response(
        self,
        client: ClientSettings,
        sub: str,
        claims: Mapping[str, Any],
        scope: str,
        access: AccessToken,
        nonce: str | None,
        extra: Mapping[str, Any],
        refresh_token: str | None,
    ) -> dict[str, Any]:
        granted = scope.split()
        id_claims = claims_for_client(claims, granted, client)
        id_claims.pop("sub", None)
        body: dict[str, Any] = {
            "access_token": access.value,
            "token_type": "Bearer",
            "expires_in": access.expires_in,
            "id_token": self.core.id_token(client, sub, id_claims, nonce, access.value, extra),
            "scope": scope,
        }
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body

    # -- userinfo ----------------------------------------------------------------------------

    def userinfo(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        record = self.live_access_token(bearer_token(authorization, form))
        if record is None:
            raise InvalidToken("unknown, expired or revoked access token")
        claims = self._claims_now(record)
        client = self.clients.get(record["client_id"])
        scopes = record["scope"].split()
        out = claims_for_client(claims, scopes, client) if client else claims_for_scopes(claims, scopes)
        out["sub"] = record["sub"]
        return out

    def _claims_now(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The freshest claims we hold: the refresh family's (updated at each refresh), else the session's."""
        if record.get("family"):
            family = self.refresh_tokens.family(record["family"])
            if family is not None:
                return family.claims
        if record.get("sid"):
            session = self._sessions.get(record["sid"])
            if session is not None:
                return session.claims
        return {"sub": record["sub"]}


def verify_pkce(challenge: str | None, verifier: str | None) -> None:
    if challenge is None:
        if verifier is not None:
            # RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
            raise InvalidGrant("code_verifier sent but no code_challenge was")
        return
    if verifier is None or not (43 <= len(verifier) <= 128) or not verifier.isascii():
        raise InvalidGrant("missing or malformed code_verifier")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(expected, challenge):
        raise InvalidGrant("code_verifier does not match code_challenge")


def single_values(form: Mapping[str, Sequence[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, values in form.items():
        if len(values) != 1:
            raise InvalidRequest(f"duplicate {name[:64]!r}", description="A parameter is repeated.")
        if len(values[0]) > 4096:
            raise InvalidRequest(f"oversized {name[:64]!r}", description="A parameter is too long.")
        out[name] = values[0]
    return out


def bearer_token(authorization: str | None, form: Mapping[str, Sequence[str]]) -> str:
    in_body = form.get("access_token", [])
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip() or in_body:
            raise InvalidToken("malformed Authorization header")
        return value.strip()
    if len(in_body) == 1 and in_body[0]:
        return in_body[0]
    raise InvalidToken("no access token")
