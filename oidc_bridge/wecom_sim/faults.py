"""Injectable faults: WeCom error answers, HTTP failures and latency, per path, for the next N calls.

Each kind queues separately, so one request can be both slow and failing. Delays wait on an
event rather than sleeping, so ``clear()`` or stopping the server releases a "hung" request.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass
class _Rule:
    remaining: int
    errcode: int = 0
    errmsg: str | None = None
    status: int = 500
    seconds: float = 0.0


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request, in this order: wait, then fail at HTTP level, then answer errcode."""

    delay: float = 0.0
    http_status: int | None = None
    errcode: int | None = None
    errmsg: str | None = None


class Faults:
    """Thread-safe fault queues keyed by request path (e.g. ``"/cgi-bin/user/get"``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: dict[str, deque[_Rule]] = {}
        self._http: dict[str, deque[_Rule]] = {}
        self._delays: dict[str, deque[_Rule]] = {}
        self._release = threading.Event()

    def fail_next(self, path: str, errcode: int, times: int = 1, errmsg: str | None = None) -> None:
        """The next ``times`` calls to ``path`` answer ``{"errcode": errcode, "errmsg": ...}``."""
        self._add(self._errors, path, _Rule(_check(times), errcode=errcode, errmsg=errmsg))

    def http_error(self, path: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` fail with this HTTP status and a non-JSON body."""
        self._add(self._http, path, _Rule(_check(times), status=status))

    def delay(self, path: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` wait ``seconds`` before answering (latency, or a hang)."""
        self._add(self._delays, path, _Rule(_check(times), seconds=seconds))

    def clear(self) -> None:
        """Drop every pending fault and release requests that are waiting out a delay."""
        with self._lock:
            self._errors.clear()
            self._http.clear()
            self._delays.clear()
            released, self._release = self._release, threading.Event()
        released.set()

    def pending(self, path: str) -> int:
        """How many faulted calls are still queued for ``path``, all kinds together."""
        with self._lock:
            return sum(r.remaining for q in (self._errors, self._http, self._delays) for r in q.get(path, ()))

    def take(self, path: str) -> FaultPlan:
        """Consume at most one fault of each kind for this request."""
        with self._lock:
            delay = self._pop(self._delays, path)
            http = self._pop(self._http, path)
            error = self._pop(self._errors, path)
            return FaultPlan(
                delay=delay.seconds if delay else 0.0,
                http_status=http.status if http else None,
                errcode=error.errcode if error else None,
                errmsg=error.errmsg if error else None,
            )

    def wait(self, seconds: float) -> None:
        """Sleep for a delay fault, cut short by ``clear()``."""
        with self._lock:
            event = self._release
        event.wait(seconds)

    def _add(self, table: dict[str, deque[_Rule]], path: str, rule: _Rule) -> None:
        with self._lock:
            table.setdefault(path, deque()).append(rule)

    @staticmethod
    def _pop(table: dict[str, deque[_Rule]], path: str) -> _Rule | None:
        queue = table.get(path)
        if not queue:
            return None
        rule = queue[0]
        rule.remaining -= 1
        if rule.remaining <= 0:
            queue.popleft()
        return rule


def _check(times: int) -> int:
    if times < 1:
        raise ValueError("times must be at least 1")
    return times
