"""Fields only in-app consent gives (email, mobile, avatar, gender), remembered for a while.

WeCom gives them only through ``auth/getuserdetail`` after an in-app ``snsapi_privateinfo``
login (apps created after 2022-06-20); a later browser (QR) login of the same person gets a
userid alone. Remembering them per corp, app and userid (``remember_private_fields``, default
30 days, the same span WeCom remembers the consent) lets that login still fill the claims.
"""

from __future__ import annotations

from dataclasses import asdict

from ...config.schema import WeComSettings
from ...store.base import Keys, Store, get_json, set_json
from .client import UserDetail


class PrivateFieldMemory:
    def __init__(self, store: Store, settings: WeComSettings) -> None:
        self._store = store
        self._settings = settings

    def _key(self, userid: str) -> str:
        return Keys.wecom_private_fields(self._settings.corp_id, self._settings.agent_id, userid)

    def remember(self, detail: UserDetail, userid: str) -> None:
        fields = {k: v for k, v in asdict(detail).items() if v and k != "userid"}
        if fields and self._settings.remember_private_fields > 0:
            set_json(self._store, self._key(userid), fields, self._settings.remember_private_fields)

    def recall(self, userid: str) -> UserDetail | None:
        if self._settings.remember_private_fields <= 0:
            return None
        data = get_json(self._store, self._key(userid))
        return None if data is None else UserDetail(userid=userid, **data)
