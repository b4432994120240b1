"""Turn pydantic validation errors into located, readable :class:`Problem` s."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import Problem
from core.manifest import models
from core.manifest.locate import step_context
from core.manifest.yaml_source import YamlSource

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "null",
}

_PATTERNS = {
    ("metadata", "name"): "must be a lowercase DNS label (a-z, 0-9, '-'), at most 63 characters",
    ("metadata", "version"): "must be a semantic version such as 1.2.3",
    ("step", "id"): "must start with a letter or digit and use only letters, digits, '_', '.' and '-'",
    ("approval", "id"): "must start with a letter or digit and use only letters, digits, '_', '.' and '-'",
    ("inputs", "name"): "must be an identifier: a letter or '_' followed by letters, digits or '_'",
    ("", "name"): "must use only letters, digits, '_', '.' and '-'",
}

_POSITIVE = {"maxParallel"}


def problems_from_validation(error: ValidationError, source: YamlSource) -> list[Problem]:
    """One problem per location (union branches merged), in the pack's terms."""
    grouped: dict[tuple, list[dict]] = {}
    for item in error.errors(include_url=False):
        path, extra = _split_loc(source.data, item["loc"], item["type"])
        grouped.setdefault((path, extra), []).append(item)
    problems = []
    for (path, extra), items in grouped.items():
        problems.append(_problem(source, path, extra, items))
    return problems


def _split_loc(data: Any, loc: tuple, error_type: str) -> tuple[tuple, str | None]:
    """The part of ``loc`` that exists in the YAML, and a missing/unknown key after it."""
    node = data
    path: list = []
    for segment in loc:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
        elif error_type == "missing" and isinstance(segment, str) and isinstance(node, dict):
            return tuple(path), segment
        else:
            break  # union branch tags such as 'str' or 'list[any]'
        path.append(segment)
    return tuple(path), None


def _problem(source: YamlSource, path: tuple, extra: str | None, items: list[dict]) -> Problem:
    step, field = step_context(source.data, path)
    key = next((p for p in reversed(path) if isinstance(p, str)), "")
    first = items[0]
    kind = first["type"]
    value = _value_at(source.data, path)
    at_key = False
    if kind == "missing":
        message = f"missing required key '{extra}'" + (f" under '{key}'" if key else "")
        field = None
    elif kind == "extra_forbidden":
        parent = next((p for p in reversed(path[:-1]) if isinstance(p, str)), "")
        message = f"unknown key '{key}'" + (f" under '{parent}'" if parent and step is None else "")
        message += _suggestion(path, key)
        at_key = True
        field = None
    elif kind == "literal_error" and key in ("apiVersion", "kind"):
        expected = models.API_VERSION if key == "apiVersion" else models.KIND
        message = f"unsupported {key} '{_show(value)}' (expected '{expected}')"
    elif kind == "literal_error":
        message = f"'{key}' must be one of {first['ctx']['expected']}, not '{_show(value)}'"
    elif kind == "string_pattern_mismatch":
        message = f"'{key}' {_pattern_message(path, key)}, not '{_show(value)}'"
    elif kind == "value_error":
        message = str(first["ctx"]["error"])
    elif key in _POSITIVE and kind in ("greater_than", "int_type", "int_from_float"):
        message = f"'{key}' must be a positive integer, not {_describe(value)}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        limit = next(iter(first["ctx"].values()))
        limit = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        message = f"'{key}' must be {bound} {limit}, not {_show(value)}"
    elif kind == "too_short" and key == "steps":
        message = "'steps' must list at least one step"
    elif kind == "too_short":
        message = f"'{key}' must not be empty"
    elif kind == "string_too_long":
        message = f"'{key}' must be at most {first['ctx']['max_length']} characters"
    elif kind == "finite_number":
        message = f"'{key}' must be a finite number"
    else:
        expected = [_EXPECTED.get(i["type"], i["msg"]) for i in items]
        expected = list(dict.fromkeys(expected))
        message = f"'{key or 'the document'}' must be {' or '.join(expected)}, not {_describe(value)}"
        if isinstance(value, (bool, int, float)) and "a string" in expected:
            message += " (YAML reads unquoted yes/no/on/off/true and numbers that way: quote it for text)"
    return source.problem(path, message, key=at_key, step=step, field=field)


def _pattern_message(path: tuple, key: str) -> str:
    if len(path) >= 2 and path[0] == "metadata":
        return _PATTERNS[("metadata", key)]
    if key == "id" and len(path) >= 2 and path[1] == "approvals":
        return _PATTERNS[("approval", "id")]
    if key == "id":
        return _PATTERNS[("step", "id")]
    if len(path) >= 2 and path[1] == "inputs":
        return _PATTERNS[("inputs", "name")]
    return _PATTERNS[("", "name")]


def _suggestion(path: tuple, key: str) -> str:
    model = _model_at(path[:-1])
    if model is None:
        return ""
    known = [f.alias or name for name, f in model.model_fields.items()]
    import difflib  # only for a problem: a cold start of a valid pack never needs it
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(path: tuple) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``."""
    model: Any = models.Manifest
    for segment in path:
        if isinstance(segment, int):
            continue
        if model is None:
            return None
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == segment), None)
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _value_at(data: Any, path: tuple) -> Any:
    for segment in path:
        data = data[segment]
    return data


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{_show(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
