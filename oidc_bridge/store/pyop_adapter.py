"""pyop's dict-like databases, backed by the store.

pyop keeps codes, tokens and users in mappings. This adapter stores each entry as JSON under
``{name}:{sha256(key)}`` with a TTL, so no code or token sits in the store in clear and nothing
lives forever. ``items()`` is refused: pyop only scans when looking users up by ``sub``, which
the bridge replaces with an index.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from .. import fastjson
from .base import Store, token_hash


class StoreMapping(MutableMapping[str, Any]):
    """A mapping whose entries expire after ``ttl`` seconds."""

    def __init__(self, store: Store, name: str, ttl: float, *, hash_keys: bool = True) -> None:
        self._store = store
        self._name = name
        self._ttl = ttl
        self._hash_keys = hash_keys

    def key_for(self, key: str) -> str:
        return f"{self._name}:{token_hash(key) if self._hash_keys else key}"

    def __getitem__(self, key: str) -> Any:
        raw = self._store.get(self.key_for(key))
        if raw is None:
            raise KeyError("entry not found")
        return fastjson.loads(raw)

    def take(self, key: str) -> Any | None:
        """Read and remove in one atomic step (GETDEL): of two callers, only one gets the entry."""
        raw = self._store.getdel(self.key_for(key))
        return None if raw is None else fastjson.loads(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        self._store.set(self.key_for(key), fastjson.dumps(value), self._ttl)

    def __delitem__(self, key: str) -> None:
        self._store.delete(self.key_for(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._store.get(self.key_for(key)) is not None

    def __iter__(self) -> Iterator[str]:
        raise TypeError("store-backed mappings cannot be scanned")

    def __len__(self) -> int:
        raise TypeError("store-backed mappings cannot be counted")
