"""SSO session lifetimes, with an injected clock."""

from __future__ import annotations

from oidc_bridge.config.schema import SessionSettings
from oidc_bridge.oidc.sessions import Sessions
from oidc_bridge.store.memory_store import memory_store


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


CLAIMS = {"sub": "zhangsan", "name": "张三"}


def test_a_session_used_often_still_ends_at_its_absolute_lifetime() -> None:
    clock = Clock()
    sessions = Sessions(memory_store(), SessionSettings(idle_lifetime=100, absolute_lifetime=250), clock)
    _session, cookie = sessions.create(CLAIMS, "web", "app")
    for _ in range(4):
        clock.now += 60
        found = sessions.from_cookie(cookie)
        assert found is not None
        sessions.save(found)
    clock.now += 60  # 300 s after the login: past the absolute lifetime
    assert sessions.from_cookie(cookie) is None


def test_a_forged_or_mangled_cookie_finds_nothing() -> None:
    sessions = Sessions(memory_store(), SessionSettings())
    session, cookie = sessions.create(CLAIMS, "web", "app")
    assert sessions.from_cookie(cookie).sid == session.sid
    for bad in (f"{session.sid}.wrong", session.sid, "", "x" * 500, f"{session.sid}.", ".abc"):
        assert sessions.from_cookie(bad) is None


def test_max_age_is_measured_from_the_wecom_login() -> None:
    clock = Clock()
    sessions = Sessions(memory_store(), SessionSettings(), clock)
    session, _ = sessions.create(CLAIMS, "inapp", "app")
    clock.now += 30
    assert session.satisfies_max_age(60, clock.now)
    assert not session.satisfies_max_age(10, clock.now)
    assert session.satisfies_max_age(None, clock.now)
