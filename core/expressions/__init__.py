"""``{{ expr }}`` templates: parsing, static references and evaluation.

Expressions are JMESPath (evaluated by the ``jmespath`` library, never by
``eval``) with the conveniences of :mod:`core.expressions.dialect`.  Each
expression's *references* (the root paths it reads: ``inputs.x``,
``secrets.y``, ``steps.s.outputs.z``, ``item``, ``index``) are found
statically from the parsed AST, to validate them and to decide whether the
value is known at plan time or only at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.functions
from jmespath.parser import Parser

from core.expressions import metered
from core.expressions.dialect import TooDeep, to_jmespath
from core.expressions.metered import ValueBudget
from core.limits import MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_VALUE_BYTES, MAX_EXPRESSION_WORK

__all__ = [
    "Expression", "ExpressionError", "Template", "TemplatePart", "ValueBudget", "is_truthy",
    "render_text", "ROOT_NAMES",
]

ROOT_NAMES = ("inputs", "secrets", "steps", "item", "index")

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-+[A-Za-z0-9_]+)*(?:\.[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*)*\Z")
_WORDS = {"not", "and", "or", "true", "false", "null"}
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_WHOLE = re.compile(r"\A\s*\{\{(.*?)\}\}\s*\Z", re.DOTALL)


class ExpressionError(Exception):
    """An expression that cannot be parsed or evaluated."""


@dataclass(frozen=True)
class Expression:
    """One parsed expression (the text between ``{{`` and ``}}``).

    ``is_runtime`` (reads step outputs), ``uses_secrets`` and ``secret_path``
    are decided once, when parsed.  ``plain_path`` is set for a bare dotted
    path (``item``, ``inputs.targets``): evaluating it is a dict walk with
    JMESPath's semantics (a missing key or a non-object gives null).
    """

    source: str
    jmespath_source: str
    references: tuple[tuple[str, ...], ...]
    plain_path: tuple[str, ...] | None = None
    is_runtime: bool = field(init=False)
    uses_secrets: bool = field(init=False)

    def __post_init__(self):
        roots = [ref[0] for ref in self.references]
        object.__setattr__(self, "is_runtime", "steps" in roots)
        object.__setattr__(self, "uses_secrets", "secrets" in roots)

    @staticmethod
    def parse(source: str) -> "Expression":
        return _parse_cached(source.strip())

    @property
    def secret_path(self) -> str | None:
        """The secret name when the expression is exactly ``secrets.<name>``."""
        path = self.plain_path
        if path is not None and len(path) == 2 and path[0] == "secrets":
            return path[1]
        return None

    def evaluate(self, context: dict[str, Any], budget: ValueBudget | None = None) -> Any:
        """The expression's value; ExpressionError if it fails or passes a limit.

        Every evaluation is bounded in work and value size
        (:mod:`core.expressions.metered`); ``budget`` also bounds a series.
        """
        if self.plain_path is not None:
            value: Any = context
            for name in self.plain_path:
                if not isinstance(value, dict):
                    return None
                value = value.get(name)
            return value
        try:
            return metered.evaluate(_compiled(self.jmespath_source).parsed, context, budget)
        except metered.BudgetExceeded as error:
            raise ExpressionError(str(error)) from None
        except jmespath.exceptions.JMESPathError as error:
            # the whole message: it may quote a value (a secret) holding a line break, and a first
            # line would keep a piece of it that redaction cannot recognise
            raise ExpressionError(str(getattr(error, "msg", "") or error).strip() or type(error).__name__) from None
        except (TypeError, ValueError, RecursionError) as error:
            raise ExpressionError(f"evaluation failed: {error}") from None


@lru_cache(maxsize=4096)
def _parse_cached(source: str) -> Expression:
    if not source:
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    if _DOTTED.match(source) and source.split(".", 1)[0] not in _WORDS:
        # The common case (inputs.x, item.name, steps.a-b.outputs.y): a bare path needs neither
        # the dialect's rewrite nor the JMESPath parser, which cost 0.2 ms per expression.
        path = tuple(source.split("."))
        return Expression(source, ".".join(f'"{name}"' for name in path), (path,), path)
    try:
        translated = to_jmespath(source)
    except (TooDeep, RecursionError) as error:
        raise ExpressionError(f"the expression '{source[:60]}…' is too deeply nested: {error}") from None
    try:
        parsed = Parser().parse(translated).parsed
    except jmespath.exceptions.JMESPathError as error:
        raise ExpressionError(f"the expression '{source}' cannot be parsed: {_parse_reason(error)}") from None
    except RecursionError:
        raise ExpressionError(f"the expression '{source}' is nested too deeply") from None
    _check_functions(parsed, source)
    references = tuple(dict.fromkeys(_root_references(parsed)))
    return Expression(source, translated, references, _plain_path(parsed))


def _plain_path(node: dict) -> tuple[str, ...] | None:
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression" and all(c["type"] == "field" for c in node["children"]):
        return tuple(c["value"] for c in node["children"])
    return None


_FUNCTIONS = jmespath.functions.Functions().FUNCTION_TABLE


def _check_functions(node: dict, source: str) -> None:
    """Refuse unknown functions and wrong argument counts now, not mid-run."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.get("type") == "function_expression":
            name = current["value"]
            if name not in _FUNCTIONS:
                raise ExpressionError(f"the expression '{source}' calls an unknown function '{name}'")
            signature = _FUNCTIONS[name]["signature"]
            variadic = bool(signature) and signature[-1].get("variadic", False)
            given = len(current["children"])
            if (given < len(signature)) if variadic else (given != len(signature)):
                expected = f"at least {len(signature)}" if variadic else str(len(signature))
                raise ExpressionError(f"the expression '{source}': {name}() takes {expected} "
                                      f"argument{'s' if expected != '1' else ''}, not {given}")
        stack.extend(current.get("children", []))


