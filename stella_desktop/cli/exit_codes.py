"""Exit codes of every ``stella`` command (fixed: scripts depend on them)."""

OK = 0
RUN_FAILED = 1
USAGE = 2
INVALID = 3
WAITING_FOR_GATE = 4
RUN_STORE = 5
INTERNAL = 70

HELP = """exit codes:
  0   success
  1   a run failed; for diff: the two sides differ
  2   usage error (bad arguments, a missing --manifest or --inputs file, unwritable --output)
  3   invalid manifest or inputs (every problem is listed as FILE:LINE:COL: ...)
  4   a run is waiting for a gate decision (approval or policy)
  5   run-store problem
  70  internal error (a short message; the traceback only with --debug)
  130 a run was cancelled (Ctrl+C); it stays resumable"""
