"""pyop behind one module, with its known faults fixed around it.

This is the only module that imports pyop. What pyop does for us: validate the authorization
request (oic messages) and keep authorization codes in its authorization state. What we add
(architecture.md, "pyop: what it does for us"):

- the client and redirect_uri are checked before anything can redirect (``authorize.py``);
- codes are written once and consumed with one GETDEL, so two workers cannot redeem one code;
- PKCE is S256 only and required for public clients; pyop's ``plain`` path is never reached;
- users are never looked up by scanning every key (pyop's ``get_user_id_for_subject_identifier``);
- access and refresh tokens are ours (``token.py``, ``refresh.py``): bound to their client, and a
  refresh works after the access token expired (pyop raises KeyError there);
- every pyop/oic exception is mapped to an RFC 6749 error, never a 500;
- keys: ID tokens always carry ``kid`` and are signed with ``cryptography`` (``signing.py``),
  never pyjwkest: its ECDSA uses a non-cryptographic RNG, and its RS256 (through pycryptodome)
  cost 1.6 ms of CPU per ID token against 0.37 ms, the largest item of a login's profile and
  the gap to node-oidc-provider's CPU per login (issue 6, bench/logins.py).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidSubjectIdentifier
from pyop.message import AuthorizationRequest
from pyop.provider import Provider
from pyop.subject_identifier import SubjectIdentifierFactory
from pyop.userinfo import Userinfo

from ..config.schema import ClientSettings, Settings
from ..errors import InvalidRequest
from ..store.base import Keys, Store, token_hash
from ..store.pyop_adapter import StoreMapping
from .authorize import AuthorizationError, AuthRequest
from .clients import ClientRegistry
from .discovery import Endpoints, discovery_document
from .keys import KeyRing
from .signing import at_hash, sign_jwt

# pyop and oic log codes, tokens and ID tokens at DEBUG; they must never reach a handler.
for _noisy in ("pyop", "oic", "jwkest"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

log = logging.getLogger(__name__)

KEY_AUTH_REQUEST = AuthorizationState.KEY_AUTHORIZATION_REQUEST
KEY_CLAIMS = AuthorizationState.KEY_USER_INFO
KEY_EXTRA = AuthorizationState.KEY_EXTRA_ID_TOKEN_CLAIMS


class _UserIdIsSubject(SubjectIdentifierFactory):
    """``sub`` is the WeCom userid (interface.md)."""

    def create_public_identifier(self, user_id: str) -> str:
        return user_id

    def create_pairwise_identifier(self, user_id: str, sector_identifier: str) -> str:
        raise InvalidSubjectIdentifier("pairwise subjects are not offered")


class CodeStore(AuthorizationState):
    """pyop's authorization state for codes: each written once and consumed with one GETDEL.

    pyop reads a code, checks ``used``, then writes it back: two workers can both redeem it.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        t = settings.tokens
        super().__init__(
            _UserIdIsSubject(),
            authorization_code_db=StoreMapping(store, "code", t.code_lifetime),
            authorization_code_lifetime=t.code_lifetime,
        )
        self._store = store
        self._used_ttl = max(t.access_token_lifetime, t.code_lifetime)

    def get_user_id_for_subject_identifier(self, subject_identifier: str) -> str:
        # pyop scans every stored subject here; our sub is the userid, so there is nothing to find.
        return subject_identifier

    def create_authorization_code(
        self,
        authorization_request,
        subject_identifier,
        scope=None,
        user_info=None,
        extra_id_token_claims=None,
        login_id: str = "",
    ) -> str:
        code = secrets.token_urlsafe(32)
        self.authorization_codes[code] = {
            "exp": int(time.time()) + self.authorization_code_lifetime,
            "sub": subject_identifier,
            "granted_scope": " ".join(scope or authorization_request["scope"]),
            KEY_AUTH_REQUEST: authorization_request.to_dict(),
            KEY_EXTRA: extra_id_token_claims or {},
            # The claims ride with the code, so the token endpoint need not read them again.
            KEY_CLAIMS: dict(user_info or {}),
            # Ties the token request's log lines to the login's (never in any token).
            "login_id": login_id,
        }
        return code

    def take_code(self, authorization_code: str) -> dict[str, Any] | None:
        """The code's record, removed in the same step; None for an unknown, expired or used code."""
        record = self.authorization_codes.take(authorization_code)
        if record is None or record["exp"] < int(time.time()):
            return None
        return record

    def remember_issued(self, authorization_code: str, access_token: str) -> None:
        """So a replay of the code can revoke what it issued (RFC 6749 §4.1.2)."""
        used_key = Keys.used_code(token_hash(authorization_code))
        self._store.set(used_key, token_hash(access_token), self._used_ttl)

    def revoke_issued_by(self, authorization_code: str) -> None:
        issued = self._store.get(Keys.used_code(token_hash(authorization_code)))
        if issued:
            self._store.delete(Keys.access_token(issued))
            log.warning("authorization code replayed: revoked the access token it issued")


