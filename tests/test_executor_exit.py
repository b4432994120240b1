"""An executor that calls ``sys.exit()`` (a plug-in wrapping a command-line tool: argparse exits with 2 on
bad arguments) fails its step like any other error; it never escapes the attempt.

Before: ``execute_attempt`` caught ``Exception`` only.  On the threads backend the SystemExit stayed in the
pool's future, no completion came and the run waited forever with its step ``running``; on the Dask runners
it went up the worker's event loop and ended the worker process, the attempt came back "its worker was
lost" without using up an attempt, and the next worker took it and ended too (measured: both workers of a
LocalCluster gone, the run still running after 25 s)."""

from backend_harness import drive_in_thread
from core.execution.attempt import StepAttempt, execute_attempt
from core.execution.executors import ExecutorRegistry
from core.execution.run import ActiveRun
from core.execution.store import RunStore


def exits(context):
    raise SystemExit(2)


def test_an_executor_calling_sys_exit_fails_its_attempt():
    attempt = StepAttempt("run-1", "tool", 1, "test:exit", {}, "/tmp")
    completion = execute_attempt(exits, attempt)
    assert (completion.error, completion.interrupted, completion.outputs) == ("SystemExit: 2", None, None)


def test_a_run_whose_executor_calls_sys_exit_fails_instead_of_waiting_forever(tmp_path, qtbot):
    registry = ExecutorRegistry.default(plugins=False)
    registry.executors["test:exit"] = exits
    (tmp_path / "pack.yaml").write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\n"
                                        "metadata: {name: exits, version: 1.0.0}\nspec:\n"
                                        "  failure: {retries: {maxAttempts: 2, backoffSeconds: 0}}\n"
                                        "  steps:\n    - {id: tool, run: {uses: 'test:exit'}}\n")
    run = ActiveRun.create(RunStore(tmp_path / "store"), tmp_path / "pack.yaml", registry=registry)
    status = [drive_in_thread(run, registry, qtbot)]
    assert status == ["failed"]
    assert "SystemExit: 2" in run.scheduler.states["tool"].reason
    run.close()
