"""Read a YAML document safely, keeping where every key and value came from.

PyYAML's safe loader forgets line numbers and silently keeps the last of two
equal mapping keys.  We compose the node tree instead (libyaml when present)
and build plain Python values from it ourselves, so that:

* every value and every key has a ``(line, column)`` mark, addressed by its
  path from the root (``("spec", "steps", 0, "id")``) and found on demand;
* a duplicate mapping key is refused, naming both lines;
* only the standard YAML tags are accepted (``!!python/object`` and custom
  tags are refused, never constructed);
* nesting depth and alias/anchor expansion are bounded, so a "billion
  laughs" document is refused in milliseconds instead of eating memory.

A plain document (most packs) is first read straight from libyaml's events
(:mod:`core.manifest.yaml_events`), with no node tree; its tree is composed
only if a mark is asked for.  Every other document, and so every problem,
goes through the node tree as described above.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from core.errors import PackInvalid, Problem
from core.limits import MAX_ALIAS_EXPANSION, MAX_MANIFEST_BYTES, MAX_NUMBER_LENGTH, MAX_YAML_DEPTH
from core.manifest.yaml_events import (
    NOT_FINITE, _MAP, _MERGE, _NUMBER_TAGS, _SCALAR_TAGS, _SEQ, _STR, _TIMESTAMP, UNUSUAL, _constructor, _plain_tag, plain_read,
)
from core.regular_file import FileTooLarge, NotRegularFile, read_regular_file

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR = yaml.ScalarNode


class _Loader(_BaseLoader):  # type: ignore[valid-type, misc]
    """The safe loader with implicit tags remembered for short plain scalars.

    PyYAML resolves every plain scalar with a series of regular expressions;
    a pack repeats the same few (``id``, ``run``, ``uses``, ``with``) on every
    step, so remembering them halves composing an 80,000-step manifest.  With
    no path resolvers (none are registered on this loader) a plain scalar's tag
    depends on its text alone, and a quoted one is always a string, which is
    what PyYAML's own ``resolve`` gives them.
    """

    def resolve(self, kind, value, implicit):
        if kind is _SCALAR and not self.yaml_path_resolvers:
            return _plain_tag(value) if implicit[0] else _STR
        if kind is yaml.MappingNode and not self.yaml_path_resolvers:
            return self.DEFAULT_MAPPING_TAG
        if kind is yaml.SequenceNode and not self.yaml_path_resolvers:
            return self.DEFAULT_SEQUENCE_TAG
        return super().resolve(kind, value, implicit)


Path = tuple  # of str | int


class YamlSource:
    """A parsed YAML document: plain data, plus the node tree for marks.

    Marks are looked up on demand by walking the composed node tree along a
    path, so that a valid pack (the common case) pays nothing for them: a
    document read without a tree (``text`` given) composes it on first use.
    """

    def __init__(self, file: str, data: Any, root: yaml.Node | None = None, *, text: str | None = None):
        self.file = file
        self.data = data
        self._root = root
        self._text = text if root is None else None

    @property
    def root(self) -> yaml.Node | None:
        text = self._text  # read once: another thread may compose it at the same time
        if self._root is None and text is not None:
            # The same text gave a single plain document without a problem: composing it
            # again gives that document's tree (the one _parse_nodes would have kept).
            self._root = yaml.compose(text, Loader=_Loader)
            self._text = None
        return self._root

    def node_at(self, path: Path) -> tuple[yaml.Node | None, yaml.Node | None, int]:
        """(node, its key node if any, how many path segments were found)."""
        node, key_node, found = self.root, None, 0
        for segment in path:
            if isinstance(node, yaml.MappingNode):
                pair = _find_key(node, segment)
                if pair is None:
                    break
                key_node, node = pair
            elif isinstance(node, yaml.SequenceNode) and isinstance(segment, int) \
                    and 0 <= segment < len(node.value):
                key_node, node = None, node.value[segment]
            else:
                break
            found += 1
        return node, key_node, found

    def mark_of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of ``path``, or of its nearest ancestor that exists."""
        if self.root is None:
            return (1, 1)
        node, key_node, found = self.node_at(path)
        if key and key_node is not None and found == len(path):
            node = key_node
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(self, path: Path, message: str, *, key: bool = False,
                step: str | None = None, field: str | None = None) -> Problem:
        line, column = self.mark_of(path, key=key)
        return Problem(self.file, line, column, message, step=step, field=field)


