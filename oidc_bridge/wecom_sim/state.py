"""Everything the simulator's routes share: directory, credentials, faults, clock, counters.

One object handed to the app factory, so several simulators can run in one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from .credentials import Credentials
from .directory import Directory
from .faults import Faults


class SimClock:
    """A clock that tests can move forward, so expiry is tested without sleeping."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


class Stats:
    """Thread-safe call counters, by request path, for tests and benchmarks to assert on."""

    GETTOKEN = "/cgi-bin/gettoken"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}

    def record(self, path: str) -> None:
        with self._lock:
            self._calls[path] = self._calls.get(path, 0) + 1

    @property
    def calls(self) -> dict[str, int]:
        """A snapshot copy: path -> number of requests, faulted ones included."""
        with self._lock:
            return dict(self._calls)

    @property
    def gettoken_calls(self) -> int:
        with self._lock:
            return self._calls.get(self.GETTOKEN, 0)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


@dataclass
class SimState:
    """The simulator's world. ``auto_approve`` set to a userid skips the login pages' chooser."""

    directory: Directory
    clock: SimClock = field(default_factory=SimClock)
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    auto_approve: str | None = None
    credentials: Credentials = field(init=False)

    def __post_init__(self) -> None:
        self.credentials = Credentials(self.clock)


EXTENSION_KEY = "wecom_sim"


def current_state() -> SimState:
    """The state of the simulator serving this request."""
    return current_app.extensions[EXTENSION_KEY]
