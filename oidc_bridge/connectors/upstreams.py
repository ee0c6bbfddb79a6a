"""The WeCom apps people sign in through: one connector each, and which a client may use.

One bridge can serve several apps of one corp, or apps of several corps ([[wecom.apps]]). Every
cache a connector keeps is keyed by corp and app (store/base.py ``Keys``), so they never mix;
a login remembers its app from authorize to callback, and the session and refresh tokens carry
it (the private ``_wecom_app`` claim) so WeCom is asked about the person through the same app.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..config.schema import ClientSettings, Settings
from ..metrics import NO_METRICS, Recorder
from ..store.base import Store
from .base import Connector
from .registry import build_connector


@dataclass(frozen=True)
class Upstream:
    """One WeCom app, as people and the login flow see it."""

    id: str
    name: str  # shown when people choose
    corp_id: str
    connector: Connector


class Upstreams:
    """Every configured app, the first ([wecom]) being where logins without a record of their
    app (older sessions and tokens) belong."""

    def __init__(self, upstreams: Sequence[Upstream]) -> None:
        if not upstreams:
            raise ValueError("at least one upstream")
        self._all = tuple(upstreams)
        self._by_id = {u.id: u for u in upstreams}

    def __iter__(self) -> Iterator[Upstream]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    @property
    def default(self) -> Upstream:
        return self._all[0]

    def get(self, app_id: str | None) -> Upstream | None:
        """The app with this id; no id at all means the default (records from before apps)."""
        return self.default if not app_id else self._by_id.get(app_id)

    def for_client(self, client: ClientSettings | None) -> tuple[Upstream, ...]:
        """The apps this client's people may sign in through, in configuration order."""
        if client is None or not client.wecom_apps:
            return self._all
        return tuple(u for u in self._all if u.id in client.wecom_apps)


def build_upstreams(
    settings: Settings, store: Store, metrics: Recorder = NO_METRICS, pool_size: int = 1
) -> Upstreams:
    """One connector per configured WeCom app, built once at start, each keeping ``pool_size``
    connections to WeCom."""
    # Tags cost WeCom calls; look them up only when some client's policy names one.
    resolve_tags = any(c.allowed_tags for c in settings.clients)
    return Upstreams(
        [
            Upstream(
                app.id,
                app.display_name,
                app.corp_id,
                build_connector(app, store, metrics=metrics, resolve_tags=resolve_tags, pool_size=pool_size),
            )
            for app in settings.wecom_apps
        ]
    )
