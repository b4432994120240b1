"""The readable conveniences packs use, rewritten into plain JMESPath.

This is a token rewrite, not an evaluator: the result is handed to the
``jmespath`` library, which parses and evaluates it.  Rewrites:

* ``not x``, ``a and b``, ``a or b``  ->  ``!(x)``, ``a && b``, ``a || b``.
  ``!`` is wrapped around the whole operand because jmespath binds ``!``
  tighter than ``.`` (``!inputs.dryRun`` would negate ``inputs`` itself);
  ``not a == b`` means ``!(a == b)``, as in Python.
* hyphenated names in paths (``steps.apply-remediation.outputs``) and names
  after a dot that start with a digit  ->  quoted identifiers.
* bare numbers outside index brackets and bare ``true`` / ``false`` /
  ``null``  ->  JSON literals (in JMESPath a bare ``true`` is a field lookup
  that quietly yields null).
"""

from __future__ import annotations

import re

from core.limits import MAX_EXPRESSION_DEPTH

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<raw>'(?:\\.|[^'\\])*')
  | (?P<json>`(?:\\.|[^`\\])*`)
  | (?P<quoted>"(?:\\.|[^"\\])*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:-+[A-Za-z0-9_]+)*)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?:[A-Za-z_-][A-Za-z0-9_-]*)?)
  | (?P<op>&&|\|\||==|!=|<=|>=|\[\?|\[\]|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_OPEN = {"(": ")", "[": "]", "[?": "]", "{": "}"}
_KEYWORDS = {"not": "!", "and": "&&", "or": "||"}
_LITERALS = {"true", "false", "null"}


class _Tok:
    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str):
        self.kind = kind
        self.text = text


class TooDeep(ValueError):
    """More brackets inside brackets than :data:`core.limits.MAX_EXPRESSION_DEPTH`."""


def to_jmespath(source: str) -> str:
    """Rewrite a pack expression into JMESPath (see the module docstring)."""
    tokens = _classify(_lex(source))
    return _emit_group(tokens).strip()


def _lex(source: str) -> list[_Tok]:
    tokens = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "op"
        tokens.append(_Tok(kind, match.group()))
    return tokens


def _classify(tokens: list[_Tok]) -> list[_Tok]:
    """Turn words into keywords, literals or quoted names by their context."""
    out: list[_Tok] = []
    brackets: list[str] = []
    previous = ""  # text of the previous non-space token
    for position, token in enumerate(tokens):
        text = token.text
        after_dot = previous == "."
        is_key = _next_significant(tokens, position) == ":" and bool(brackets) and brackets[-1] == "{"
        if token.kind == "op" and text in _OPEN:
            brackets.append(text)
            if len(brackets) > MAX_EXPRESSION_DEPTH:
                raise TooDeep(f"brackets are nested more than {MAX_EXPRESSION_DEPTH} deep")
        elif token.kind == "op" and text in (")", "]", "}") and brackets:
            brackets.pop()
        if token.kind == "word" and not after_dot and not is_key and text in _KEYWORDS:
            token = _Tok("op", _KEYWORDS[text])
        elif token.kind == "word" and not after_dot and not is_key and text in _LITERALS:
            token = _Tok("json", f"`{text}`")
        elif token.kind == "word" and not _NAME.match(text):
            token = _Tok("quoted", f'"{text}"')
        elif token.kind == "number":
            if after_dot or not _PLAIN_NUMBER.match(text):
                token = _Tok("quoted", f'"{text}"')
            elif not (brackets and brackets[-1] == "["):
                token = _Tok("json", f"`{text}`")
        out.append(token)
        if token.kind != "space":
            previous = token.text
    return out


def _next_significant(tokens: list[_Tok], position: int) -> str:
    for token in tokens[position + 1:]:
        if token.kind != "space":
            return token.text
    return ""


def _split(tokens: list[_Tok], separators: set[str]) -> list[tuple[str, list[_Tok]]]:
    """Split at depth-0 separators; returns (separator before, tokens) pairs."""
    parts: list[tuple[str, list[_Tok]]] = []
    current: list[_Tok] = []
    separator = ""
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in _OPEN:
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        if depth == 0 and token.kind == "op" and token.text in separators:
            parts.append((separator, current))
            separator, current = token.text, []
        else:
            current.append(token)
    parts.append((separator, current))
    return parts


def _emit_group(tokens: list[_Tok]) -> str:
    """Emit a token run, applying ``not`` precedence at every level."""
    pieces = []
    for separator, part in _split(tokens, {",", ":", "|"}):
        text = " || ".join(
            " && ".join(_emit_operand(operand) for _, operand in _split(disjunct, {"&&"}))
            for _, disjunct in _split(part, {"||"})
        )
        pieces.append(f"{separator} {text}" if separator else text)
    return " ".join(pieces)


def _emit_operand(tokens: list[_Tok]) -> str:
    significant = [t for t in tokens if t.kind != "space"]
    negations = 0
    while negations < len(significant) and significant[negations].kind == "op" \
            and significant[negations].text == "!":
        negations += 1
    body = _emit_flat(significant[negations:])
    for _ in range(negations):
        body = f"!({body})"
    return body


def _emit_flat(tokens: list[_Tok]) -> str:
    """Emit tokens, recursing into bracketed groups so nested ``not`` works."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "op" and token.text in _OPEN:
            close = _matching(tokens, index)
            inner = _emit_group(tokens[index + 1:close])
            closing = tokens[close].text if close < len(tokens) else ""
            out.append(f"{token.text}{inner}{closing}")
            index = close + 1
            continue
        out.append(token.text)
        index += 1
    return _join(out)


def _matching(tokens: list[_Tok], start: int) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.kind == "op" and token.text in _OPEN:
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _join(texts: list[str]) -> str:
    """Join tokens, spacing words apart but keeping paths (``a.b[0]``) tight."""
    result = ""
    for text in texts:
        if result and _wordish(result[-1]) and _wordish(text[0]):
            result += " "
        result += text
    return result


def _wordish(char: str) -> bool:
    return char.isalnum() or char in "_\"'`"
