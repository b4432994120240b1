"""Pack inputs: JSON Schema files, type checks, defaults and supplied values.

Schemas are JSON Schema draft 2020-12, validated with the ``jsonschema``
library (imported only when a pack has a schema, and then only when
:mod:`core.schema_fast` cannot tell with ``jsonschema_rs`` that there is
nothing to report, so ``simulate`` starts fast).  A schema path may not leave the pack's folder,
neither with ``..`` nor through a symbolic link, and is never absolute; only
regular files are read (a FIFO would hang the read).  A ``$ref`` to another
file is resolved only to a file inside the pack's folder, read when the pack
is opened; any other reference (a URL, an absolute path) is refused then.
``pattern`` and ``patternProperties`` are matched with the ``regex`` package
under a time limit, so a pattern with catastrophic backtracking is reported,
never left to freeze the process.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from core import schema_fast
from core.errors import PackInvalid, Problem
from core.limits import MAX_VALUE_DEPTH
from core.regular_file import FileTooLarge, NotRegularFile, read_regular_file

MAX_SCHEMA_BYTES = 1024 * 1024
MAX_INPUTS_BYTES = 10 * 1024 * 1024
MISSING_REQUIRED = "is required but was not supplied"
MAX_SCHEMA_FILES = 64
"""Files one input's schema may pull in through ``$ref``."""
PATTERN_SECONDS = 0.5
"""Time all the ``pattern`` matches of one schema check may take together."""


class SchemaDocument(dict):
    """A schema (the JSON object itself) and the sibling files its ``$ref``s reach.

    ``resources`` maps each reference, as resolved against the schema's own
    place (``other.json``, ``defs/a.json``), to that file's schema.
    """

    resources: dict[str, Any]

    def __init__(self, schema: dict, resources: dict[str, Any] | None = None):
        super().__init__(schema)
        self.resources = dict(resources or {})

    def __reduce__(self):
        return (SchemaDocument, (dict(self), self.resources))


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


def load_schema(base_dir: str | None, relative: str) -> Any:
    """Read and check a JSON Schema file referenced by an input, with the files its ``$ref``s reach."""
    schema = _read_schema(base_dir, relative, f"'{relative}'")
    if not isinstance(schema, dict):
        return schema
    resources: dict[str, Any] = {}
    pending = [("", relative, schema)]  # (its key, its path in the pack, its schema)
    while pending:
        key, path, document = pending.pop()
        for ref in _references(document):
            target = urljoin(key, ref.partition("#")[0]) if key else ref.partition("#")[0]
            if not target or target in resources:
                continue  # a reference inside the same document, or one already read
            split = urlsplit(target)
            if split.scheme or split.netloc or target.startswith(("/", "\\")):
                raise SchemaFileError(f"the schema file '{relative}' refers to '{ref}' ($ref); only files "
                                      "inside the pack's folder can be referenced")
            if len(resources) >= MAX_SCHEMA_FILES:
                raise SchemaFileError(f"the schema file '{relative}' refers to more than {MAX_SCHEMA_FILES} files")
            file_path = posixpath.normpath(posixpath.join(posixpath.dirname(relative), split.path))
            resources[target] = _read_schema(base_dir, file_path, f"'{file_path}' (a $ref of '{path}')")
            if isinstance(resources[target], dict):
                pending.append((target, file_path, resources[target]))
    return SchemaDocument(schema, resources)


def _references(schema: Any):
    """Every ``$ref`` / ``$dynamicRef`` string in a schema document."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("$ref", "$dynamicRef"):
                if isinstance(node.get(key), str):
                    yield node[key]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _read_schema(base_dir: str | None, relative: str, label: str) -> Any:
    location = schema_location(base_dir, relative)
    try:
        raw = read_regular_file(location, MAX_SCHEMA_BYTES)
    except FileNotFoundError:
        raise SchemaFileError(f"the schema file {label} does not exist") from None
    except NotRegularFile as error:
        raise SchemaFileError(f"the schema path {label} cannot be read: {error}") from None
    except FileTooLarge:
        raise SchemaFileError(f"the schema file {label} is larger than 1 MiB") from None
    except OSError as error:
        raise SchemaFileError(f"the schema file {label} cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_SCHEMA_BYTES:
        raise SchemaFileError(f"the schema file {label} is larger than 1 MiB")
    try:
        schema = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SchemaFileError(f"the schema file {label} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SchemaFileError(f"the schema file {label} is not valid JSON "
                              f"(line {error.lineno}, column {error.colno}: {error.msg})") from None
    except (ValueError, RecursionError) as error:
        raise SchemaFileError(f"the schema file {label} cannot be read: {_reason(error)}") from None
    if not isinstance(schema, (dict, bool)):
        raise SchemaFileError(f"the schema file {label} must hold a JSON object")
    depth = nesting_depth(schema, MAX_VALUE_DEPTH)
    if depth > MAX_VALUE_DEPTH:
        raise SchemaFileError(f"the schema file {label} is nested more than {MAX_VALUE_DEPTH} levels deep")
    if schema_fast.schema_is_valid(schema):  # sure to pass; jsonschema (imported ~40 ms) words problems
        return schema
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise SchemaFileError(f"the schema file {label} is not a valid JSON Schema: {error.message}") from None
    return schema


def _reason(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    text = str(error)
    if "integer string conversion" in text:
        return "a number has more than 4,300 digits"
    return text.splitlines()[0] if text else type(error).__name__


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests lists and objects, counted up to ``limit + 1`` (no recursion)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_surrogate(value: Any) -> bool:
    """Whether a text in ``value`` (keys included) has a lone surrogate; iterative, any depth."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return False


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
        return "a number" if math.isfinite(value) else "NaN or infinity (not a JSON number)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def schema_problems(schema: Any, value: Any) -> list[str]:
    """Readable JSON Schema failures of ``value``, in a stable order."""
    if schema_fast.value_is_valid(schema, value):  # sure to be []; else jsonschema finds and words them
        return []
    from referencing.exceptions import Unresolvable
    validator = _validator(schema)
    found = []
    try:
        for error in validator.iter_errors(value):
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            found.append((where, error.message))
    except _PatternTimeout as timeout:
        return [str(timeout)]
    except Unresolvable as error:
        return [f"the schema's reference '{getattr(error, 'ref', error)}' cannot be resolved; only files "
                "inside the pack's folder can be referenced"]
    except RecursionError:
        return ["the schema refers to itself too deeply to check this value"]
    found.sort()
    return [f"{message} (at {where})" if where != "/" else message for where, message in found]


