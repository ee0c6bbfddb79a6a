"""The object graph, built once at start: store, keys, clients, upstreams, protocol core, flows."""

from __future__ import annotations

import atexit
from dataclasses import dataclass

from .config.schema import Settings
from .connectors.upstreams import Upstreams, build_upstreams
from .metrics import Metrics
from .oidc.backchannel import BackchannelNotifier, default_post
from .oidc.clients import ClientRegistry
from .oidc.keys import KeyRing
from .oidc.logout import Logout
from .oidc.provider import PyopCore
from .oidc.sessions import Sessions
from .oidc.token import Tokens
from .oidc.token_admin import TokenAdmin
from .oidc.transactions import LoginFlow
from .store.base import Store
from .store.factory import build_store
from .store.redis_store import RedisStore
from .threads import redis_pool_size, worker_threads
from .web.security import CookiePolicy


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    keyring: KeyRing
    clients: ClientRegistry
    upstreams: Upstreams
    core: PyopCore
    sessions: Sessions
    tokens: Tokens
    token_admin: TokenAdmin
    flow: LoginFlow
    logout: Logout
    cookies: CookiePolicy
    metrics: Metrics

    def retained_jwks(self) -> dict:
        """Current key plus any older one a live token may still be signed with."""
        self.keyring.refresh()
        t = self.settings.tokens
        longest = max(
            [t.id_token_lifetime, t.access_token_lifetime, *(c.id_token_lifetime or 0 for c in self.clients)]
        )
        return self.keyring.jwks(retain_seconds=longest)


def build_services(
    settings: Settings, store: Store | None = None, metrics: Metrics | None = None
) -> Services:
    """Everything a worker needs; ``store`` may be given by tests (a fakeredis or test Redis)."""
    if metrics is None:
        metrics = Metrics.from_environment()
    threads = worker_threads()
    if store is None:
        pool = redis_pool_size(threads)
        store = build_store(settings.redis_url, settings.store_prefix, pool, one_thread=threads == 1)
    if isinstance(store, RedisStore):
        store.count_errors_in(metrics)
    keyring = KeyRing.load_or_create(settings.keys_dir)
    clients = ClientRegistry(settings.clients)
    upstreams = build_upstreams(settings, store, metrics, pool_size=threads)
    core = PyopCore(settings, store, keyring, clients)
    sessions = Sessions(store, settings.sessions)
    tokens = Tokens(settings, store, clients, core, upstreams, sessions, metrics=metrics)
    notifier = BackchannelNotifier(default_post)
    atexit.register(notifier.shutdown, False)
    logout = Logout(settings.issuer, keyring, clients, sessions, tokens.refresh_tokens, notifier)
    flow = LoginFlow(
        store, upstreams, core, clients, sessions, settings.tokens.login_lifetime, metrics=metrics
    )
    cookies = CookiePolicy(
        settings.issuer, settings.tokens.login_lifetime, settings.sessions.absolute_lifetime
    )
    return Services(
        settings,
        store,
        keyring,
        clients,
        upstreams,
        core,
        sessions,
        tokens,
        TokenAdmin(tokens),
        flow,
        logout,
        cookies,
        metrics,
    )
