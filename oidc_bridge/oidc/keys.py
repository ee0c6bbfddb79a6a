"""Signing keys on disk: every worker signs with the newest PEM in ``keys_dir``.

Private keys are written 0600 (the directory 0700). The JWKS publishes every key in the
directory with public members only, so a rotated-out key keeps verifying the tokens it signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import ConfigError

log = logging.getLogger(__name__)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(n: int | bytes, length: int | None = None) -> str:
    raw = n if isinstance(n, bytes) else n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _public_members(key: PrivateKey) -> dict[str, str]:
    if isinstance(key, rsa.RSAPrivateKey):
        pub = key.public_key().public_numbers()
        return {"kty": "RSA", "n": _b64(pub.n), "e": _b64(pub.e)}
    pub_ec = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64(pub_ec.x, 32), "y": _b64(pub_ec.y, 32)}


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order."""
    required = ("e", "kty", "n") if members["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: members[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: PrivateKey
    created: float
    path: Path

    def public_jwk(self) -> dict[str, Any]:
        return {**_public_members(self.private_key), "kid": self.kid, "use": "sig", "alg": self.alg}


def _load(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            "not a readable, unencrypted PEM private key", key="keys_dir", file=str(path)
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError("only RSA and P-256 keys are supported", key="keys_dir", file=str(path))
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    created_ns = path.name.split("-", 1)[0]
    created = int(created_ns) / 1e9 if created_ns.isdigit() else path.stat().st_mtime
    return SigningKey(thumbprint(_public_members(key)), alg, key, created, path)


def list_keys(keys_dir: Path) -> list[SigningKey]:
    """Every key in the directory, newest first."""
    if not keys_dir.is_dir():
        return []
    keys = [_load(p) for p in keys_dir.glob("*.pem")]
    return sorted(keys, key=lambda k: k.created, reverse=True)


def generate_key(keys_dir: Path, alg: str = "RS256") -> SigningKey:
    if alg not in ("RS256", "ES256"):
        raise ConfigError(f"unsupported algorithm {alg!r}: use RS256 or ES256", key="alg")
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = thumbprint(_public_members(key))
    path = keys_dir / f"{time.time_ns()}-{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return _load(path)


def rotate(keys_dir: Path) -> SigningKey:
    """A new key of the current key's algorithm becomes current; the old one stays published."""
    current = list_keys(keys_dir)
    return generate_key(keys_dir, current[0].alg if current else "RS256")


class KeyRing:
    """The keys a worker signs with and publishes; ``refresh()`` picks up a rotation cheaply."""

    def __init__(self, keys_dir: Path, keys: list[SigningKey]) -> None:
        self._dir = keys_dir
        self._keys = keys
        self._listing = self._names()

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> KeyRing:
        keys = list_keys(keys_dir)
        if not keys:
            key = generate_key(keys_dir)
            log.warning("generated a new signing key in %s (kid %s)", keys_dir, key.kid)
            keys = [key]
        return cls(keys_dir, keys)

    def _names(self) -> frozenset[str]:
        try:
            return frozenset(p.name for p in self._dir.glob("*.pem"))
        except OSError:
            return frozenset()

    def refresh(self) -> None:
        names = self._names()
        if names and names != self._listing:
            self._keys = list_keys(self._dir)
            self._listing = names

    @property
    def current(self) -> SigningKey:
        return self._keys[0]

    @property
    def keys(self) -> list[SigningKey]:
        return list(self._keys)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self._keys]}
