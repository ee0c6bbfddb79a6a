"""The connector interface: how the provider talks to an upstream identity source.

Modelled on Dex's ``connector.CallbackConnector``: a login URL for a request, and a callback
that yields a flat, frozen ``Identity``. Unlike Dex, ``LoginContext`` carries the User-Agent,
because WeCom needs a different login page inside its own app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class LoginContext:
    """What a connector needs to build the upstream login URL."""

    state: str  # the bridge's own handle; never the client's state
    callback_url: str  # the bridge's one fixed callback URL
    user_agent: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser, and what the connector must see again at the callback."""

    url: str
    connector_data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """A person as the upstream knows them. Absent fields are None / empty, never invented."""

    user_id: str
    name: str | None = None
    email: str | None = None
    # True when WeCom gave the email; False when it was synthesized from the userid.
    email_verified: bool | None = None
    phone_number: str | None = None
    picture: str | None = None
    gender: str | None = None  # OIDC strings: "male" / "female"
    groups: tuple[str, ...] = ()
    # The person's own department ids, and those plus every department above them.
    department_ids: tuple[int, ...] = ()
    department_ancestry: tuple[int, ...] = ()
    # WeCom tags (id, name) carried directly or through a department; filled only when some
    # client's access policy uses tags (looking them up costs WeCom calls).
    tags: tuple[tuple[int, str], ...] = ()
    # Which login page was used: "web" (QR / SSO) or "inapp" (inside the WeCom client).
    entry: str = "web"


class Connector(Protocol):
    """An upstream identity source."""

    def login_url(self, ctx: LoginContext) -> LoginRedirect: ...

    def handle_callback(self, params: Mapping[str, str], connector_data: Mapping[str, str]) -> Identity:
        """Turn the upstream's callback parameters into an Identity.

        Raises LoginRefused (the person may not sign in, or cancelled) or WeComError.
        """
        ...

    def refresh_identity(self, user_id: str) -> Identity:
        """The person now, for a refresh: raises LoginRefused if they may no longer sign in."""
        ...
