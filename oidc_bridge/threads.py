"""How many requests one worker process serves at once: the threads gunicorn gives each worker,
and what the worker's connection pools (Redis, WeCom) are sized to.

``OIDC_BRIDGE_THREADS`` (default 1: gunicorn's sync worker). More than 1 runs gunicorn's gthread
worker; the pools grow with it, so every thread has a connection and no pool grows unbounded:
a worker holds at most threads + 1 Redis connections (docs/deployment.md, sizing Redis).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import ConfigError

THREADS_ENV = "OIDC_BRIDGE_THREADS"
MAX_THREADS = 64


def worker_threads(environ: Mapping[str, str] = os.environ) -> int:
    """The configured threads per worker; a one-line ConfigError when it is not 1-64."""
    text = environ.get(THREADS_ENV, "").strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_THREADS:
        message = f"must be a whole number from 1 to {MAX_THREADS}, not {text!r}"
        raise ConfigError(message, key=THREADS_ENV, file="environment")
    return int(text)


def redis_pool_size(threads: int) -> int:
    """One connection per thread, plus one for the readiness probe racing a busy worker."""
    return threads + 1
