"""Pack inputs: JSON Schema files, type checks, defaults and supplied values.

Schemas are JSON Schema draft 2020-12, validated with the ``jsonschema``
library (imported only when a pack has a schema, so ``simulate`` of a pack
without one starts fast).  A schema path may not leave the pack's folder,
neither with ``..`` nor through a symbolic link, and is never absolute.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

from core.errors import PackInvalid, Problem

MAX_SCHEMA_BYTES = 1024 * 1024
MAX_INPUTS_BYTES = 10 * 1024 * 1024
MISSING_REQUIRED = "is required but was not supplied"


class SchemaFileError(Exception):
    """A schema reference that cannot be used (escapes, missing, not JSON, not a schema)."""


def schema_location(base_dir: str | None, relative: str) -> str:
    """The real path of a schema file inside ``base_dir``, or SchemaFileError."""
    if base_dir is None:
        raise SchemaFileError(f"the schema path '{relative}' cannot be read: this pack has no folder "
                              "(schema files are only read next to a manifest file)")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        raise SchemaFileError(f"the schema path '{relative}' is absolute; it must be relative to the pack's folder")
    root = os.path.realpath(base_dir)
    target = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, target]) != root:
        raise SchemaFileError(f"the schema path '{relative}' leaves the pack's folder")
    return target


def load_schema(base_dir: str | None, relative: str) -> dict:
    """Read and check a JSON Schema file referenced by an input."""
    location = schema_location(base_dir, relative)
    try:
        with open(location, "rb") as handle:
            raw = handle.read(MAX_SCHEMA_BYTES + 1)
    except FileNotFoundError:
        raise SchemaFileError(f"the schema file '{relative}' does not exist") from None
    except IsADirectoryError:
        raise SchemaFileError(f"the schema path '{relative}' is a folder, not a file") from None
    except OSError as error:
        raise SchemaFileError(f"the schema file '{relative}' cannot be read: {error.strerror}") from None
    if len(raw) > MAX_SCHEMA_BYTES:
        raise SchemaFileError(f"the schema file '{relative}' is larger than 1 MiB")
    try:
        schema = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SchemaFileError(f"the schema file '{relative}' is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SchemaFileError(f"the schema file '{relative}' is not valid JSON "
                              f"(line {error.lineno}, column {error.colno}: {error.msg})") from None
    if not isinstance(schema, (dict, bool)):
        raise SchemaFileError(f"the schema file '{relative}' must hold a JSON object")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise SchemaFileError(f"the schema file '{relative}' is not a valid JSON Schema: {error.message}") from None
    return schema


def type_problem(expected: str, value: Any) -> str | None:
    """Why ``value`` is not of the input type ``expected``, or None."""
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        and value not in (float("inf"), float("-inf")),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[expected]
    if ok:
        return None
    return f"expected {_ARTICLE[expected]}, got {json_type(value)}"


_ARTICLE = {"string": "a string", "boolean": "a boolean", "integer": "an integer",
            "number": "a number", "object": "an object", "array": "an array"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def schema_problems(schema: dict | bool, value: Any) -> list[str]:
    """Readable JSON Schema failures of ``value``, in a stable order."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(schema)
    found = []
    for error in validator.iter_errors(value):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append((where, error.message))
    found.sort()
    return [f"{message} (at {where})" if where != "/" else message for where, message in found]


def value_problems(spec, schema: dict | bool | None, value: Any) -> list[str]:
    """Everything wrong with ``value`` for the input ``spec`` (type, then schema)."""
    wrong_type = type_problem(spec.type, value)
    if wrong_type:
        return [wrong_type]
    if schema is not None:
        return schema_problems(schema, value)
    return []


def resolve_inputs(pack, supplied: dict[str, Any] | None, label: str = "inputs") -> dict[str, Any]:
    """Supplied values with defaults applied, checked against types and schemas.

    Raises PackInvalid naming every offending input; ``label`` is the name of
    the inputs file in messages.
    """
    supplied = dict(supplied or {})
    specs = {spec.name: spec for spec in pack.manifest.spec.inputs}
    problems = []
    for name in sorted(set(supplied) - set(specs)):
        declared = ", ".join(sorted(specs)) or "none"
        close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
        if not close:  # a difference of case only (dryrun / dryRun) is the commonest slip
            close = [spec for spec in specs if spec.lower() == name.lower()][:1]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(Problem(label, 0, 0, f"input '{name}' is not declared by the pack{hint} (declared: {declared})"))
    resolved: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in supplied:
            value = supplied[name]
        elif spec.has_default:
            value = spec.default
        elif spec.required:
            problems.append(Problem(label, 0, 0, f"input '{name}' {MISSING_REQUIRED}"))
            continue
        else:
            resolved[name] = None
            continue
        if value is None and not spec.required:
            resolved[name] = None
            continue
        for reason in value_problems(spec, pack.schemas.get(name), value):
            problems.append(Problem(label, 0, 0, f"input '{name}': {reason}"))
        resolved[name] = value
    if problems:
        raise PackInvalid(problems)
    return resolved


def read_inputs_file(path: str, label: str | None = None) -> dict[str, Any]:
    """Read an inputs JSON file (an object of input values)."""
    label = label or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_INPUTS_BYTES + 1)
    except OSError as error:
        raise PackInvalid([Problem(label, 0, 0, f"cannot read the inputs file: {error.strerror or error}")])
    if len(raw) > MAX_INPUTS_BYTES:
        raise PackInvalid([Problem(label, 0, 0, "the inputs file is larger than 10 MiB")])
    try:
        values = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PackInvalid([Problem(label, 0, 0, "the inputs file is not UTF-8 text")])
    except json.JSONDecodeError as error:
        raise PackInvalid([Problem(label, error.lineno, error.colno, f"invalid JSON: {error.msg}")])
    except RecursionError:
        raise PackInvalid([Problem(label, 0, 0, "the inputs JSON is nested too deeply")])
    if not isinstance(values, dict):
        raise PackInvalid([Problem(label, 1, 1, f"the inputs must be a JSON object of input values, not {json_type(values)}")])
    return values
