"""Gunicorn settings for production: ``gunicorn -c python:oidc_bridge.gunicorn_conf oidc_bridge.wsgi:app``.

The container image runs exactly that command. Everything an operator tunes comes from the
environment, so the same file serves every deployment:

- ``OIDC_BRIDGE_BIND``: where to listen (default ``0.0.0.0:8000``).
- ``OIDC_BRIDGE_WORKERS``: how many worker processes (default 2 x CPUs + 1, at most 8).
- ``OIDC_BRIDGE_THREADS``: requests each worker serves at once (default 1; more runs gthread).
- ``OIDC_BRIDGE_CONFIG``: the bridge's TOML config, read by ``oidc_bridge.wsgi``.
- ``PROMETHEUS_MULTIPROC_DIR``: where the workers share their metrics; default a fresh
  directory under /dev/shm (or the temp dir), removed when the master exits. Cleared at
  every start.

Several workers need ``redis_url``: without it each worker would keep its own in-process store.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from oidc_bridge.threads import worker_threads

MAX_WORKERS = 8


def _workers() -> int:
    text = os.environ.get("OIDC_BRIDGE_WORKERS", "").strip()
    if text:
        value = int(text)
        if value < 1:
            raise ValueError(f"OIDC_BRIDGE_WORKERS must be 1 or more, not {text}")
        return value
    return min(2 * (os.cpu_count() or 1) + 1, MAX_WORKERS)


bind = [os.environ.get("OIDC_BRIDGE_BIND", "").strip() or "0.0.0.0:8000"]
workers = _workers()
# OIDC_BRIDGE_THREADS (default 1, the sync worker): the app sizes its Redis and WeCom connection
# pools from the same variable (oidc_bridge/threads.py).
threads = worker_threads()
proc_name = "oidc-bridge"

# Load the app (and the config) in the master before forking: a bad config or key is one line
# and a non-zero exit of the whole server, never a loop of workers failing to boot. Each worker
# opens its own Redis connections on first use (redis-py resets its pool after a fork).
preload_app = True

# Each WeCom call is bounded by the WeCom client's connect (3 s) and read (5 s) timeouts, so a
# worker waiting on WeCom answers well within this; one silent longer is stuck and is restarted.
# Same figure as ``oidc-bridge serve``.
timeout = 30
# On SIGTERM (docker stop, a rolling update) workers stop accepting and finish the requests in
# flight for up to this long. Keep it below the orchestrator's kill grace period
# (docker stop's default is 10 s: compose sets stop_grace_period to 30 s).
graceful_timeout = 20
keepalive = 5

# Which peers gunicorn itself believes about X-Forwarded-Proto and friends: none. The bridge
# decides that with one setting, ``trusted_proxies`` in its config (werkzeug's ProxyFix), so the
# client IP and scheme the app sees never depend on a second, gunicorn-level allow list. The
# forwarding headers still reach the app untouched.
forwarded_allow_ips = ""

# No gunicorn access log: the app writes one line a request itself (logger oidc_bridge.access),
# in the bridge's log_format (JSON lines stay JSON), with the request id its other lines carry
# and the client address after trusted_proxies; path only, never the query string. gunicorn's
# own line cost 75 us CPU a request on top (bench/logins.py). gunicorn's errors go to stderr.
accesslog = None
errorlog = "-"

# Workers' heartbeat files on a memory file system: a container's overlay /tmp can stall them.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# No runtime control socket (gunicorn 25.1+ opens one in $HOME for ``gunicornc``): the container
# is managed by signals, and two servers under one $HOME would fight over the same socket path.
# Older gunicorn ignores the unknown name.
control_socket_disable = True


# /metrics sums every worker: prometheus_client's multiprocess mode (oidc_bridge/metrics.py).
# This file runs in the master before the app is imported, so the directory is in place before
# prometheus_client first reads the variable.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir() -> None:
    given = os.environ.get(MULTIPROC_ENV, "").strip()
    if given:
        # Samples of a previous run would be added to this one's: start empty.
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    created = tempfile.mkdtemp(prefix="oidc-bridge-metrics-", dir=base)
    os.environ[MULTIPROC_ENV] = created
    master = os.getpid()

    def remove() -> None:
        # Forked workers inherit this handler: only the master, at its exit (also after a bad
        # config stopped it while loading the app), removes the directory.
        if os.getpid() == master:
            shutil.rmtree(created, ignore_errors=True)

    atexit.register(remove)


_metrics_dir()


def pre_fork(server: Any, worker: Any) -> None:
    """The preloaded app (Flask, pyop, the config, about 85,000 objects) lives as long as every
    worker: frozen before the fork, a worker's full garbage collection skips it instead of walking
    it all (measured in-process: about 38 ms, once per some 800 logins, in some request's latency),
    and the pages stay shared between the workers (Python's gc.freeze documentation)."""
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's gauges leave the sums; its counters stay counted."""
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
