"""The OpenID Provider: pyop behind one module, with its known faults fixed around it.

This is the only module that imports pyop. What pyop does for us: validate the authorization
request (oic messages), keep codes and access tokens in its authorization state, and build and
sign the RS256 ID token. What we add (architecture.md, "pyop: what it does for us"):

- the client and redirect_uri are checked before anything can redirect (``authorize.py``);
- codes are consumed atomically in the store, so two workers cannot redeem one code, and a
  replayed code revokes the access token it issued;
- PKCE is S256 only and required for public clients; pyop's ``plain`` path is never reached;
- users are found by ``sub`` through the store, not by scanning every key;
- client authentication is ours (constant-time, form-decoded Basic credentials);
- every pyop/oic exception is mapped to an RFC 6749 error, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from jwkest.jwk import RSAKey, import_rsa_key
from oic.exception import MessageException
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidSubjectIdentifier
from pyop.exceptions import OAuthError as PyopOAuthError
from pyop.provider import Provider
from pyop.subject_identifier import SubjectIdentifierFactory
from pyop.userinfo import Userinfo

from ..config.schema import ClientSettings, Settings
from ..errors import ConfigError, InvalidGrant, InvalidRequest, InvalidToken, UnsupportedGrantType
from ..store.base import Keys, Store, token_hash
from ..store.pyop_adapter import StoreMapping
from .authorize import AuthorizationError, AuthRequest, RedirectTarget
from .claims import claims_for_scopes
from .clients import ClientRegistry
from .discovery import Endpoints, discovery_document
from .keys import KeyRing, SigningKey

# pyop and oic log codes, tokens and ID tokens at DEBUG; they must never reach a handler.
for _noisy in ("pyop", "oic", "jwkest"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

log = logging.getLogger(__name__)


class _UserIdIsSubject(SubjectIdentifierFactory):
    """``sub`` is the WeCom userid (interface.md)."""

    def create_public_identifier(self, user_id: str) -> str:
        return user_id

    def create_pairwise_identifier(self, user_id: str, sector_identifier: str) -> str:
        raise InvalidSubjectIdentifier("pairwise subjects are not offered")


class _StoreAuthorizationState(AuthorizationState):
    """pyop's authorization state, store-backed, with atomic single-use codes.

    Each step touches the store once: a code is written once and consumed with one GETDEL,
    so two workers cannot both redeem it (pyop reads, checks ``used``, then writes).
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        t = settings.tokens
        super().__init__(
            _UserIdIsSubject(),
            authorization_code_db=StoreMapping(store, "code", t.code_lifetime),
            access_token_db=StoreMapping(store, "at", t.access_token_lifetime),
            authorization_code_lifetime=t.code_lifetime,
            access_token_lifetime=t.access_token_lifetime,
        )
        self._store = store
        self._used_ttl = max(t.access_token_lifetime, t.code_lifetime)

    def get_user_id_for_subject_identifier(self, subject_identifier: str) -> str:
        # pyop scans every stored subject here; our sub is the userid, so nothing to look up.
        return subject_identifier

    def create_authorization_code(
        self,
        authorization_request,
        subject_identifier,
        scope=None,
        user_info=None,
        extra_id_token_claims=None,
    ) -> str:
        code = secrets.token_urlsafe(32)
        self.authorization_codes[code] = {
            "exp": int(time.time()) + self.authorization_code_lifetime,
            "sub": subject_identifier,
            "granted_scope": " ".join(scope or authorization_request["scope"]),
            self.KEY_AUTHORIZATION_REQUEST: authorization_request.to_dict(),
            self.KEY_EXTRA_ID_TOKEN_CLAIMS: extra_id_token_claims or {},
            # The claims ride with the code, so the token endpoint need not read them again.
            self.KEY_USER_INFO: dict(user_info or {}),
        }
        return code

    def take_code(self, authorization_code: str) -> dict[str, Any] | None:
        """The code's record, removed in the same step; None for an unknown, expired or used code."""
        record = self.authorization_codes.take(authorization_code)
        if record is None or record["exp"] < int(time.time()):
            return None
        return record

    def issue_access_token(self, authorization_code: str, record: Mapping[str, Any]):
        access_token = self._create_access_token(
            record["sub"], record[self.KEY_AUTHORIZATION_REQUEST], record["granted_scope"]
        )
        # Remember what the code issued, so a replay of the code can revoke it (RFC 6749 §4.1.2).
        used_key = Keys.used_code(token_hash(authorization_code))
        self._store.set(used_key, token_hash(access_token.value), self._used_ttl)
        return access_token

    def revoke_issued_by(self, authorization_code: str) -> None:
        issued = self._store.get(Keys.used_code(token_hash(authorization_code)))
        if issued:
            self._store.delete(Keys.access_token(issued))
            log.warning("authorization code replayed: revoked the access token it issued")


