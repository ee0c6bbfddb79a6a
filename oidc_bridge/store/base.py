"""The store: one small interface over Redis or, without ``redis_url``, fakeredis in-process.

Every key lives under a configurable prefix; every key has a TTL. Connection failures surface
as ``StoreUnavailable`` so the web layer can answer 503 instead of a 500 page.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from dataclasses import fields
from typing import Any, Protocol

from .. import fastjson


def token_hash(value: str) -> str:
    """Tokens and codes are stored under this hash, never in clear."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class Keys:
    """Key names, in one place (architecture.md, "The store"). Prefix is added by the store."""

    @staticmethod
    def login(handle: str) -> str:
        return f"login:{handle}"

    @staticmethod
    def user(sub: str) -> str:
        return f"user:{sub}"

    @staticmethod
    def code(code_hash: str) -> str:
        return f"code:{code_hash}"

    @staticmethod
    def used_code(code_hash: str) -> str:
        return f"used:code:{code_hash}"

    @staticmethod
    def access_token(at_hash: str) -> str:
        return f"at:{at_hash}"

    @staticmethod
    def refresh_token(rt_hash: str) -> str:
        return f"rt:{rt_hash}"

    @staticmethod
    def wecom_token(corp_id: str, agent_id: str) -> str:
        return f"wecom:token:{corp_id}:{agent_id}"

    @staticmethod
    def wecom_token_lock(corp_id: str, agent_id: str) -> str:
        return f"wecom:token:{corp_id}:{agent_id}:lock"

    @staticmethod
    def wecom_private_fields(corp_id: str, agent_id: str, userid: str) -> str:
        return f"wecom:private:{corp_id}:{agent_id}:{userid}"

    @staticmethod
    def wecom_departments(corp_id: str, agent_id: str) -> str:
        # Per app: each app sees only the departments in its own visible range.
        return f"wecom:dept:{corp_id}:{agent_id}"

    @staticmethod
    def wecom_tags(corp_id: str, agent_id: str) -> str:
        # Per app, like departments: tag members are answered within the app's visible range.
        return f"wecom:tags:{corp_id}:{agent_id}"

    @staticmethod
    def session(sid: str) -> str:
        return f"session:{sid}"

    @staticmethod
    def refresh_family(family_id: str) -> str:
        return f"rtfam:{family_id}"

    @staticmethod
    def used_refresh_token(rt_hash: str) -> str:
        return f"used:rt:{rt_hash}"


class Store(Protocol):
    """What the rest of the bridge may ask of shared state. Values are str (UTF-8)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float) -> None:
        """Set with a TTL in seconds (fractions allowed: stored as milliseconds)."""

    def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """SET NX with a TTL: True if this call created the key. The basis of locks and single use."""

    def getdel(self, key: str) -> str | None:
        """Atomically read and delete: a second caller gets None."""

    def delete(self, *keys: str) -> int: ...

    def ttl(self, key: str) -> float | None:
        """Seconds left, or None if the key is absent."""

    def ping(self) -> None:
        """Raise StoreUnavailable if the store does not answer."""

    def batch(self) -> AbstractContextManager[None]:
        """``with store.batch():`` the block's ``set`` calls go out together when it ends (one
        round trip); for several writes that nothing in the block reads back."""


def get_json(store: Store, key: str) -> Any | None:
    raw = store.get(key)
    return None if raw is None else fastjson.loads(raw)


def set_json(store: Store, key: str, value: Any, ttl: float) -> None:
    store.set(key, fastjson.dumps(value), ttl)


def record_fields(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a flat dict for ``set_json``: nested values are shared, not copied.

    ``dataclasses.asdict`` deep-copies every nested dict and list only for ``json.dumps`` to read
    them once; on a login that was the largest share of serialising the session and the parked
    login (bench/logins.py, cProfile).
    """
    return {f.name: getattr(record, f.name) for f in fields(record)}


def getdel_json(store: Store, key: str) -> Any | None:
    raw = store.getdel(key)
    return None if raw is None else fastjson.loads(raw)
