"""Stella Desktop: see what a Task Pack will do, then run it safely.

This package holds the Qt application and the ``stella`` command line.
Importing it imports no Qt: the CLI's ``simulate`` must start fast and work
without a display, so Qt is imported only by the modules that need it.
"""

__version__ = "0.1.0"
