"""Nothing a pack, a run or a store holds can drive the user's terminal.

A manifest can hold ``ESC [ 2 J`` (clear the screen), an OSC 8 hyperlink, a
carriage return that overwrites a line, or a right-to-left override that makes
text read backwards.  The CLI shows such characters as visible escapes:

* ``\\n``, ``\\t``, ``\\r`` and ``\\xNN`` for the C0 controls (in table cells
  also newline and tab, so a value cannot fake a row);
* ``\\uXXXX`` for DEL, the C1 controls (``U+009B`` is a one-character CSI on
  some terminals) and the bidirectional formatting characters.  JSON output
  has no raw C0 characters, and ``\\uXXXX`` inside a JSON string is the same
  character, so ``--format json`` stays valid and means the same.

:func:`protected` wraps ``sys.stdout`` and ``sys.stderr`` for a whole command,
so every message, error and argparse complaint is escaped.  The tables escape
their cells and then add their own colours: they write through :func:`raw`.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_IN_STREAM = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
_IN_CELL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}]")


def _visible(match: re.Match) -> str:
    character = match.group()
    code = ord(character)
    if character in _NAMED:
        return _NAMED[character]
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


_ASCII_CONTROLS = bytes(range(0x0a)) + bytes(range(0x0b, 0x20)) + b"\x7f"


def _clean_ascii(text: str) -> bytes | None:
    """``text`` encoded, when it is ASCII without control characters (bytes.translate: fast in C)."""
    if text.isascii():
        data = text.encode("ascii")
        if len(data.translate(None, _ASCII_CONTROLS)) == len(data):
            return data
    return None


def escape(text: str) -> str:
    """``text`` with every control character visible; newlines kept (for messages and documents)."""
    if _clean_ascii(text) is not None:
        return text
    return _IN_STREAM.sub(_visible, text)


def cell(value) -> str:
    """One table cell: every control character visible, newlines and tabs too."""
    return _IN_CELL.sub(_visible, str(value))


class EscapingStream:
    """A text stream that escapes control characters on their way to ``raw``."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(escape(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):  # flush, isatty, fileno, encoding, ...
        return getattr(self.raw, name)


def write_json(text: str) -> None:
    """Print a JSON document (from core.json_text) on stdout, escaped as everything else.

    JSON text never holds a raw C0 control (the encoder writes ``\\u001b``), so an ASCII document
    without DEL has nothing to escape: that check is O(1) plus one fast scan, where the general
    one costs about half a second on a 50 MB preview.
    """
    if text.isascii() and "\x7f" not in text:
        raw(sys.stdout).write(text)
    else:
        sys.stdout.write(text)


def raw(stream):
    """The stream under an :class:`EscapingStream`: for output whose cells are already escaped."""
    return stream.raw if isinstance(stream, EscapingStream) else stream


@contextmanager
def protected():
    """``sys.stdout`` and ``sys.stderr`` escape control characters until the block ends."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(raw(sys.stdout)), EscapingStream(raw(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
