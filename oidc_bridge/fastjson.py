"""JSON on the hot path through orjson (C, well kept): each login encodes and decodes a dozen
records, answers and ID tokens, and the standard library's encoder and decoder were 4% of a
login's CPU (bench/logins.py --profile).

Compact, with non-ASCII as UTF-8, as ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``
wrote it; either reads what the other wrote (records written before an upgrade stay readable),
though a float's exponent may be spelled differently (``1e16`` for ``1e+16``). Keys that are not
strings become strings, as with json. A float that is not finite becomes null rather than json's
``NaN``, which is no JSON at all. What orjson cannot write (an integer past 64 bits) is written
by json, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_BASE = orjson.OPT_NON_STR_KEYS


def dumps_bytes(
    value: Any, *, sort_keys: bool = False, indent: bool = False, default: Callable[[Any], Any] | None = None
) -> bytes:
    option = _BASE | (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return orjson.dumps(value, default=default, option=option)
    except orjson.JSONEncodeError:
        text = json.dumps(
            value,
            separators=(",", ": ") if indent else (",", ":"),
            indent=2 if indent else None,
            ensure_ascii=False,
            sort_keys=sort_keys,
            default=default,
        )
        return text.encode("utf-8")


def dumps(
    value: Any, *, sort_keys: bool = False, indent: bool = False, default: Callable[[Any], Any] | None = None
) -> str:
    """JSON text, compact unless ``indent``, non-ASCII written as it is."""
    return dumps_bytes(value, sort_keys=sort_keys, indent=indent, default=default).decode("utf-8")


def loads(data: str | bytes) -> Any:
    """Raises ValueError (orjson's JSONDecodeError is json's) for anything that is not JSON."""
    return orjson.loads(data)
