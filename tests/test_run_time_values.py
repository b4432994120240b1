"""Values filled in at run time obey the plan's limits (found by the attack review of 2026-12-06).

Each template alone is bounded (1,000,000 elements, 10 MiB, 500,000 units of work), but a step
may read a large output many times: a 1.6 KB pack whose second step read a 4.4 MB output in 60
parameters wrote 1 GB to the store (journal 268 MB, snapshot 752 MB) with a 1.5 GB peak, and 600
would have written 10 GB.  Now one step's parameters are at most 1,000,000 elements and 10 MiB as
written out, and a drive's run-time parameters at most 64 MiB together; past either the step fails
with a message.
"""

from core.execution.backends.threads import ThreadsBackend
from core.execution.driver import Driver
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.store import RunStore

BIG = "'" + "abcdefghijklmnopqrstuvwxyz0123456789" * 2 + "'" + " | [@, @]" * 15  # 32,768 x 72 chars: 2.5 MB
HEADER = f"""apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {{name: amplified, version: 1.0.0}}
spec:
  steps:
    - {{id: first, run: {{uses: builtin:echo, with: {{big: "{{{{ {BIG} }}}}"}}}}}}
"""


def run(tmp_path, manifest: str):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "pack.yaml").write_text(manifest)
    registry = ExecutorRegistry.default(plugins=False)
    active = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    status = Driver(active, ThreadsBackend(registry, 2), registry).drive()
    states = {step_id: (state.status, state.reason) for step_id, state in active.scheduler.states.items()}
    active.close()
    size = sum(path.stat().st_size for path in (tmp_path / "store").rglob("*") if path.is_file())
    return status, states, size


def test_a_step_reading_a_large_output_many_times_fails_instead_of_filling_the_store(tmp_path):
    keys = "".join(f"\n          k{i}: \"{{{{ steps.first.outputs.big }}}}\"" for i in range(60))
    status, states, size = run(tmp_path, HEADER + f"    - id: second\n      run:\n        uses: builtin:echo\n"
                                                   f"        with:{keys}\n")
    assert status == "failed"
    assert states["first"][0] == "succeeded"
    assert states["second"][0] == "failed" and "larger than 1,000,000 elements or 10 MiB" in states["second"][1]
    assert size < 20 * 1024 * 1024  # the first output, twice (journal and snapshot); was 1 GB


def test_many_steps_reading_a_large_output_share_the_runs_budget(tmp_path):
    mapped = """    - id: fan
      map:
        items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28]
        step: {id: copy, run: {uses: builtin:echo, with: {n: "{{ item }}", v: "{{ steps.first.outputs.big }}"}}}
"""
    status, states, size = run(tmp_path, HEADER + mapped)
    assert status == "failed"
    failed = [reason for status_, reason in states.values() if status_ == "failed" and reason
              and "together pass 64 MiB" in reason]
    assert len(failed) == 1
    succeeded = [step_id for step_id, (status_, _) in states.items() if step_id.startswith("fan[") and status_ == "succeeded"]
    assert 20 <= len(succeeded) < 28  # 2.5 MB each: the 26th or so passes 64 MiB
    assert size < 400 * 1024 * 1024


def test_a_normal_run_time_value_is_untouched(tmp_path):
    status, states, _ = run(tmp_path, HEADER.replace(BIG, "'small'") + """    - id: second
      run: {uses: builtin:echo, with: {a: "{{ steps.first.outputs.big }}", b: "{{ steps.first.outputs.big }}"}}
""")
    assert status == "succeeded", states


def nesting_pack(steps: int, stages: int = 100) -> str:
    """Each step nests the one before's output ``stages`` levels deeper (an expression alone nests a
    few hundred levels at most; a chain of steps nested without end)."""
    nest = " | [@]" * stages
    lines = [f"    - {{id: s0, run: {{uses: builtin:echo, with: {{v: \"{{{{ 'x'{nest} }}}}\"}}}}}}"]
    lines += [f"    - {{id: s{i}, run: {{uses: builtin:echo, with: {{v: \"{{{{ steps.s{i - 1}.outputs.v{nest} }}}}\"}}}}}}"
              for i in range(1, steps)]
    return HEADER.split("  steps:")[0] + "  steps:\n" + "\n".join(lines) + "\n"


def test_values_nested_deeper_at_each_step_fail_their_step_instead_of_crashing_the_run(tmp_path):
    # before: the 10th step's record was ~1,000 levels deep and no JSON writer could write it
    # (RecursionError out of the driver: the CLI's exit 70, the run left 'running')
    status, states, _ = run(tmp_path, nesting_pack(12))
    assert status == "failed"
    assert states["s0"][0] == "succeeded"
    assert states["s1"][0] == "failed" and "nested more than 128 levels" in states["s1"][1]


def test_outputs_and_run_time_items_nested_too_deep_fail_their_step(tmp_path):
    deep = " | [@]" * 140
    status, states, _ = run(tmp_path / "outputs", HEADER.split("  steps:")[0] + f"""  steps:
    - {{id: s0, run: {{uses: builtin:echo, with: {{v: "{{{{ 'x'{deep} }}}}"}}}}}}
""")
    assert status == "failed" and "outputs are nested more than 128 levels" in states["s0"][1]
    status, states, _ = run(tmp_path / "items", HEADER.split("  steps:")[0] + f"""  steps:
    - {{id: s0, run: {{uses: builtin:echo, with: {{v: "{{{{ 'x' | [@] }}}}"}}}}}}
    - id: fan
      map: {{items: "{{{{ steps.s0.outputs.v{deep} }}}}", step: {{id: c, run: {{uses: builtin:noop}}}}}}
""")
    assert status == "failed" and "items are nested more than 128 levels" in states["fan"][1]
