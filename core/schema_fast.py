"""A fast "nothing to report" for the JSON Schema checks of :mod:`core.inputs`.

``jsonschema`` takes about 40 ms of CPU to import, a fifth of a cold ``stella task-runner
simulate`` of the bundled sample, only to find nothing wrong with its one schema'd input;
``jsonschema_rs`` (Rust) imports in about 3 ms.  The checks and their messages stay
jsonschema's: the two functions here answer True only when they are sure that jsonschema
would find nothing, and False otherwise (a problem to word, a feature outside the subset
below, a value that is not plain JSON, jsonschema_rs missing or refusing the schema).  On
False the caller runs jsonschema exactly as before, so every problem, and its wording, is
jsonschema's.  ``tests/test_schema_fast.py`` checks with hypothesis that on this subset
both libraries agree on valid and invalid, and that a True here always means jsonschema
finds nothing.

The subset: draft 2020-12 (``$schema`` absent or that dialect, at a document's top only),
``type``, ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``,
``minProperties``/``maxProperties``, ``items``, ``prefixItems``, ``minItems``/``maxItems``,
``uniqueItems``, ``minimum``/``maximum`` and their exclusive forms, ``minLength``/
``maxLength``, ``allOf``/``anyOf``/``oneOf``/``not``, ``$defs``, ``$ref`` to a ``$defs``
entry or another file of the pack (plain relative paths and pointers, no cycle, at most
:data:`MAX_DEPTH` schemas deep along any path, so jsonschema's recursion would never
run out either), ``format`` (an annotation: neither library asserts it; our jsonschema
validator is built without a format checker) and the annotation keywords.

Left to jsonschema, always: ``pattern`` and ``patternProperties`` (Python ``regex``
semantics under a time limit, and check_schema's ``regex`` format), ``multipleOf`` (float
division semantics), ``$id``/``$anchor``/``$dynamic*``, conditionals, ``contains``,
``unevaluated*``, ``dependent*``, ``propertyNames``, unknown keywords; numbers beyond
2**53, NaN and infinities; any value that is not plain JSON (tuples, non-text keys...).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_DEPTH = 48
"""Schemas nested (through keywords and ``$ref``s) along any path; deeper goes to jsonschema."""
_LARGEST = 2 ** 53
_BASE = "json-schema:///"
"""jsonschema_rs's base URI for a schema without ``$id``: ``other.json`` resolves to ``json-schema:///other.json``."""

_ANNOTATIONS = frozenset({"$comment", "title", "description", "default", "examples", "deprecated",
                          "readOnly", "writeOnly", "format"})
