"""The hot path's JSON (orjson) and the standard library's read each other's records: a rolling
upgrade leaves parked logins, sessions and tokens written by the older workers."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oidc_bridge import fastjson

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_either_reads_what_the_other_wrote(value: Any) -> None:
    old = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert fastjson.loads(old) == value
    assert json.loads(fastjson.dumps(value)) == value


def test_text_is_compact_utf8_as_before() -> None:
    value = {"name": "张三", "groups": ["研发部"], "n": 7, "ok": True, "none": None}
    assert fastjson.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_what_orjson_cannot_write_is_written_as_json_wrote_it() -> None:
    assert fastjson.dumps({"exp": 10**400}) == '{"exp":' + str(10**400) + "}"
    assert fastjson.dumps({1: "a"}) == '{"1":"a"}'


def test_a_float_that_is_not_finite_is_written_as_null() -> None:
    assert fastjson.dumps([math.inf, math.nan]) == "[null,null]"
