"""Every action's enabled state is one function of the session's state: the whole table."""

import pytest

from stella_desktop.action_state import STATEFUL, action_states
from stella_desktop.session_state import Mode, SessionState

NO_PACK = SessionState(Mode.EMPTY, False, "Open a pack first.")
PREVIEW = SessionState(Mode.SIMULATION, True, "", has_preview=True)
BAD_INPUTS = SessionState(Mode.SIMULATION, False, "Fix the inputs first: regions: not valid JSON", has_preview=True)
BAD_PACK = SessionState(Mode.SIMULATION, False, "The pack has problems; fix them first (see Problems).")
RUNNING = SessionState(Mode.RUNNING, True, "", has_run=True, has_preview=True)
AT_APPROVAL = SessionState(Mode.WAITING, True, "", frozenset({"approval"}), True, True)
AT_POLICY = SessionState(Mode.WAITING, True, "", frozenset({"policy"}), True, True)
FINISHED = SessionState(Mode.FINISHED, True, "", has_run=True, has_preview=True)
CONNECTING = SessionState(Mode.SIMULATION, False, "Connecting to the Dask scheduler (Cancel Run gives up).",
                          has_preview=True, connecting=True)

COLUMNS = ("reload", "simulate", "new-simulation", "run", "cancel", "approve", "reject", "allow", "deny",
           "export-preview", "export-graph", "compare", "clear-comparison", "export-report")
TABLE = {
    #              reload simulate new-sim run  cancel approve reject allow deny  export-p export-g compare clear report
    "no pack":     (0,     0,       0,      0,    0,     0,      0,     0,    0,    0,       0,       0,      0,       0),
    "preview":     (1,     1,       0,      1,    0,     0,      0,     0,    0,    1,       1,       1,      1,       0),
    "bad inputs":  (1,     1,       0,      0,    0,     0,      0,     0,    0,    1,       1,       0,      1,       0),
    "bad pack":    (1,     1,       0,      0,    0,     0,      0,     0,    0,    0,       1,       0,      1,       0),
    "running":     (0,     0,       0,      0,    1,     0,      0,     0,    0,    1,       1,       0,      0,       1),
    "at approval": (0,     0,       1,      0,    1,     1,      1,     0,    0,    1,       1,       0,      0,       1),
    "at policy":   (0,     0,       1,      0,    1,     0,      0,     1,    1,    1,       1,       0,      0,       1),
    "finished":    (1,     1,       1,      0,    0,     0,      0,     0,    0,    1,       1,       0,      0,       1),
    "connecting":  (1,     1,       0,      0,    1,     0,      0,     0,    0,    1,       1,       0,      1,       0),
}
STATES = {"no pack": NO_PACK, "preview": PREVIEW, "bad inputs": BAD_INPUTS, "bad pack": BAD_PACK,
          "running": RUNNING, "at approval": AT_APPROVAL, "at policy": AT_POLICY, "finished": FINISHED,
          "connecting": CONNECTING}


@pytest.mark.parametrize("name", list(TABLE))
def test_the_enabled_table(name):
    states = action_states(STATES[name])
    assert set(states) == set(STATEFUL) == set(COLUMNS)
    assert {action: states[action][0] for action in COLUMNS} == dict(zip(COLUMNS, map(bool, TABLE[name])))


@pytest.mark.parametrize("name", list(TABLE))
def test_every_disabled_action_says_why(name):
    for action, (enabled, why) in action_states(STATES[name]).items():
        assert enabled or why, (name, action)


def test_run_disabled_by_bad_inputs_gives_the_inputs_reason():
    assert action_states(BAD_INPUTS)["run"] == (False, "Fix the inputs first: regions: not valid JSON")
