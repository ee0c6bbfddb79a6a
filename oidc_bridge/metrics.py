"""Prometheus metrics: one ``Metrics`` object per app, built by the app factory and handed down.

The protocol core and the connectors see only the small ``Recorder`` protocol (no Flask, no
prometheus types); ``NO_METRICS`` is what they use when nobody is counting (unit tests).

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable directory
before the workers start (prometheus_client reads it when it is first imported). Each worker
then writes its samples to files there, and ``/metrics`` in any worker merges the files of all
workers. Clear the directory at every start, and add to the gunicorn config::

    from prometheus_client import multiprocess

    def child_exit(server, worker):
        multiprocess.mark_process_dead(worker.pid)

Without the variable, each app has its own ``CollectorRegistry`` (plus the process and
platform collectors), so two apps in one process (tests) never clash over metric names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The request methods HTTP defines (RFC 9110 section 9, and PATCH): any other a client sends is
# counted as "other", or each made-up method would be a new series in every scrape.
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})

# Seconds; a WeCom call or a request slower than 10 s has hit a timeout anyway.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Recorder(Protocol):
    """What the core, the connector and the store report; the web layer reports HTTP itself."""

    def login_started(self, entry: str) -> None: ...
    def login_completed(self, entry: str) -> None: ...
    def login_failed(self, reason: str) -> None: ...
    def wecom_call(self, api: str, errcode: str, seconds: float) -> None: ...
    def wecom_token_fetch(self) -> None: ...
    def wecom_token_cache_hit(self) -> None: ...
    def token_issued(self, grant_type: str) -> None: ...
    def store_error(self) -> None: ...


class NoMetrics:
    """Counts nothing: the default wherever no ``Metrics`` was passed in."""

    def login_started(self, entry: str) -> None:
        pass

    def login_completed(self, entry: str) -> None:
        pass

    def login_failed(self, reason: str) -> None:
        pass

    def wecom_call(self, api: str, errcode: str, seconds: float) -> None:
        pass

    def wecom_token_fetch(self) -> None:
        pass

    def wecom_token_cache_hit(self) -> None:
        pass

    def token_issued(self, grant_type: str) -> None:
        pass

    def store_error(self) -> None:
        pass


NO_METRICS: Recorder = NoMetrics()


class Metrics:
    """The bridge's metric objects, registered in this app's registry (or, in multiprocess
    mode, in none: the samples go to files and ``render`` collects them from there)."""

    def __init__(self, multiproc_dir: Path | None = None) -> None:
        self.multiproc_dir = multiproc_dir
        if multiproc_dir is None:
            self.registry: CollectorRegistry | None = CollectorRegistry()
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        else:
            self.registry = None
        reg = self.registry
        self._children: dict[tuple[Counter | Histogram, tuple[str, ...]], Any] = {}
        self._http_requests = Counter(
            "oidc_bridge_http_requests",
            "HTTP requests by Flask endpoint name (never the raw path), method (other for any method "
            "HTTP does not define) and status.",
            ("endpoint", "method", "status"),
            registry=reg,
        )
        self._http_duration = Histogram(
            "oidc_bridge_http_request_duration_seconds",
            "Time to answer an HTTP request, by Flask endpoint name.",
            ("endpoint",),
            buckets=_BUCKETS,
            registry=reg,
        )
        self._logins_started = Counter(
            "oidc_bridge_logins_started", "Logins sent to WeCom, by login page.", ("entry",), registry=reg
        )
        self._logins_completed = Counter(
            "oidc_bridge_logins_completed",
            "Logins that came back from WeCom with a person, by login page.",
            ("entry",),
            registry=reg,
        )
        self._logins_failed = Counter(
            "oidc_bridge_logins_failed",
            "Logins that came back from WeCom without a person: LoginRefused reason or WeCom category.",
            ("reason",),
            registry=reg,
        )
        self._wecom_calls = Counter(
            "oidc_bridge_wecom_calls", "WeCom API calls by api and errcode.", ("api", "errcode"), registry=reg
        )
        self._wecom_duration = Histogram(
            "oidc_bridge_wecom_call_duration_seconds",
            "Time of one WeCom API call, by api.",
            ("api",),
            buckets=_BUCKETS,
            registry=reg,
        )
        self._token_fetches = Counter(
            "oidc_bridge_wecom_token_fetches", "gettoken calls made by this bridge.", registry=reg
        )
        self._token_cache_hits = Counter(
            "oidc_bridge_wecom_token_cache_hits",
            "WeCom access tokens found in the shared cache.",
            registry=reg,
        )
        self._tokens_issued = Counter(
            "oidc_bridge_tokens_issued",
            "Token endpoint answers with tokens, by grant type.",
            ("grant_type",),
            registry=reg,
        )
        self._store_errors = Counter(
            "oidc_bridge_store_errors", "Store calls that failed to reach Redis.", registry=reg
        )

    @classmethod
    def from_environment(cls) -> Metrics:
        """Multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set; read once, at app creation."""
        directory = os.environ.get(MULTIPROC_ENV)
        return cls(Path(directory) if directory else None)

    def _child(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, kept: prometheus_client checks and converts the values and
        takes a lock on every call, a dozen times a login for the same few label sets."""
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    # -- Recorder ------------------------------------------------------------------------------

    def http_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _HTTP_METHODS else "other"
        self._child(self._http_requests, endpoint, method, str(status)).inc()
        self._child(self._http_duration, endpoint).observe(seconds)

    def login_started(self, entry: str) -> None:
        self._child(self._logins_started, entry).inc()

    def login_completed(self, entry: str) -> None:
        self._child(self._logins_completed, entry).inc()

    def login_failed(self, reason: str) -> None:
        self._child(self._logins_failed, reason).inc()

    def wecom_call(self, api: str, errcode: str, seconds: float) -> None:
        self._child(self._wecom_calls, api, errcode).inc()
        self._child(self._wecom_duration, api).observe(seconds)

    def wecom_token_fetch(self) -> None:
        self._token_fetches.inc()

    def wecom_token_cache_hit(self) -> None:
        self._token_cache_hits.inc()

    def token_issued(self, grant_type: str) -> None:
        self._child(self._tokens_issued, grant_type).inc()

    def store_error(self) -> None:
        self._store_errors.inc()

    # -- exposition ----------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type; in multiprocess mode, every worker's samples."""
        if self.registry is not None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        # A fresh registry per scrape, as prometheus_client's multiprocess docs prescribe.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiproc_dir))
        return generate_latest(registry), CONTENT_TYPE_LATEST