_DATA = frozenset({"type", "enum", "const", "required", "minProperties", "maxProperties", "minItems",
                   "maxItems", "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                   "minLength", "maxLength"})
_ONE_SCHEMA = frozenset({"additionalProperties", "items", "not"})
_SCHEMA_MAPS = frozenset({"properties", "$defs"})
_SCHEMA_LISTS = frozenset({"prefixItems", "allOf", "anyOf", "oneOf"})
_KEYWORDS = _ANNOTATIONS | _DATA | _ONE_SCHEMA | _SCHEMA_MAPS | _SCHEMA_LISTS | {"$ref", "$schema"}
_REFERENCE = re.compile(r"(?:(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*)?"
                        r"(?:#(?:/[A-Za-z0-9_$.-]+)*)?")
"""A plain relative file path and/or a JSON pointer of plain names: no ``..``, ``~`` or ``%`` escapes."""


_PASS_ON = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


class _Slow(Exception):
    """Not sure: leave it to jsonschema."""


def _rs():
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; without it every check is jsonschema's
        return None
    return jsonschema_rs


def schema_is_valid(schema: Any) -> bool:
    """True only if jsonschema's ``Draft202012Validator.check_schema(schema)`` would pass."""
    try:
        _check_document(schema)
        rs = _rs()
        return rs is not None and rs.meta.is_valid(schema)
    except _PASS_ON:
        raise
    except BaseException:  # anything unexpected (a shape, a conversion, a panic in Rust: pyo3's
        return False  # PanicException is a BaseException): jsonschema decides


def value_is_valid(schema: Any, value: Any) -> bool:
    """True only if jsonschema would find nothing wrong with ``value`` for ``schema``.

    ``schema`` is a :class:`core.inputs.SchemaDocument` (its ``resources`` are the pack's
    files its ``$ref``s reach) or a plain schema.
    """
    resources = getattr(schema, "resources", {})
    try:
        _plain(value)
        documents = {"": schema, **resources}
        for document in documents.values():
            _check_document(document)
        _Depth(documents).height("", schema)
        rs = _rs()
        if rs is None:
            return False

        def retrieve(uri: str):
            if uri.startswith(_BASE) and uri[len(_BASE):] in resources:
                return resources[uri[len(_BASE):]]
            raise ValueError(f"no such schema file: {uri}")

        contents = dict(schema) if isinstance(schema, dict) else schema
        validator = rs.Draft202012Validator(contents, validate_formats=False, retriever=retrieve)
        return validator.is_valid(value) is True
    except _PASS_ON:
        raise
    except BaseException:
        return False


def _plain(value: Any) -> None:
    """Raise _Slow unless ``value`` is plain JSON both libraries read alike."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str or kind is bool or node is None:
            continue
        if kind is int:
            if -_LARGEST <= node <= _LARGEST:
                continue
        elif kind is float:
            if -_LARGEST <= node <= _LARGEST:  # False for NaN and the infinities
                continue
        elif kind is list:
            stack.extend(node)
            continue
        elif isinstance(node, dict):  # a SchemaDocument is a dict
            if all(type(key) is str for key in node):
                stack.extend(node.values())
                continue
        raise _Slow


def _check_document(document: Any) -> None:
    """Raise _Slow unless every schema in ``document`` keeps to the subset (its data plain JSON)."""
    if isinstance(document, dict) and "$schema" in document and document["$schema"] != DIALECT:
        raise _Slow
    stack = [document]
    while stack:
        node = stack.pop()
        if type(node) is bool:
            continue
        if not isinstance(node, dict):
            raise _Slow
        for key, value in node.items():
            if key not in _KEYWORDS or (key == "$schema" and node is not document):
                raise _Slow
            if key in _ONE_SCHEMA:
                stack.append(value)
            elif key in _SCHEMA_MAPS:
                if type(value) is not dict:
                    raise _Slow
                _plain(list(value))
                stack.extend(value.values())
            elif key in _SCHEMA_LISTS:
                if type(value) is not list:
                    raise _Slow
                stack.extend(value)
            elif key == "$ref":
                if type(value) is not str or not _REFERENCE.fullmatch(value):
                    raise _Slow
            else:
                _plain(value)


class _Depth:
    """The deepest path of schemas from one, following ``$ref``s; _Slow on a cycle or past MAX_DEPTH."""

    def __init__(self, documents: dict[str, Any]):
        self.documents = documents
        self.heights: dict[int, int] = {}
        self.open: set[int] = set()

    def height(self, key: str, node: Any, depth: int = 1) -> int:
        if type(node) is bool:
            return 1
        known = self.heights.get(id(node))
        if known is not None:
            if depth + known - 1 > MAX_DEPTH:
                raise _Slow
            return known
        if id(node) in self.open or depth > MAX_DEPTH:
            raise _Slow  # a cycle (jsonschema would recurse until RecursionError) or too deep
        self.open.add(id(node))
        tallest = 0
        for child_key, child in self._children(key, node):
            tallest = max(tallest, self.height(child_key, child, depth + 1))
        self.open.discard(id(node))
        self.heights[id(node)] = tallest + 1
        return tallest + 1

    def _children(self, key: str, node: dict):
        for keyword, value in node.items():
            if keyword in _ONE_SCHEMA:
                yield key, value
            elif keyword in _SCHEMA_MAPS:
                yield from ((key, child) for child in value.values())
            elif keyword in _SCHEMA_LISTS:
                yield from ((key, child) for child in value)
            elif keyword == "$ref":
                yield self._resolve(key, value)

    def _resolve(self, key: str, reference: str):
        """The schema a ``$ref`` in document ``key`` names, keyed as :func:`core.inputs.load_schema` keys files."""
        path, _, pointer = reference.partition("#")
        target = (urljoin(key, path) if key else path) if path else key
        if target not in self.documents:
            raise _Slow
        node = self.documents[target]
        tokens = pointer.split("/")[1:]
        while tokens:  # only through schema positions: a keyword holding a schema, or one of a map's schemas
            keyword = tokens.pop(0)
            if not isinstance(node, dict) or keyword not in node:
                raise _Slow
            if keyword in _SCHEMA_MAPS and tokens and tokens[0] in node[keyword]:
                node = node[keyword][tokens.pop(0)]
            elif keyword in _ONE_SCHEMA:
                node = node[keyword]
            else:
                raise _Slow
        return target, node
