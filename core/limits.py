"""Documented limits that keep hostile or runaway packs from exhausting the machine."""

MAX_MANIFEST_BYTES = 10 * 1024 * 1024
"""A manifest larger than this is refused before it is parsed."""

MAX_YAML_DEPTH = 64
"""Deepest nesting of YAML collections accepted (a real pack needs about 12)."""

MAX_ALIAS_EXPANSION = 100_000
"""Values that alias/anchor expansion may add beyond those written in the file."""

MAX_PLANNED_STEPS = 100_000
"""Steps in a plan after map expansion; a map that would exceed it is refused."""

MAX_EXPRESSION_LENGTH = 4_096
"""Characters in one ``{{ ... }}`` expression."""

MAX_EXPRESSION_DEPTH = 50
"""Brackets nested inside one another in an expression."""

MAX_EXPRESSION_VALUE_NODES = 1_000_000
"""Elements (counted as if written out: a value shared twice counts twice) of any value an
expression makes, walks or gives."""

MAX_EXPRESSION_VALUE_BYTES = 10 * 1024 * 1024
"""JSON size of any value an expression makes, walks or gives."""

MAX_EXPRESSION_WORK = 500_000
"""Units of work of one evaluation: AST nodes visited, elements built, nodes walked, 64-byte
blocks of text walked (see :mod:`core.expressions.metered`)."""

MAX_PLAN_EXPRESSION_WORK = 20_000_000
"""Units of work of all the expressions one plan evaluates together."""

MAX_PLAN_VALUE_BYTES = 64 * 1024 * 1024
"""JSON size of all the parameters, messages and items of one plan together (what a preview
writes out), so that a pack at the step limit still previews in bounded memory."""

MAX_NUMBER_LENGTH = 4_300
"""Characters of a number in a manifest (Python's own limit for reading an integer; it also
bounds YAML's base-60 integers, whose reading time grows with the square of their length)."""

MAX_VALUE_DEPTH = 64
"""Deepest nesting of an input value (as for YAML; deeper values would reach recursion
limits in schema validation and JSON writers)."""

MAX_RUN_VALUE_DEPTH = 128
"""Deepest nesting of a value a run records or fills in (a step's outputs, parameters resolved at
run time, a map's items known at run time).  Each expression nests a value by at most a few
hundred levels, but steps can nest one another's outputs: past about 1,000 levels no JSON
writer or reader of Python can handle the record (RecursionError, exit 70, found by the attack
review of 2026-12-06); 128 keeps every record on the fast JSON writer (orjson: 255)."""

MAX_FORECAST_ATTEMPTS = 200_000
"""Attempts a forecast may play, or three per step for bigger plans (``maxAttempts`` is unbounded)."""
