"""Problems found in a pack or its inputs, each with the place it points at.

Every refusal the core makes is a list of :class:`Problem` (all of them at
once, never only the first) wrapped in :class:`PackInvalid`.  A problem
renders as ``pack.yaml:LINE:COL: step 'fan', field 'when': message``, the
form compilers use, so editors and terminals can jump to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a pack or its inputs.

    ``line`` and ``column`` are 1-based; 0 means the whole file.
    """

    file: str
    line: int
    column: int
    message: str
    step: str | None = None
    field: str | None = None

    def context(self) -> str:
        parts = []
        if self.step is not None:
            parts.append(f"step '{self.step}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        context = self.context()
        body = f"{context}: {self.message}" if context else self.message
        return f"{self.location()}: {body}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "step": self.step,
            "field": self.field,
            "message": self.message,
        }


class PackInvalid(Exception):
    """A pack (or its inputs) was refused; ``problems`` says everything wrong."""

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("PackInvalid needs at least one problem")
        # duplicates dropped keeping the first (not a set: ties on location and message, such as a
        # map's children refused for one reason, kept a set's order, another in each process)
        self.problems = sorted(dict.fromkeys(problems), key=_reading_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _reading_order(problem: Problem) -> tuple:
    return (problem.file, problem.line, problem.column, problem.message)
