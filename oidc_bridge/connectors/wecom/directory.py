"""Directory lookups around a login: department names (cached in the store) and member status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ...config.schema import WeComSettings
from ...errors import LoginRefused
from ...store.base import Keys, Store
from .client import Department, Member
from .shared_value import SharedValue

# user/get status (Doc 90196) -> (reason, what the person is told). 1 is active.
_INACTIVE: dict[int, tuple[str, str]] = {
    2: ("disabled", "Your WeCom account is disabled. Ask your WeCom administrator to enable it."),
    4: (
        "not_activated",
        "Your WeCom account is not activated yet. Activate it in the WeCom app, then sign in again.",
    ),
    5: ("left", "Your WeCom account is no longer part of this company."),
}


class DepartmentSource(Protocol):
    def list_departments(self) -> tuple[Department, ...]: ...


class Directory:
    """Department names and parents through one shared cache (``shared_value.py``), so a login costs
    no department call and, most of the time, no store round trip."""

    def __init__(self, store: Store, settings: WeComSettings, client: DepartmentSource) -> None:
        self._client = client
        key = Keys.wecom_departments(settings.corp_id, settings.agent_id)
        self._tree = SharedValue(store, key, settings.department_cache_ttl, self._fetch_tree).get

    def describe(self, ids: Iterable[int]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The departments' names, in order and without repeats, and their ids with every
        department above them ("department 2 and its sub-departments" then matches anyone whose
        list holds 2). One cache read for both.

        A department the app cannot see, or created since the cache was filled (at most
        ``department_cache_ttl`` ago), has no name rather than an invented one.
        """
        ids = list(ids)
        if not ids:
            return (), ()
        tree = self._tree()
        names: list[str] = []
        for dept_id in ids:
            entry = tree.get(str(dept_id))
            if entry and entry[0] and entry[0] not in names:
                names.append(entry[0])
        ancestry: list[int] = []
        for dept_id in ids:
            current: int | None = dept_id
            while current is not None and current not in ancestry:
                ancestry.append(current)
                entry = tree.get(str(current))
                current = entry[1] if entry and entry[1] else None
        return tuple(names), tuple(ancestry)

    @staticmethod
    def check_active(member: Member) -> None:
        """Refuse anyone whose WeCom status is not active (1).

        A missing status is let through: user/get answered, so the member exists, and refusing
        would lock everyone out should WeCom stop sending the field.
        """
        if member.status is None or member.status == 1:
            return
        reason, message = _INACTIVE.get(
            member.status,
            ("inactive", "Your WeCom account is not active. Ask your WeCom administrator."),
        )
        raise LoginRefused(
            message, detail=f"WeCom member {member.userid} has status {member.status}", reason=reason
        )

    def _fetch_tree(self) -> dict[str, Any]:
        """id -> [name, parentid], from one department/list call."""
        return {str(d.id): [d.name, d.parent_id] for d in self._client.list_departments()}