class _PatternTimeout(Exception):
    pass


def _validator(schema: Any):
    """A draft 2020-12 validator whose patterns run under a deadline and whose $refs stay in the pack."""
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    deadline = time.monotonic() + PATTERN_SECONDS

    def search(pattern: str, text: str) -> bool:
        import regex
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            return regex.search(pattern, text, timeout=remaining) is not None
        except TimeoutError:
            raise _PatternTimeout(f"matching the pattern '{pattern[:80]}' took longer than "
                                  f"{PATTERN_SECONDS:g} s; the schema's pattern backtracks catastrophically") from None
        except regex.error as error:
            raise _PatternTimeout(f"the schema's pattern '{pattern[:80]}' cannot be used: {error}") from None

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and not search(patrn, instance):
            yield _error(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(validator, pattern_properties, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in pattern_properties.items():
            for key, item in instance.items():
                if search(patrn, key):
                    yield from validator.descend(item, subschema, path=key, schema_path=patrn)

    resources = getattr(schema, "resources", {})

    def retrieve(uri: str):
        if uri in resources:
            return Resource.from_contents(resources[uri], default_specification=DRAFT202012)
        raise NoSuchResource(ref=uri)

    timed = validators.extend(Draft202012Validator, {"pattern": pattern, "patternProperties": pattern_properties})
    contents = dict(schema) if isinstance(schema, dict) else schema
    return timed(contents, registry=Registry(retrieve=retrieve))


def _error(message: str):
    from jsonschema.exceptions import ValidationError
    return ValidationError(message)


def value_problems(spec, schema: dict | bool | None, value: Any) -> list[str]:
    """Everything wrong with ``value`` for the input ``spec`` (type, then schema)."""
    wrong_type = type_problem(spec.type, value)
    if wrong_type:
        return [wrong_type]
    if nesting_depth(value, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH:
        return [f"the value is nested more than {MAX_VALUE_DEPTH} levels deep"]
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
    for name in sorted(supplied, key=str):
        if _holds_surrogate((name, supplied[name])):  # JSON's "\ud800": no UTF-8 form, so it could not be
            shown = str(name).encode("utf-8", "backslashreplace").decode("utf-8")  # stored, printed or sent
            problems.append(Problem(label, 0, 0, f"input '{shown}': a text holds a lone UTF-16 surrogate "
                                                 "(\\ud800-\\udfff); it is not valid Unicode"))
    if problems:
        raise PackInvalid(problems)
    for name in sorted(set(supplied) - set(specs)):
        declared = ", ".join(sorted(specs)) or "none"
        import difflib  # only for a problem: a cold start of a valid pack never needs it
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


def _not_json(constant: str):
    """Python's JSON reader takes NaN and Infinity; JSON has no such numbers (a preview could not hold them)."""
    raise ValueError(f"{constant} is not a JSON number")


def read_inputs_file(path: str, label: str | None = None) -> dict[str, Any]:
    """Read an inputs JSON file (an object of input values)."""
    label = label or path
    try:
        raw = read_regular_file(path, MAX_INPUTS_BYTES)
    except FileTooLarge:
        raise PackInvalid([Problem(label, 0, 0, "the inputs file is larger than 10 MiB")]) from None
    except OSError as error:
        raise PackInvalid([Problem(label, 0, 0, f"cannot read the inputs file: {error.strerror or error}")])
    if len(raw) > MAX_INPUTS_BYTES:
        raise PackInvalid([Problem(label, 0, 0, "the inputs file is larger than 10 MiB")])
    try:
        values = json.loads(raw.decode("utf-8-sig"), parse_constant=_not_json)
    except UnicodeDecodeError:
        raise PackInvalid([Problem(label, 0, 0, "the inputs file is not UTF-8 text")])
    except json.JSONDecodeError as error:
        raise PackInvalid([Problem(label, error.lineno, error.colno, f"invalid JSON: {error.msg}")])
    except RecursionError:
        raise PackInvalid([Problem(label, 0, 0, "the inputs JSON is nested too deeply")])
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise PackInvalid([Problem(label, 0, 0, f"the inputs JSON cannot be read: {_reason(error)}")])
    if not isinstance(values, dict):
        raise PackInvalid([Problem(label, 1, 1, f"the inputs must be a JSON object of input values, not {json_type(values)}")])
    return values
