"""Signing keys on disk: every worker signs with the newest PEM in ``keys_dir``.

Private keys are written 0600 (the directory 0700 when created). The JWKS publishes public
members only, and keeps a rotated-out key until every token it signed has expired (``jwks``),
so a rotation never breaks a client. File names are ``<created_ns>-<kid>.pem``: the listing
alone says which key is newest, and workers notice a rotation by the listing changing. No
Flask, redis or requests here.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import ConfigError

log = logging.getLogger(__name__)

Alg = Literal["RS256", "ES256"]
ALGS: tuple[Alg, ...] = ("RS256", "ES256")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
RSA_BITS = 2048
_SUFFIX = ".pem"
# Added to the caller's retention: a worker that refreshed just before a rotation may still sign
# one token with the old key, and ``created`` comes from the clock of the host that rotated.
ROTATION_GRACE_SECONDS = 300
# Held while a worker decides whether the directory needs its first key, so that several
# workers starting together on an empty directory create one key, not one each.
_LOCK_NAME = ".lock"


def _b64(n: int | bytes, length: int | None = None) -> str:
    raw = n if isinstance(n, bytes) else n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _public_members(key: PrivateKey) -> dict[str, str]:
    """The JWK members RFC 7518 §6 requires; coordinates padded to the curve size (§6.2.1.2)."""
    if isinstance(key, rsa.RSAPrivateKey):
        pub = key.public_key().public_numbers()
        return {"kty": "RSA", "n": _b64(pub.n), "e": _b64(pub.e)}
    pub_ec = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64(pub_ec.x, 32), "y": _b64(pub_ec.y, 32)}


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    required = ("e", "kty", "n") if members["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: members[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    """One private key from ``keys_dir``; ``kid`` is its RFC 7638 thumbprint, stable across restarts."""

    kid: str
    alg: str
    private_key: PrivateKey
    created: float
    path: Path

    def public_jwk(self) -> dict[str, Any]:
        """Public members only: this is what JWKS publishes."""
        return {**_public_members(self.private_key), "kid": self.kid, "use": "sig", "alg": self.alg}


def _bad_key(path: Path, message: str) -> ConfigError:
    return ConfigError(message, key="keys_dir", file=str(path))


def _alg_of(key: object, path: Path) -> Alg:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < RSA_BITS:
            raise _bad_key(path, f"RSA keys must have at least {RSA_BITS} bits, this one has {key.key_size}")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise _bad_key(path, f"EC keys must be on P-256 (ES256), not {key.curve.name}")
        return "ES256"
    raise _bad_key(path, "only RSA (RS256) and P-256 (ES256) keys are supported")


def _created(path: Path) -> float:
    """From the ``<created_ns>-`` prefix; a PEM dropped in by hand falls back to its mtime."""
    prefix = path.name.split("-", 1)[0]
    return int(prefix) / 1e9 if prefix.isdigit() else path.stat().st_mtime


def load_key(path: Path) -> SigningKey:
    """One PEM file; a ``ConfigError`` naming the file when it is unreadable or unsuitable."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        created = _created(path)
    except OSError as exc:
        raise _bad_key(path, f"cannot read the key file: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _bad_key(path, "not an unencrypted PEM private key") from None
    alg = _alg_of(key, path)
    return SigningKey(thumbprint(_public_members(key)), alg, key, created, path)  # type: ignore[arg-type]


def _pem_names(keys_dir: Path) -> list[str]:
    """The key files' names; hidden files (half-written keys, the lock) are not keys."""
    try:
        with os.scandir(keys_dir) as entries:
            return [e.name for e in entries if e.name.endswith(_SUFFIX) and not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise _bad_key(keys_dir, f"cannot list the keys directory: {exc.strerror}") from None


def list_keys(keys_dir: Path) -> list[SigningKey]:
    """Every key in the directory, newest first; a key present twice is listed once."""
    keys = sorted(
        (load_key(keys_dir / name) for name in _pem_names(keys_dir)),
        key=lambda k: (k.created, k.path.name),
        reverse=True,
    )
    seen: set[str] = set()
    unique = []
    for key in keys:
        if key.kid not in seen:
            seen.add(key.kid)
            unique.append(key)
    return unique


def _new_private_key(alg: str) -> PrivateKey:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ConfigError(f"unsupported algorithm {alg!r}: use RS256 or ES256", key="alg")


def _make_dir(keys_dir: Path) -> None:
    try:
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise _bad_key(keys_dir, f"cannot create the keys directory: {exc.strerror}") from None


def generate_key(keys_dir: Path, alg: str = "RS256") -> SigningKey:
    """A new key that becomes current at once. Written 0600 under a hidden name, then renamed,
    so a worker reloading the directory never reads half a key."""
    key = _new_private_key(alg)
    _make_dir(keys_dir)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = thumbprint(_public_members(key))
    name = f"{time.time_ns()}-{kid}{_SUFFIX}"
    tmp, path = keys_dir / f".{name}.tmp", keys_dir / name
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # whatever the umask
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _bad_key(keys_dir, f"cannot write a key file: {exc.strerror or type(exc).__name__}") from None
    return load_key(path)


def rotate(keys_dir: Path) -> SigningKey:
    """A new key of the current key's algorithm becomes current; the old one stays published."""
    current = list_keys(keys_dir)
    return generate_key(keys_dir, current[0].alg if current else "RS256")


@contextlib.contextmanager
def _first_key_lock(keys_dir: Path) -> Iterator[None]:
    _make_dir(keys_dir)
    try:
        fd = os.open(keys_dir / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _bad_key(keys_dir, f"cannot write in the keys directory: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class KeyRing:
    """The keys a worker signs with and publishes; ``refresh()`` picks up a rotation cheaply."""

    def __init__(
        self, keys_dir: Path, keys: list[SigningKey], *, clock: Callable[[], float] = time.time
    ) -> None:
        if not keys:
            raise ValueError("a KeyRing needs at least one key")
        self._dir = keys_dir
        self._keys = list(keys)
        self._listing = frozenset(_pem_names(keys_dir))
        self._clock = clock

    @classmethod
    def load_or_create(cls, keys_dir: Path, *, clock: Callable[[], float] = time.time) -> KeyRing:
        """The keys on disk; on first start (empty or missing directory) one new RS256 key."""
        keys = list_keys(keys_dir)
        if keys:
            return cls(keys_dir, keys, clock=clock)
        with _first_key_lock(keys_dir):
            keys = list_keys(keys_dir)  # another worker may have made it while we waited
            if not keys:
                key = generate_key(keys_dir)
                log.warning(
                    "generated a new signing key in %s (kid %s): back this directory up, "
                    "every worker and replica must share it",
                    keys_dir,
                    key.kid,
                )
                keys = [key]
        return cls(keys_dir, keys, clock=clock)

    @property
    def keys_dir(self) -> Path:
        return self._dir

    def refresh(self) -> bool:
        """Reload when the directory's listing changed; True when it did.

        A broken file dropped in by hand must not take a running worker down: it keeps the keys
        it has and logs the problem once per listing.
        """
        try:
            names = frozenset(_pem_names(self._dir))
        except ConfigError as err:
            log.error("signing keys not reloaded: %s", err)
            return False
        if not names or names == self._listing:
            return False
        self._listing = names
        try:
            keys = list_keys(self._dir)
        except ConfigError as err:
            log.error("signing keys not reloaded, still using kid %s: %s", self.current.kid, err)
            return False
        if not keys:
            return False
        self._keys = keys
        return True

    @property
    def current(self) -> SigningKey:
        """The newest key: the one new tokens are signed with."""
        return self._keys[0]

    @property
    def keys(self) -> list[SigningKey]:
        """Newest first; every key in the directory, published or not, so that a token signed with a
        key no longer published (an expired ``id_token_hint``) can still be verified."""
        return list(self._keys)

    def published(self, retain_seconds: float | None = None) -> list[SigningKey]:
        """The keys a client may still meet in a live token, newest first.

        The current key signs. An older key stopped signing when its successor (the next newer
        key) was created, so it stays until that successor is ``retain_seconds`` plus
        ``ROTATION_GRACE_SECONDS`` old: by then every token it signed has expired. None
        publishes every key in the directory.
        """
        if retain_seconds is None:
            return list(self._keys)
        now = self._clock()
        keep = [self._keys[0]]
        for successor, key in zip(self._keys, self._keys[1:], strict=False):
            if now - successor.created < retain_seconds + ROTATION_GRACE_SECONDS:
                keep.append(key)
        return keep

    def jwks(self, retain_seconds: float | None = None) -> dict[str, Any]:
        """The published keys, public members only (RFC 7517 JWK Set).

        Pass ``max(id_token_lifetime, access_token_lifetime)`` (and any longer-lived signed token's
        lifetime): a rotated-out key then stays until the last token it signed has expired. None
        publishes every key in the directory.
        """
        return {"keys": [k.public_jwk() for k in self.published(retain_seconds)]}
