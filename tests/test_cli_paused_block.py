"""`runs show` of a run paused at a gate inside a parallel block: the block is shown waiting, not running."""

from test_app_gate_flows import GATED_BLOCK
from test_cli_run import only_run, stella, store, write  # noqa: F401  (fixture)


def test_a_block_whose_gate_waits_is_listed_waiting_until_the_run_resumes(store, tmp_path):
    pack = write(tmp_path, GATED_BLOCK)
    paused = stella("run", "--manifest", str(pack), store=store)
    assert paused.returncode == 4, paused.stderr
    run_id = only_run(store)
    shown = stella("runs", "show", run_id, store=store).stdout
    rows = {line.split()[0]: line.split()[2] for line in shown.splitlines()[3:] if line.strip()
            and not line.startswith(("5 steps", "waiting"))}
    assert rows["checks"] == "waiting" and rows["signoff"] == "pending" and "running" not in rows.values()
    assert "paused: a gate inside waits for a decision" in shown
    assert "5 steps: 2 pending, 2 succeeded, 1 waiting" in shown
    assert stella("approve", run_id, "sign", "--by", "tester", store=store).returncode == 0
    assert stella("resume", run_id, store=store).returncode == 0
    assert "5 steps: 5 succeeded" in stella("runs", "show", run_id, store=store).stdout
