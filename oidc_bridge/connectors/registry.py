"""Upstream name -> connector factory: the one place to add another identity source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..config.schema import WeComSettings
from ..errors import ConfigError
from ..metrics import NO_METRICS, Recorder
from ..store.base import Store
from .base import Connector
from .wecom import build_wecom_connector

Factory = Callable[[WeComSettings, Store, Recorder], Connector]

FACTORIES: Mapping[str, Factory] = MappingProxyType({"wecom": build_wecom_connector})


def build_connector(
    settings: WeComSettings, store: Store, kind: str = "wecom", metrics: Recorder = NO_METRICS
) -> Connector:
    """The connector for ``kind``, built once at start and shared by every request."""
    factory = FACTORIES.get(kind)
    if factory is None:
        raise ConfigError(
            f"unknown connector {kind!r}; known: {', '.join(sorted(FACTORIES))}", key="connector"
        )
    return factory(settings, store, metrics)