def _find_key(node: yaml.MappingNode, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
    merged = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            merged.append(value_node)
        elif isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    for source in merged:  # explicit keys win over merged ones, as when building
        for candidate in (source.value if isinstance(source, yaml.SequenceNode) else [source]):
            if isinstance(candidate, yaml.MappingNode):
                pair = _find_key(candidate, key)
                if pair is not None:
                    return pair
    return None


def read_text(path: str, display_name: str | None = None) -> str:
    """Read a manifest file as UTF-8, refusing huge or undecodable files."""
    name = display_name or path
    try:
        raw = read_regular_file(path, MAX_MANIFEST_BYTES)
    except FileTooLarge:
        raise PackInvalid([_too_large(name)]) from None  # refused before a byte is read
    except NotRegularFile as error:
        raise PackInvalid([Problem(name, 0, 0, f"cannot read the file: {error}")]) from None
    except OSError as error:
        raise PackInvalid([Problem(name, 0, 0, f"cannot read the file: {error.strerror or error}")])
    return decode_text(raw, name)


def _too_large(name: str) -> Problem:
    limit = MAX_MANIFEST_BYTES // (1024 * 1024)
    return Problem(name, 0, 0, f"the file is larger than {limit} MiB; refusing to read it")


def decode_text(raw: bytes, name: str) -> str:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise PackInvalid([_too_large(name)])
    if b"\x00" in raw:
        line, column = _line_col(raw, raw.index(b"\x00"))
        raise PackInvalid([Problem(name, line, column, "the file contains a NUL byte; it is not a YAML text file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = _line_col(raw, error.start)
        raise PackInvalid([Problem(name, line, column, "the file is not valid UTF-8 text")])


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column


def parse_yaml(text: str, file: str) -> YamlSource:
    """Parse one YAML document into a :class:`YamlSource` or raise PackInvalid."""
    data = plain_read(text)
    if data is not UNUSUAL:
        return YamlSource(file, data, text=text)
    return _parse_nodes(text, file)


def _parse_nodes(text: str, file: str) -> YamlSource:
    """The node tree, then values from it: every problem found, with its mark."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = error.problem or error.context or "malformed YAML"
        if error.context and error.problem:
            detail = f"{error.problem} ({error.context})"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PackInvalid([Problem(file, line, column, f"the YAML is malformed: {detail}")])
    except yaml.YAMLError as error:
        raise PackInvalid([Problem(file, 0, 0, f"the YAML is malformed: {error}")])
    except RecursionError:
        raise PackInvalid([Problem(file, 0, 0, f"the YAML is nested too deeply (more than {MAX_YAML_DEPTH} levels)")])
    except UnicodeEncodeError as error:  # a lone surrogate ("\ud800" in a JSON string): no UTF-8 form
        before = text[:error.start]
        line, column = before.count("\n") + 1, error.start - (before.rfind("\n") + 1) + 1
        raise PackInvalid([Problem(file, line, column, "the text holds a lone UTF-16 surrogate "
                                   f"(U+{ord(text[error.start]):04X}); it is not valid Unicode")])
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise PackInvalid([Problem(file, 1, 1, "the file is empty; expected a Task Pack mapping")])
    if len(nodes) > 1:
        second = nodes[1].start_mark
        raise PackInvalid([Problem(file, second.line + 1, second.column + 1,
                                   "the file holds more than one YAML document; a pack is exactly one")])
    builder = _Builder(file)
    data = builder.build(nodes[0])
    if builder.problems:
        raise PackInvalid(builder.problems)
    return YamlSource(file, data, nodes[0])


class _AliasBomb(Exception):
    pass


class _Builder:
    """Plain values from nodes; aliases are followed under an expansion budget."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.alias_depth = 0
        self.expanded = 0

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1, message))

    def build(self, node: yaml.Node) -> Any:
        try:
            return self._build(node, 0)
        except _AliasBomb:
            self.problems = [Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1,
                                     "the YAML expands aliases/anchors to more than "
                                     f"{MAX_ALIAS_EXPANSION:,} extra values; refusing an expansion bomb")]
            return None

    def _build(self, node: yaml.Node, depth: int) -> Any:
        if self.alias_depth:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise _AliasBomb()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            return self._scalar(node)
        if depth >= MAX_YAML_DEPTH:
            self._problem(node, f"the YAML is nested too deeply (more than {MAX_YAML_DEPTH} levels)")
            return None
        alias = id(node) in self.seen
        if alias:
            self.alias_depth += 1
        else:
            self.seen.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    self._problem(node, f"unsupported YAML tag '{node.tag}'")
                    return None
                return [self._build(item, depth + 1) for item in node.value]
            if node.tag != _MAP:
                self._problem(node, f"unsupported YAML tag '{node.tag}'")
                return None
            return self._mapping(node, depth)
        finally:
            if alias:
                self.alias_depth -= 1

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # keep dates as the text written; JSON has no date type
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, f"unsupported YAML tag '{node.tag}'")
            return None
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_LENGTH:
            # Python refuses to read integers past 4,300 digits, and YAML's base-60 form
            # ("1:2:3:...") costs quadratic time in its length: refuse long numbers outright.
            self._problem(node, f"a number written with more than {MAX_NUMBER_LENGTH:,} characters; "
                                "quote it if it is meant as text")
            return None
        try:
            # The tag's constructor itself, not construct_object: that one remembers every node
            # it built in the (module-wide) constructor, so each read kept its numbers' and
            # booleans' nodes and marks alive for good (800 nodes per read of the 10k-step pack).
            value = _constructor.yaml_constructors[node.tag](_constructor, node)
        except (ValueError, OverflowError, yaml.YAMLError) as error:
            self._problem(node, f"cannot read the value '{node.value[:40]}': {error}")
            return None
        if value.__class__ is float and not math.isfinite(value):
            # Previews, plan hashes and journals are JSON, which has no such number: refused here,
            # where the mark is, not as an error writing the preview (or a silent null).
            self._problem(node, f"'{node.value[:40]}' is {NOT_FINITE}; quote it if it is meant as text")
            return None
        return value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict:
        result: dict = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        plain = not self.alias_depth  # _build restores it before returning: true for the whole loop
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node))
                continue
            if key_node.__class__ is not _SCALAR and not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "a mapping key must be a plain scalar, not a collection")
                continue
            key = key_node.value
            if key in result:
                first = next(k for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == key)
                self._problem(key_node, f"duplicate key '{key}' (first at line {first.start_mark.line + 1})")
                continue
            if plain and value_node.__class__ is _SCALAR and value_node.tag == _STR:
                result[key] = value_node.value  # what _build gives a string, without the call
            else:
                result[key] = self._build(value_node, depth + 1)
        for key_node, value_node in merged:  # merge keys never override explicit ones
            if isinstance(key_node, yaml.ScalarNode) and key_node.value not in result:
                result[key_node.value] = self._build(value_node, depth + 1)
        return result

    def _merge_sources(self, node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._problem(source, "a merge key (<<) must name a mapping")
                continue
            pairs.extend(source.value)
        return pairs
