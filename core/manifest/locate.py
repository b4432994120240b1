"""Name the step and field a path into the manifest points at."""

from __future__ import annotations

from typing import Any

_STEP_KEYS = ("run", "gate", "parallel", "map")


def is_step_path(path: tuple) -> bool:
    """True for the path of a step mapping: ``spec.steps[i]``, ``...parallel.steps[i]``, ``...map.step``."""
    if len(path) >= 2 and isinstance(path[-1], int) and path[-2] == "steps":
        return len(path) == 3 and path[0] == "spec" or len(path) > 3 and path[-3] == "parallel"
    return len(path) >= 2 and path[-1] == "step" and path[-2] == "map"


def step_context(data: Any, path: tuple) -> tuple[str | None, str | None]:
    """The innermost step around ``path`` (its id) and the field below it.

    The field is written relative to the step, without the ``run`` level
    (``when``, ``with.target``, ``gate.approval.id``, ``map.items``).
    """
    step_id: str | None = None
    step_depth = -1
    node = data
    for depth, segment in enumerate(path):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
        else:
            break
        if is_step_path(path[:depth + 1]) and isinstance(node, dict):
            raw_id = node.get("id")
            step_id = raw_id if isinstance(raw_id, str) else f"#{segment}"
            step_depth = depth
    if step_depth < 0:
        return None, None
    rest = list(path[step_depth + 1:])
    if rest and rest[0] == "run":
        rest = rest[1:]
    return step_id, format_field(rest) or None


def walk_raw_steps(path: tuple, step: Any):
    """(path, mapping) of a raw step and every step inside it, in document order."""
    if not isinstance(step, dict):
        return
    yield path, step
    parallel = step.get("parallel")
    children = parallel.get("steps") if isinstance(parallel, dict) else None
    for index, child in enumerate(children if isinstance(children, list) else []):
        yield from walk_raw_steps(path + ("parallel", "steps", index), child)
    map_spec = step.get("map")
    if isinstance(map_spec, dict) and "step" in map_spec:
        yield from walk_raw_steps(path + ("map", "step"), map_spec["step"])


def format_field(path) -> str:
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else str(segment)
    return text