def _pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OpenIDProvider:
    """The protocol core the web layer calls. Returns data or raises errors from ``errors.py``."""

    def __init__(self, settings: Settings, store: Store, keyring: KeyRing, clients: ClientRegistry) -> None:
        self.settings = settings
        self.endpoints = Endpoints(settings.issuer)
        self.clients = clients
        self.keyring = keyring
        self._users = StoreMapping(store, "user", settings.tokens.access_token_lifetime, hash_keys=False)
        self._state = _StoreAuthorizationState(store, settings)
        self._signing_kid: str | None = None
        # oic refuses an http issuer even on loopback, which the config allows for development:
        # validate an https twin, then put the real issuer (used as the ID token's iss) back.
        https_twin = Endpoints("https://" + settings.issuer.split("://", 1)[1])
        self._pyop = Provider(
            self._current_jwk(),
            discovery_document(https_twin, ["RS256"]),
            self._state,
            {c.client_id: self._pyop_client(c) for c in clients},
            Userinfo(self._users),
            id_token_lifetime=settings.tokens.id_token_lifetime,
        )
        self._pyop.configuration_information["issuer"] = settings.issuer

    @staticmethod
    def _pyop_client(client: ClientSettings) -> dict[str, Any]:
        return {
            "redirect_uris": list(client.redirect_uris),
            "response_types": ["code"],
            "token_endpoint_auth_method": "none" if client.is_public else "client_secret_basic",
        }

    def _newest_rs256(self) -> SigningKey:
        """pyop signs RS256 only; an ES256 key in keys_dir is published but not yet signed with."""
        for key in self.keyring.keys:
            if key.alg == "RS256":
                return key
        raise ConfigError("no RS256 key: run 'oidc-bridge keys generate --alg RS256'", key="keys_dir")

    def _current_jwk(self) -> RSAKey:
        key = self._newest_rs256()
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._signing_kid = key.kid
        return RSAKey(key=import_rsa_key(pem), kid=key.kid, alg="RS256", use="sig")

    def _signing_key(self) -> RSAKey:
        """Every worker signs with the newest key on disk; re-read only when it changed."""
        self.keyring.refresh()
        if self._newest_rs256().kid != self._signing_kid:
            self._pyop.signing_key = self._current_jwk()
        return self._pyop.signing_key

    # -- discovery ---------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return discovery_document(self.endpoints, ["RS256"])

    def jwks(self) -> dict[str, Any]:
        self.keyring.refresh()
        return self.keyring.jwks()

    # -- authorization -----------------------------------------------------------------------

    def check_with_pyop(self, req: AuthRequest) -> None:
        """pyop's own message validation, after ours: its errors go to the verified target."""
        try:
            self._pyop.parse_authentication_request(urlencode(req.params))
        except (PyopOAuthError, MessageException, ValueError, KeyError) as exc:
            target = RedirectTarget(req.redirect_uri, req.state_raw)
            raise AuthorizationError(InvalidRequest(f"pyop refused: {type(exc).__name__}"), target) from exc

    def issue_code(self, req: AuthRequest, claims: Mapping[str, Any], auth_time: int) -> str:
        """Remember the user's claims and issue a single-use code bound to client and redirect_uri."""
        sub = claims["sub"]
        self._users[sub] = dict(claims)
        pyop_request = self._pyop.parse_authentication_request(urlencode(req.params))
        return self._state.create_authorization_code(
            pyop_request, sub, user_info=dict(claims), extra_id_token_claims={"auth_time": auth_time}
        )

    # -- token -------------------------------------------------------------------------------

    def token(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        params = _single_values(form)
        client = self.clients.authenticate(authorization, params)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("no grant_type", description="grant_type is required.")
        if grant_type != "authorization_code":
            raise UnsupportedGrantType(grant_type[:64])
        return self._code_grant(client, params)

    def _code_grant(self, client: ClientSettings, params: Mapping[str, str]) -> dict[str, Any]:
        code = params.get("code")
        if not code:
            raise InvalidRequest("no code", description="code is required.")
        record = self._state.take_code(code)
        if record is None:
            # Unknown, expired, or already redeemed: a replay revokes what the code issued.
            self._state.revoke_issued_by(code)
            raise InvalidGrant("unknown, expired or used code")
        # The code is consumed from here on, whatever follows: a wrong client or verifier burns it.
        auth_req = record[AuthorizationState.KEY_AUTHORIZATION_REQUEST]
        if auth_req["client_id"] != client.client_id:
            raise InvalidGrant("code issued to another client")
        if params.get("redirect_uri") != auth_req["redirect_uri"]:
            raise InvalidGrant("redirect_uri differs from the authorization request")
        self._verify_pkce(auth_req, params.get("code_verifier"))
        access_token = self._state.issue_access_token(code, record)

        granted = record["granted_scope"].split()
        sub = record["sub"]
        claims = claims_for_scopes(record.get(AuthorizationState.KEY_USER_INFO) or {}, granted)
        claims.pop("sub", None)
        self._signing_key()
        id_token = self._pyop._create_signed_id_token(
            client.client_id,
            sub,
            claims,
            auth_req.get("nonce"),
            None,
            access_token.value,
            record.get(AuthorizationState.KEY_EXTRA_ID_TOKEN_CLAIMS) or {},
        )
        return {
            "access_token": access_token.value,
            "token_type": "Bearer",
            "expires_in": access_token.expires_in,
            "id_token": id_token,
            "scope": " ".join(granted),
        }

    @staticmethod
    def _verify_pkce(auth_req: Mapping[str, Any], verifier: str | None) -> None:
        challenge = auth_req.get("code_challenge")
        if challenge is None:
            if verifier is not None:
                # RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
                raise InvalidGrant("code_verifier sent but no code_challenge was")
            return
        if verifier is None or not (43 <= len(verifier) <= 128) or not verifier.isascii():
            raise InvalidGrant("missing or malformed code_verifier")
        if not hmac.compare_digest(_pkce_s256(verifier), challenge):
            raise InvalidGrant("code_verifier does not match code_challenge")

    # -- userinfo ----------------------------------------------------------------------------

    def userinfo(self, authorization: str | None, form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        token = _bearer_token(authorization, form)
        record = self._state.access_tokens.get(token)
        if record is None or record["exp"] < int(time.time()):
            raise InvalidToken("unknown or expired access token")
        sub = record["sub"]
        claims = claims_for_scopes(self._users.get(sub, {}), record["scope"].split())
        claims["sub"] = sub
        return claims


def _single_values(form: Mapping[str, Sequence[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, values in form.items():
        if len(values) != 1:
            raise InvalidRequest(f"duplicate {name}", description=f"Parameter {name} is repeated.")
        if len(values[0]) > 4096:
            raise InvalidRequest(f"oversized {name}", description=f"Parameter {name} is too long.")
        out[name] = values[0]
    return out


def _bearer_token(authorization: str | None, form: Mapping[str, Sequence[str]]) -> str:
    in_body = form.get("access_token", [])
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip() or in_body:
            raise InvalidToken("malformed Authorization header")
        return value.strip()
    if len(in_body) == 1 and in_body[0]:
        return in_body[0]
    raise InvalidToken("no access token")
