"""The object graph, built once at start: store, keys, clients, connector, provider, login flow."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config.schema import Settings
from .connectors.base import Connector
from .connectors.registry import build_connector
from .oidc.clients import ClientRegistry
from .oidc.keys import KeyRing
from .oidc.provider import OpenIDProvider
from .oidc.transactions import LoginFlow
from .store.base import Store
from .store.factory import build_store
from .web.security import CookiePolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    keyring: KeyRing
    clients: ClientRegistry
    connector: Connector
    provider: OpenIDProvider
    flow: LoginFlow
    cookies: CookiePolicy


def build_services(settings: Settings, store: Store | None = None) -> Services:
    """Everything a worker needs; ``store`` may be given by tests (a fakeredis or test Redis)."""
    if store is None:
        store = build_store(settings.redis_url, settings.store_prefix)
    keyring = KeyRing.load_or_create(settings.keys_dir)
    clients = ClientRegistry(settings.clients)
    connector = build_connector(settings.wecom, store)
    provider = OpenIDProvider(settings, store, keyring, clients)
    flow = LoginFlow(store, connector, provider, settings.tokens.login_lifetime)
    cookies = CookiePolicy(settings.issuer, settings.tokens.login_lifetime)
    return Services(settings, store, keyring, clients, connector, provider, flow, cookies)
