"""The Timeline: a Gantt chart of a forecast or a run (one row per step, attempts as bars).

Modules, one per item kind: ``bar_item`` (an attempt, or a forecast's ghost
of one), ``wait_item`` (the hatched wait between two attempts),
``axis_item`` (the time axis in s/min/h), ``scene`` (rows laid out from
plain :class:`core.forecast.spans.TimelineRow` data, pushed in with
:meth:`TimelineScene.set_rows`), ``view`` (zoom, pan, clicks reported as
step ids) and ``export`` (PNG/SVG).
"""

from stella_desktop.timeline.export import export_timeline_image
from stella_desktop.timeline.scene import TimelineScene
from stella_desktop.timeline.view import TimelineView

__all__ = ["TimelineScene", "TimelineView", "export_timeline_image"]
