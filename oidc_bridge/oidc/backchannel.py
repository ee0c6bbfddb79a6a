"""OpenID Connect Back-Channel Logout 1.0: tell each client's server that a session ended.

The logout token is built and signed here; sending it is a POST made off the request thread,
so a slow or dead client never holds up the person signing out. The HTTP call is injected
(``post``): the core stays free of an HTTP library, and tests can pass their own.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

from .keys import SigningKey
from .signing import sign_jwt

log = logging.getLogger(__name__)

# Back-Channel Logout 1.0 §2.4: the one event a logout token carries.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# §2.4 recommends explicit typing so a logout token cannot pass for an ID token, and back.
LOGOUT_TYP = "logout+jwt"
# The token is consumed at once by a server; two minutes covers clock skew, little more.
LOGOUT_TOKEN_LIFETIME = 120

# (uri, form fields, timeout in seconds) -> HTTP status code; raises when there is no answer.
Post = Callable[[str, dict[str, str], float], int]


def logout_token(
    issuer: str,
    client_id: str,
    sub: str | None,
    sid: str | None,
    key: SigningKey,
    now: int | None = None,
) -> str:
    """A signed logout token for one client (§2.4): ``sub`` and/or ``sid``, never a ``nonce``."""
    if sub is None and sid is None:
        raise ValueError("a logout token names a sub, a sid, or both")
    iat = int(time.time()) if now is None else now
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": client_id,
        "iat": iat,
        "exp": iat + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(24),
        "events": {LOGOUT_EVENT: {}},
    }
    if sub is not None:
        claims["sub"] = sub
    if sid is not None:
        claims["sid"] = sid
    return sign_jwt(claims, key, typ=LOGOUT_TYP)


def default_post(uri: str, data: dict[str, str], timeout: float) -> int:
    """The ``post`` the web layer passes: ``requests``, form-encoded, no redirects followed.

    requests is imported here rather than at the top: ``oidc/`` has no module-level HTTP import
    (style.md), the wiring that calls this is the web layer's.
    """
    import requests

    # A redirect answer is not a logout done (§2.8 wants 200/204); following it would send the
    # token to a host the client never registered.
    response = requests.post(uri, data=data, timeout=timeout, allow_redirects=False)
    response.close()
    return response.status_code


def _host(uri: str) -> str:
    """Only the host reaches the log: the path or query of a logout URI may carry secrets."""
    try:
        return urlsplit(uri).hostname or "?"
    except ValueError:
        return "?"


class BackchannelNotifier:
    """Sends logout tokens from a small thread pool; ``notify`` never waits for the client.

    At most ``max_workers`` POSTs run at once and at most ``max_pending`` wait; past that a
    notification is dropped with a warning rather than letting a dead client pile up memory.
    A notification's future resolves to the status code, or None when it failed; it never raises.
    """

    def __init__(
        self, post: Post, timeout: float = 5.0, max_workers: int = 4, max_pending: int = 1000
    ) -> None:
        self._post = post
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="backchannel-logout")
        self._slots = threading.BoundedSemaphore(max_pending)

    def notify(self, uri: str, token: str) -> Future[int | None]:
        """Queue the POST of ``logout_token`` to ``uri`` and return at once."""
        if not self._slots.acquire(blocking=False):
            log.warning("back-channel logout to %s dropped: too many notifications pending", _host(uri))
            return _done(None)
        try:
            # Run in a copy of this context, so the POST's log lines keep the logout's request id.
            future = self._executor.submit(contextvars.copy_context().run, self._send, uri, token)
        except RuntimeError:  # shut down: the worker is stopping
            self._slots.release()
            log.warning("back-channel logout to %s dropped: shutting down", _host(uri))
            return _done(None)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def _send(self, uri: str, token: str) -> int | None:
        host = _host(uri)
        try:
            status = int(self._post(uri, {"logout_token": token}, self._timeout))
        except Exception as exc:  # any failure of any post callable: logged, never raised
            # The type only: an exception's text may quote the request, and so the token.
            log.warning("back-channel logout to %s failed: %s", host, type(exc).__name__)
            return None
        if not 200 <= status < 300:
            log.warning("back-channel logout to %s answered HTTP %s", host, status)
        else:
            log.debug("back-channel logout to %s answered HTTP %s", host, status)
        return status

    def shutdown(self, wait: bool) -> None:
        """Stop taking notifications; ``wait`` sends the queued ones first, else drops them."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)


def _done(result: int | None) -> Future[int | None]:
    future: Future[int | None] = Future()
    future.set_result(result)
    return future
