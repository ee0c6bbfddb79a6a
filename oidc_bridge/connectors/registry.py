"""Upstream name -> connector factory: the one place to add another identity source."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from ..config.schema import WeComSettings
from ..errors import ConfigError
from ..metrics import NO_METRICS, Recorder
from ..store.base import Store
from .base import Connector
from .wecom import build_wecom_connector


class Factory(Protocol):
    def __call__(
        self,
        settings: WeComSettings,
        store: Store,
        metrics: Recorder,
        *,
        resolve_tags: bool = False,
        pool_size: int = 1,
    ) -> Connector: ...


FACTORIES: Mapping[str, Factory] = MappingProxyType({"wecom": build_wecom_connector})


def build_connector(
    settings: WeComSettings,
    store: Store,
    kind: str = "wecom",
    metrics: Recorder = NO_METRICS,
    resolve_tags: bool = False,
    pool_size: int = 1,
) -> Connector:
    """The connector for ``kind``, built once at start and shared by every request.

    ``resolve_tags``: some client's policy uses tags, so the connector must look them up.
    ``pool_size``: the connections it keeps to the upstream, one per thread of the worker.
    """
    factory = FACTORIES.get(kind)
    if factory is None:
        raise ConfigError(
            f"unknown connector {kind!r}; known: {', '.join(sorted(FACTORIES))}", key="connector"
        )
    return factory(settings, store, metrics, resolve_tags=resolve_tags, pool_size=pool_size)
