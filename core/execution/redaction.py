"""Secret values out of everything a run records or prints.

A :class:`Redactor` knows a run's secret values and every form in which one
may turn up in text: as written, JSON-escaped (``"a\\"b"``), URL-encoded
(``%2F`` and ``+`` forms, either hex case) and base64 (standard and URL-safe,
with or without padding, and the part of it that is the same wherever the
secret sits inside a longer base64 text, as in ``user:token`` basic auth).

Redaction marks every byte covered by any occurrence of any form, then
replaces each marked stretch by ``***``.  The order in which secrets were
declared therefore does not matter, and neither does overlap: with secrets
``admin`` and ``admin-Tr0ub4dor&3`` no part of the longer one survives.

The scheduler passes every record through :meth:`Redactor.redact` before it
is stored, applied or shown, so a message built from a value (an expression
error quoting the secret it could not compare) is covered as much as an
executor's output.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_EMBEDDED_BASE64 = 8
"""The shortest base64 core matched inside longer base64 text (shorter ones would hit by chance)."""


def secret_forms(secret: str) -> set[str]:
    """Every text form of ``secret`` that redaction removes (the secret itself included)."""
    if not secret:
        return set()
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             # Python's own quoting, as in a message that shows a list or dict holding the secret
             # ("invalid type for value: ['it\\'s\\x01']"): repr escapes quotes and controls its own way
             repr(secret)[1:-1], ascii(secret)[1:-1]}
    try:  # a value from a non-UTF-8 environment (lone surrogates) must not crash redaction
        raw = secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = secret.encode("utf-8", "surrogatepass")
    for encoded in (quote(raw, safe=""), quote(raw), quote_plus(raw)):
        forms.add(encoded)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    data = raw
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        forms.update((whole, whole.rstrip("=")))
        for width in (64, 76):  # as `openssl base64` (PEM) and `base64` / MIME wrap a long secret's lines
            if len(whole) > width:
                lines = [whole[i:i + width] for i in range(0, len(whole), width)]
                forms.update(("\n".join(lines), "\r\n".join(lines)))
        for offset in (1, 2):  # the secret after 1 or 2 other bytes of a longer base64 text
            core = _aligned_core(encode(b"\0" * offset + data).decode("ascii"), offset, len(data))
            if len(core) >= MIN_EMBEDDED_BASE64:
                forms.add(core)
        core = _aligned_core(whole, 0, len(data))  # and before other bytes
        if len(core) >= MIN_EMBEDDED_BASE64:
            forms.add(core)
    return {form for form in forms if form}


def _aligned_core(encoded: str, offset: int, length: int) -> str:
    """The base64 characters that depend only on the secret's bytes (``offset`` bytes in)."""
    first = -(-8 * offset // 6)  # the first character starting at or after the secret's first bit
    last = (8 * (offset + length)) // 6  # characters before this one end inside the secret
    return encoded[first:last]


class Redactor:
    """Replace every form of every secret value with ``***`` in JSON-ready data."""

    def __init__(self, secrets: Iterable[str] | dict[str, str] = ()):
        values = secrets.items() if isinstance(secrets, dict) else ((None, value) for value in secrets)
        self._names: dict[str, str | None] = {}
        for name, value in values:
            if isinstance(value, str) and value:
                for form in secret_forms(value):
                    self._names.setdefault(form, name)
        forms = sorted(self._names, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def find(self, text: str) -> str | None:
        """The form of a secret found in ``text`` (None when there is none)."""
        if self._pattern is None or not isinstance(text, str):
            return None
        match = self._pattern.search(text)
        return match.group(0) if match else None

    def secret_name(self, form: str) -> str | None:
        return self._names.get(form)

    def redact_text(self, text: str) -> str:
        if self._pattern is None or not self._pattern.search(text):
            return text
        covered = bytearray(len(text))
        for form in self._names:  # every occurrence of every form, overlapping ones too
            start = text.find(form)
            while start != -1:
                covered[start:start + len(form)] = b"\1" * len(form)
                start = text.find(form, start + 1)
        pieces, position = [], 0
        for match in re.finditer(rb"\x01+", bytes(covered)):
            pieces += [text[position:match.start()], MASK]
            position = match.end()
        pieces.append(text[position:])
        return "".join(pieces)

    def redact(self, value: Any) -> Any:
        """``value`` with secrets masked in every string and key; the same object if none was found."""
        if self._pattern is None or not self._holds_secret(value):
            return value
        return self._rebuild(value)

    def _holds_secret(self, value: Any) -> bool:
        search = self._pattern.search
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if search(item):
                    return True
            elif isinstance(item, dict):
                for key, inner in item.items():
                    if isinstance(key, str) and search(key):
                        return True
                    if not isinstance(inner, (int, float, type(None))):
                        stack.append(inner)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
        return False

    def _rebuild(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {self.redact_text(key) if isinstance(key, str) else key: self._rebuild(item)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self._rebuild(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self._rebuild(item) for item in value)
        return value

    def contains(self, value: Any) -> str | None:
        """The first form of a secret anywhere in ``value`` (strings and keys), or None."""
        if self._pattern is None:
            return None
        if isinstance(value, str):
            return self.find(value)
        if isinstance(value, dict):
            for key, item in value.items():
                found = self.find(key) if isinstance(key, str) else None
                found = found or self.contains(item)
                if found:
                    return found
        elif isinstance(value, (list, tuple)):
            for item in value:
                found = self.contains(item)
                if found:
                    return found
        return None
