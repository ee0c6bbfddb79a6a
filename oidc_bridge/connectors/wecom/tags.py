"""The tags (标签) a person carries, for clients limited with ``allowed_tags``.

WeCom has no "tags of one user" call (wecom-api.md, tags row): tag/list names the tags and
tag/get lists each one's people and departments. So the whole index is built once, inverted
(userid -> tag ids, department id -> tag ids) and kept in the store as one JSON value for
``department_cache_ttl``, shared by every worker like the department tree
(``shared_value.py``). A login then costs no WeCom call and, most of the time, no store read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from ...config.schema import WeComSettings
from ...errors import WeComError
from ...store.base import Keys, Store
from .client import Tag, TagMembers
from .shared_value import SharedValue

log = logging.getLogger(__name__)

# A tag deleted between tag/list and tag/get (40068), or one the app may not read (60011),
# is left out of the index rather than failing every login: it then matches nobody.
_SKIPPED_TAG_ERRCODES = frozenset({40068, 60011})


class TagSource(Protocol):
    def list_tags(self) -> tuple[Tag, ...]: ...

    def get_tag_members(self, tag_id: int) -> TagMembers: ...


class TagIndex:
    """userid / department -> the tags carried, through one shared, cached inverted index."""

    def __init__(self, store: Store, settings: WeComSettings, client: TagSource) -> None:
        self._client = client
        key = Keys.wecom_tags(settings.corp_id, settings.agent_id)
        self._index = SharedValue(store, key, settings.department_cache_ttl, self._build).get

    def tags_of(self, userid: str, department_ancestry: Iterable[int]) -> tuple[tuple[int, str], ...]:
        """(id, name) of every tag the person carries, by id: their own, and those of any of their
        departments or a department above (a department tag covers its sub-departments).

        A tag created or changed since the index was built (at most ``department_cache_ttl``
        ago) is not seen until it is rebuilt. A tag without a name has "" as its name.
        """
        index = self._index()
        ids = set(index["users"].get(userid, ()))
        for dept_id in department_ancestry:
            ids.update(index["departments"].get(str(dept_id), ()))
        names = index["names"]
        return tuple((tag_id, names.get(str(tag_id), "")) for tag_id in sorted(ids))

    def _build(self) -> dict[str, Any]:
        """{"names": {id: name}, "users": {userid: [ids]}, "departments": {id: [ids]}}, from
        tag/list plus one tag/get per tag."""
        names: dict[str, str] = {}
        users: dict[str, list[int]] = {}
        departments: dict[str, list[int]] = {}
        for tag in self._client.list_tags():
            try:
                members = self._client.get_tag_members(tag.id)
            except WeComError as exc:
                if exc.errcode not in _SKIPPED_TAG_ERRCODES:
                    raise
                log.warning("wecom tag %s skipped: %s", tag.id, exc.admin_hint)
                continue
            names[str(tag.id)] = tag.name or ""
            for userid in members.userids:
                users.setdefault(userid, []).append(tag.id)
            for dept_id in members.department_ids:
                departments.setdefault(str(dept_id), []).append(tag.id)
        return {"names": names, "users": users, "departments": departments}
