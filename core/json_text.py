"""The one JSON writer for previews, hashes and snapshots: sorted keys, stable bytes.

orjson writes the same text as ``json.dumps(sort_keys=True, indent=2,
ensure_ascii=False)`` more than ten times faster (a 10,000-step preview:
11 ms instead of 195 ms).  The standard library takes over for what orjson
refuses (integers beyond 64 bits), so every JSON value can be written.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import orjson

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE  # the newline: no copy of the text to add it
_COMPACT = orjson.OPT_SORT_KEYS


def pretty_bytes(value: Any) -> bytes:
    """:func:`pretty`'s text as UTF-8 bytes, without decoding orjson's bytes to encode them again
    (a run's snapshot, written at every pause and end, is a megabyte for 1,000 steps)."""
    try:
        return orjson.dumps(value, option=_PRETTY)  # the option appends the newline
    except (TypeError, orjson.JSONEncodeError):
        return pretty(value).encode("utf-8")


def pretty(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Sorted keys, two-space indent, UTF-8 characters as they are, trailing newline.

    ``default`` turns any other object, dataclasses included, into a JSON value.
    """
    option = _PRETTY if default is None else _PRETTY | orjson.OPT_PASSTHROUGH_DATACLASS
    try:
        return orjson.dumps(value, option=option, default=default).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False,
                          default=default) + "\n"


def canonical(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact, sorted, UTF-8: the bytes a hash is computed over.

    Dataclasses are written as objects of their fields; ``default`` turns
    any other object into a JSON value.
    """
    try:
        return orjson.dumps(value, option=_COMPACT, default=default)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=default or _dataclass_fields).encode("utf-8")


def _dataclass_fields(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
