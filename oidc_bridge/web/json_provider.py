"""Flask's JSON through orjson (``fastjson``): the token and userinfo answers on every login."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from .. import fastjson


class FastJSONProvider(DefaultJSONProvider):
    """Flask's default provider (sorted keys, its ``default`` for dates, UUIDs and dataclasses,
    indented in debug mode) with orjson doing the encoding and decoding; non-ASCII is sent as
    UTF-8, not as \\u escapes."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        indent = bool(kwargs.get("indent"))
        return fastjson.dumps(obj, sort_keys=self.sort_keys, indent=indent, default=self.default)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return fastjson.loads(s)
