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

MAX_FORECAST_ATTEMPTS = 200_000
"""Attempts a forecast may play, or three per step for bigger plans (``maxAttempts`` is unbounded)."""
