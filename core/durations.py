"""ISO-8601 durations (``PT4H``, ``P1DT30M``, ``P2W``) as seconds.

Years and months are refused: they have no fixed length, and an approval
that expires "in a month" must mean the same on every machine.
"""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration; ValueError with a readable reason otherwise."""
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        if re.fullmatch(r"P(\d+Y)?(\d+M)?.*", text) and re.search(r"^P[^T]*[YM]", text):
            raise ValueError(f"'{text}' uses years or months, which have no fixed length; use weeks, days or hours")
        raise ValueError(f"'{text}' is not an ISO-8601 duration such as PT4H or P1DT12H")
    return sum(float(value) * _SECONDS[unit] for unit, value in match.groupdict().items() if value)
