"""Hostile manifests, each as bytes, with the message its refusal must carry."""

from __future__ import annotations


def alias_bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghijkl":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def deep_nesting(levels: int = 200) -> bytes:
    return ("spec: " + "[" * levels + "]" * levels + "\n").encode()


def huge_file(megabytes: int = 50) -> bytes:
    line = b"# " + b"x" * 1021 + b"\n"
    return line * (megabytes * 1024)


def binary_garbage() -> bytes:
    return bytes(range(256)) * 64


def non_utf8() -> bytes:
    return "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: caf\xe9}\n".encode("latin-1")


def python_tag() -> bytes:
    return b"apiVersion: !!python/object/apply:os.system ['echo pwned']\nkind: TaskPack\n"


def duplicate_keys() -> bytes:
    return b"apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nkind: Other\n"


CASES = {
    "alias/anchor expansion bomb": (alias_bomb, "expansion bomb"),
    "200-level nesting": (deep_nesting, "nested too deeply"),
    "50 MB file": (huge_file, "larger than 10 MiB"),
    "binary garbage": (binary_garbage, "NUL byte"),
    "non-UTF-8 bytes": (non_utf8, "not valid UTF-8"),
    "!!python/object tag": (python_tag, "unsupported YAML tag"),
    "duplicate mapping keys": (duplicate_keys, "duplicate key 'kind' (first at line 2)"),
}
