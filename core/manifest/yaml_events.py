"""Plain values straight from libyaml's event stream, for the documents that need no more.

A pack as written by hand or by a tool is one document of mappings, lists and
untagged scalars.  :func:`plain_read` builds its value in one pass over libyaml's
events, without the node tree that :mod:`core.manifest.yaml_source` composes:
composing, walking and freeing the tree cost about twice this pass.  Anything
else gives :data:`UNUSUAL` and ``yaml_source`` reads the text again with the node
tree, which finds and words every problem with its mark.  The scalar rules (the
implicit tag of a plain scalar, the standard tags, long numbers) are here, for
both readers.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from core.limits import MAX_NUMBER_LENGTH, MAX_YAML_DEPTH

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_SEQ, _MAP = _TAG + "seq", _TAG + "map"
_TIMESTAMP = _TAG + "timestamp"
_MERGE = _TAG + "merge"
_NUMBER_TAGS = {_TAG + "int", _TAG + "float"}
_SCALAR = yaml.ScalarNode
_RESOLVER = yaml.resolver.Resolver()
_RESOLVED: dict[str, str] = {}  # a short plain scalar's tag by its text
_VALUES: dict[str, Any] = {}  # a short plain scalar's value by its text (a string: itself)
_constructor = yaml.constructor.SafeConstructor()
_CParser = getattr(getattr(yaml, "_yaml", None), "CParser", None)  # None without libyaml
_E = yaml.events

NOT_FINITE = "infinite or not a number, which JSON (previews, plan hashes, run records) cannot hold"
UNUSUAL = object()  # plain_read's answer for a document it leaves to the node tree


def _plain_tag(value: str) -> str:
    """PyYAML's implicit tag for a plain scalar (no path resolvers: its text alone decides)."""
    if len(value) > 64:
        return _RESOLVER.resolve(_SCALAR, value, (True, False))
    tag = _RESOLVED.get(value)
    if tag is None:
        tag = _RESOLVER.resolve(_SCALAR, value, (True, False))
        if len(_RESOLVED) < 50_000:
            _RESOLVED[value] = tag
    return tag




def plain_read(text: str) -> Any:
    """The value of a plain document, built straight from libyaml's events; else UNUSUAL.

    Plain: one document of mappings, lists and untagged scalars, with no anchor, alias,
    merge key, repeated key or collection as a key, not nested past MAX_YAML_DEPTH, and
    every plain scalar a string, a date (kept as text), or a number, boolean or null
    that reads.  Anything else (none or several documents, malformed text, a lone
    surrogate too; a stream or bytes, not text) is UNUSUAL: the node tree reads it and
    reports its problems, so that every document accepted here is one the node tree
    accepts with the same value.
    """
    if _CParser is None or text.__class__ is not str:  # a stream: read once, by the node tree
        return UNUSUAL
    try:
        get = _CParser(text).get_event
        return _build_from_events(get)
    except Exception:  # malformed, a lone surrogate...: the node tree says what and where
        return UNUSUAL


def _build_from_events(get) -> Any:
    scalar, map_start, seq_start = _E.ScalarEvent, _E.MappingStartEvent, _E.SequenceStartEvent
    map_end, seq_end = _E.MappingEndEvent, _E.SequenceEndEvent
    doc_start, stream_end = _E.DocumentStartEvent, _E.StreamEndEvent
    values = _VALUES
    outer: list = []  # (container, no pending key, is a mapping) of each enclosing collection
    container: Any = None
    key: str | None = None
    is_map = False
    root: Any = UNUSUAL
    documents = 0
    while True:
        event = get()
        kind = event.__class__
        if kind is scalar:
            if event.anchor is not None or event.tag is not None:
                return UNUSUAL
            value = event.value
            if is_map and key is None:  # a key: its text, whatever it resolves to
                if value in container or (value == "<<" and event.implicit[0]):
                    return UNUSUAL  # a duplicate key, a merge key
                key = value
                continue
            if event.implicit[0]:  # plain: a string unless its text reads as something else
                value = values.get(value, UNUSUAL)
                if value is UNUSUAL:
                    value = _plain_value(event.value)
                    if value is UNUSUAL:
                        return UNUSUAL
        elif kind is map_start or kind is seq_start:
            if event.anchor is not None or event.tag is not None or (is_map and key is None) \
                    or len(outer) >= MAX_YAML_DEPTH:
                return UNUSUAL  # a tag, an anchor, a collection as a key, too deep
            value = {} if kind is map_start else []
            if container is None:
                root = value
            elif is_map:
                container[key] = value
            else:
                container.append(value)
            outer.append((container, None, is_map))  # the key now holds this collection
            container, key, is_map = value, None, kind is map_start
            continue
        elif kind is map_end or kind is seq_end:
            container, key, is_map = outer.pop()
            continue
        elif kind is doc_start:
            documents += 1
            if documents > 1:
                return UNUSUAL
            continue
        elif kind is stream_end:
            return root if documents == 1 else UNUSUAL
        elif kind is _E.AliasEvent:
            return UNUSUAL
        else:  # stream start, document end
            continue
        if container is None:
            root = value
        elif is_map:
            container[key] = value
            key = None
        else:
            container.append(value)


def _plain_value(text: str) -> Any:
    """A plain scalar's value (remembered when its text is short), else UNUSUAL.

    A string or a date is its text; a number, boolean or null is read by its tag's
    constructor; a number too long or unreadable, or a non-standard tag, is UNUSUAL.
    """
    tag = _plain_tag(text)
    if tag == _STR or tag == _TIMESTAMP:
        value: Any = text  # dates stay the text written: JSON has no date type
    elif tag not in _SCALAR_TAGS or (tag in _NUMBER_TAGS and len(text) > MAX_NUMBER_LENGTH):
        return UNUSUAL
    else:
        try:
            value = _constructor.yaml_constructors[tag](_constructor, yaml.ScalarNode(tag, text))
        except (ValueError, OverflowError, yaml.YAMLError):
            return UNUSUAL
        if value.__class__ is float and not math.isfinite(value):
            return UNUSUAL  # .inf, .nan: the node tree words the problem
    if len(text) <= 64 and len(_VALUES) < 50_000:
        _VALUES[text] = value
    return value