@lru_cache(maxsize=4096)
def _compiled(translated: str):
    return jmespath.compile(translated)


def _parse_reason(error: Exception) -> str:
    if isinstance(error, jmespath.exceptions.IncompleteExpressionError):
        return "it ends too early (an unfinished path, bracket, call or operator)"
    if isinstance(error, jmespath.exceptions.LexerError):
        return getattr(error, "message", None) or _first_line(error)
    token = getattr(error, "token_value", None)
    if token is not None:
        return f"unexpected '{token}'"
    return _first_line(error)


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "msg", "") or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


_CHAINS = ("index_expression", "projection", "value_projection", "filter_projection", "flatten")


def _leading(node: dict) -> tuple[str, ...] | None:
    """The root path a node starts with (``a.b`` of ``a.b[0].c[*].d``), else None."""
    kind = node["type"]
    if kind == "field":
        return (node["value"],)
    if kind == "subexpression":
        path: tuple[str, ...] = ()
        for child in node["children"]:
            step = _leading(child)
            if step is None:
                break
            path += step
            if child["type"] != "field":
                break
        return path or None
    if kind in _CHAINS:
        return _leading(node["children"][0])
    return None


def _root_references(node: dict):
    """Yield the root paths an AST node (evaluated against the root) reads.

    JMESPath has no root operator: the right side of a subexpression, a
    projection, a filter or a pipe, and an ``&expref``, are evaluated
    against an intermediate value and can never reach the root context.
    """
    path = _leading(node)
    if path is not None:
        yield path
        return
    kind = node["type"]
    children = node.get("children", [])
    if kind == "current":
        yield ("@",)  # the whole context: validation refuses it by name
    elif kind in ("subexpression", "index_expression", "projection", "value_projection",
                "filter_projection", "pipe", "flatten"):
        if children:
            yield from _root_references(children[0])
    elif kind == "function_expression":
        for child in children:
            if child["type"] != "expref":
                yield from _root_references(child)
    elif kind in ("and_expression", "or_expression", "not_expression", "comparator",
                  "multi_select_list", "multi_select_dict", "key_val_pair"):
        for child in children:
            yield from _root_references(child)


@dataclass(frozen=True)
class TemplatePart:
    text: str | None = None
    expression: Expression | None = None


@dataclass(frozen=True)
class Template:
    """A string value with ``{{ }}`` templates in it.

    ``whole`` is set when the value is exactly one template: its result keeps
    its type.  Otherwise ``parts`` interleave text and expressions and the
    result is interpolated text.
    """

    source: str
    parts: tuple[TemplatePart, ...]
    whole: Expression | None
    expressions: tuple[Expression, ...] = field(init=False)
    is_runtime: bool = field(init=False)
    uses_secrets: bool = field(init=False)

    def __post_init__(self):
        expressions = tuple([p.expression for p in self.parts if p.expression is not None])
        object.__setattr__(self, "expressions", expressions)
        object.__setattr__(self, "is_runtime", True in [e.is_runtime for e in expressions])
        object.__setattr__(self, "uses_secrets", True in [e.uses_secrets for e in expressions])

    @staticmethod
    def has_template(value: Any) -> bool:
        return isinstance(value, str) and "{{" in value

    @staticmethod
    def parse(source: str) -> "Template":
        return _parse_template(source)

    @staticmethod
    def _parse_uncached(source: str) -> "Template":
        whole = _WHOLE.match(source)
        if whole and "{{" not in whole.group(1):
            expression = Expression.parse(whole.group(1))
            return Template(source, (TemplatePart(expression=expression),), expression)
        parts: list[TemplatePart] = []
        position = 0
        for match in _TEMPLATE.finditer(source):
            if match.start() > position:
                parts.append(TemplatePart(text=source[position:match.start()]))
            parts.append(TemplatePart(expression=Expression.parse(match.group(1))))
            position = match.end()
        tail = source[position:]
        if "{{" in tail:
            raise ExpressionError("a '{{' is never closed with '}}'")
        if tail:
            parts.append(TemplatePart(text=tail))
        return Template(source, tuple(parts), None)

    def render(self, context: dict[str, Any], budget: ValueBudget | None = None) -> Any:
        if self.whole is not None:
            return self.whole.evaluate(context, budget)
        pieces = []
        length = 0
        # The expressions of one text share one expression's work budget: fifty of them
        # in a string must not cost fifty times as much.
        shared = ValueBudget(max_work=MAX_EXPRESSION_WORK, parent=budget, label="the expressions of this text")
        for part in self.parts:
            piece = part.text if part.expression is None else render_text(part.expression.evaluate(context, shared))
            length += len(piece)
            if length > MAX_EXPRESSION_VALUE_BYTES:
                raise ExpressionError(f"the text would be longer than {MAX_EXPRESSION_VALUE_BYTES:,} characters")
            pieces.append(piece)
        return "".join(pieces)


_parse_template = lru_cache(maxsize=16384)(Template._parse_uncached)


def render_text(value: Any) -> str:
    """How a value reads when interpolated into text (JSON for non-strings)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false."""
    return not (value is None or value is False or value == "" or value == [] or value == {})
