"""JWTs signed and verified with ``cryptography`` alone: ID tokens, logout tokens, hints.

Not through pyop's pyjwkest, whose ECDSA uses a non-cryptographic RNG (architecture.md) and
whose RS256 costs four times the CPU (``provider.py``). Verification is strict and fails one
way only: ``InvalidJwt`` with a private detail, whatever the input, so the web layer has one
error to map.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .. import fastjson
from ..errors import BridgeError
from .keys import KeyRing, SigningKey

# Far above any token we issue (an ID token with a long group list is a few KB); refused unread.
MAX_TOKEN_LENGTH = 64 * 1024
_ES256_PART = 32  # RFC 7518 §3.4: R and S, 32 bytes each for P-256
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class InvalidJwt(BridgeError):
    """A JWT that is malformed, signed by no key of ours, or whose claims do not fit."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(part: str, what: str) -> bytes:
    """Unpadded base64url only, in its one canonical spelling (no stray bits, no padding)."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise InvalidJwt(f"{what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise InvalidJwt(f"{what} is not base64url") from None
    if _b64encode(raw) != part:
        raise InvalidJwt(f"{what} is not canonical base64url")
    return raw


def _json(claims: Mapping[str, Any]) -> bytes:
    # Names in Chinese travel as UTF-8, as RFC 7519 §7.1 expects.
    return fastjson.dumps_bytes(claims)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2: a parser must reject duplicate member names or take the last; we reject.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # Python reads 1e999 as inf; a date of inf (or a sum with it) is no date.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidJwt(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidJwt(f"{what} is not a JSON object")
    return value


def _sign(key: SigningKey, message: bytes) -> bytes:
    private = key.private_key
    if key.alg == "RS256" and isinstance(private, rsa.RSAPrivateKey):
        return private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if key.alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey):
        # cryptography answers DER; JWS wants R || S, fixed width (RFC 7518 §3.4).
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_ES256_PART, "big") + s.to_bytes(_ES256_PART, "big")
    raise ValueError(f"cannot sign {key.alg} with key {key.kid}")


def _check_signature(key: SigningKey, message: bytes, signature: bytes) -> None:
    public = key.private_key.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            return
        if len(signature) != 2 * _ES256_PART:
            raise InvalidJwt(f"ES256 signature of {len(signature)} bytes")
        r = int.from_bytes(signature[:_ES256_PART], "big")
        s = int.from_bytes(signature[_ES256_PART:], "big")
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise InvalidJwt(f"bad signature for kid {key.kid}") from None


def sign_jwt(claims: Mapping[str, Any], key: SigningKey, typ: str = "JWT") -> str:
    """A compact JWS over ``claims``, signed with ``key`` (RS256 or ES256), its kid in the header."""
    header = {"alg": key.alg, "kid": key.kid, "typ": typ}
    signing_input = f"{_b64encode(_json(header))}.{_b64encode(_json(claims))}"
    return f"{signing_input}.{_b64encode(_sign(key, signing_input.encode('ascii')))}"


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate as a finite float; an int past float's range is no date either."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidJwt(f"{name} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidJwt(f"{name} is out of range") from None
    if not math.isfinite(number):
        raise InvalidJwt(f"{name} is out of range")
    return number


def _same_typ(got: Any, expected: str) -> bool:
    # RFC 7515 §4.1.9: media types compare case-insensitively, "application/" may be omitted.
    if not isinstance(got, str):
        return False
    got, expected = got.lower(), expected.lower()
    return got.removeprefix("application/") == expected.removeprefix("application/")


def _check_claims(
    claims: Mapping[str, Any],
    *,
    audience: str | None,
    issuer: str | None,
    verify_exp: bool,
    leeway: int,
    now: float,
) -> None:
    if issuer is not None and claims.get("iss") != issuer:
        raise InvalidJwt("iss is not ours")
    if audience is not None:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in [a for a in audiences if isinstance(a, str)]:
            raise InvalidJwt("aud does not name the expected audience")
    if verify_exp:
        exp = _number(claims, "exp")
        if exp is None:
            raise InvalidJwt("no exp")
        if now >= exp + leeway:
            raise InvalidJwt(f"expired {int(now - exp)} s ago")
        nbf = _number(claims, "nbf")
        if nbf is not None and now < nbf - leeway:
            raise InvalidJwt("not valid yet (nbf)")


def verify_jwt(
    token: str,
    keyring: KeyRing,
    *,
    audience: str | None = None,
    issuer: str | None = None,
    verify_exp: bool = True,
    leeway: int = 60,
    typ: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a JWT signed by one of ``keyring.keys``, else ``InvalidJwt``.

    Every key in the directory verifies, published or not: an expired ``id_token_hint`` still
    names a session (``verify_exp=False``). The header's ``alg`` must be the key's own, so
    ``none`` and HS256-with-the-public-key are refused. ``typ``, when given, must match the
    header's (explicit typing, RFC 8725 §3.11). The caller refreshes the key ring first.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidJwt("not a string of sensible length")
    if not token.isascii():
        raise InvalidJwt("not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidJwt(f"{len(parts)} parts, not 3 (a JWE or not a JWT)")
    header_b64, payload_b64, signature_b64 = parts
    header = _object(_b64decode(header_b64, "header"), "header")
    payload = _b64decode(payload_b64, "payload")
    signature = _b64decode(signature_b64, "signature")
    alg, kid = header.get("alg"), header.get("kid")
    if "crit" in header:
        raise InvalidJwt("crit header: no extension is understood")
    if not isinstance(kid, str):
        raise InvalidJwt("no kid")
    key = next((k for k in keyring.keys if k.kid == kid), None)
    if key is None:
        raise InvalidJwt(f"unknown kid {kid[:64]!r}")
    if alg != key.alg:
        shown = alg[:16] if isinstance(alg, str) else type(alg).__name__
        raise InvalidJwt(f"alg {shown!r} is not {key.alg}, the alg of kid {kid}")
    if typ is not None and not _same_typ(header.get("typ"), typ):
        raise InvalidJwt(f"typ is not {typ}")
    _check_signature(key, f"{header_b64}.{payload_b64}".encode("ascii"), signature)
    claims = _object(payload, "payload")
    _check_claims(
        claims,
        audience=audience,
        issuer=issuer,
        verify_exp=verify_exp,
        leeway=leeway,
        now=time.time() if now is None else now,
    )
    return claims


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: the left half of the access token's hash, base64url (SHA-256 for both algs)."""
    if alg not in ("RS256", "ES256"):
        raise ValueError(f"no at_hash for {alg}")
    return _b64encode(hashlib.sha256(access_token.encode("utf-8")).digest()[:16])