class _Parser(Provider):  # type: ignore[misc]
    """pyop's Provider, minus a deep copy of the whole discovery document per authorization
    request: its scope validator reads ``provider_configuration``, which pyop deep-copies on
    every access. Nothing here writes to it, so the validators read the original."""

    @property
    def provider_configuration(self) -> Any:
        return self.configuration_information


class PyopCore:
    """Authorization-request parsing and code issuing through pyop; ID tokens signed by us."""

    def __init__(self, settings: Settings, store: Store, keyring: KeyRing, clients: ClientRegistry) -> None:
        self.settings = settings
        self.endpoints = Endpoints(settings.issuer)
        self.keyring = keyring
        self.codes = CodeStore(store, settings)
        self._clients = {c.client_id: _pyop_client(c) for c in clients}
        # oic refuses an http issuer even on loopback, which the config allows for development:
        # validate an https twin, then put the real issuer back. pyop signs nothing for us, so
        # it holds no key.
        https_twin = Endpoints("https://" + settings.issuer.split("://", 1)[1])
        self._parser = _Parser(
            None, discovery_document(https_twin, ["RS256"]), self.codes, self._clients, Userinfo({})
        )
        self._parser.configuration_information["issuer"] = settings.issuer

    # -- authorization -----------------------------------------------------------------------

    def check_request(self, req: AuthRequest) -> None:
        """pyop's own message validation, after ours: its errors go to the verified target."""
        try:
            self._parser.parse_authentication_request(_for_pyop(req))
        except Exception as exc:
            assert req.target is not None
            err = InvalidRequest(f"pyop refused: {type(exc).__name__}")
            raise AuthorizationError(err, req.target) from exc

    def issue_code(
        self, req: AuthRequest, claims: Mapping[str, Any], extra: Mapping[str, Any], login_id: str = ""
    ) -> str:
        """A single-use code bound to client, redirect_uri and PKCE challenge, carrying the claims.

        The request was validated at authorize (``check_request``); rebuilding it from its
        parameters skips pyop's validators, which deep-copy the provider configuration each time.
        """
        pyop_request = AuthorizationRequest().from_dict(dict(req.params))
        return self.codes.create_authorization_code(
            pyop_request,
            claims["sub"],
            scope=list(req.scopes),
            user_info=dict(claims),
            extra_id_token_claims=dict(extra),
            login_id=login_id,
        )

    # -- ID tokens ---------------------------------------------------------------------------

    def id_token(
        self,
        client: ClientSettings,
        sub: str,
        claims: Mapping[str, Any],
        nonce: str | None,
        access_token: str,
        extra: Mapping[str, Any],
    ) -> str:
        """Signed with the newest key on disk (every worker re-reads it when it changes), always
        with ``kid``: the claims, then what OIDC Core §2 requires on top."""
        self.keyring.refresh()
        key = self.keyring.current
        now = int(time.time())
        body = {
            **claims,
            **extra,
            "iss": self.settings.issuer,
            "sub": sub,
            "aud": client.client_id,
            "iat": now,
            "exp": now + (client.id_token_lifetime or self.settings.tokens.id_token_lifetime),
            "at_hash": at_hash(access_token, key.alg),
        }
        if nonce:
            body["nonce"] = nonce
        return sign_jwt(body, key)


def _for_pyop(req: AuthRequest) -> str:
    """The request as pyop validates it. oic refuses ``offline_access`` without ``prompt=consent``
    (OIDC Core §11 lets the OP decide); like Keycloak we grant it to clients allowed refresh
    tokens, so pyop sees the scope without it. Our own scope list keeps it."""
    scope = " ".join(s for s in req.params.get("scope", "").split() if s != "offline_access")
    return urlencode({**req.params, "scope": scope})


def _pyop_client(client: ClientSettings) -> dict[str, Any]:
    return {
        "redirect_uris": list(client.redirect_uris),
        "response_types": ["code"],
        "token_endpoint_auth_method": "none" if client.is_public else "client_secret_basic",
    }
