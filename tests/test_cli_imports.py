"""``stella task-runner simulate`` imports only what it uses (it must start fast).

networkx (the execution graph) is for running and drawing, jsonschema only to word the problems
of a schema'd input (jsonschema_rs tells that there are none: ``core.schema_fast``), and nothing of the run machinery or Qt is needed to preview a pack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import FLAKY_PACK, REPO, SBOM_PACK

NEVER_FOR_SIMULATE = ("PySide6", "shiboken6", "networkx", "core.execution", "core.graph", "core.layout",
                      "stella_desktop.runner", "stella_desktop.cli.runs", "fastapi", "uvicorn", "platformdirs")


def imported_by(*args: str, code: int = 0) -> set[str]:
    probe = ("import json, sys\n"
             "from stella_desktop.cli import main\n"
             f"code = main({list(args)!r})\n"
             "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
             "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == code, result.stderr
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def loaded(modules: set[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


def test_simulate_of_the_sample_imports_only_what_it_uses():
    modules = imported_by("task-runner", "simulate", "--manifest", str(SBOM_PACK),
                          "--inputs", str(SBOM_PACK.parent / "inputs.json"), "--format", "json")
    assert [name for name in NEVER_FOR_SIMULATE if loaded(modules, name)] == []
    # the sample's sbomBundle input has a schema, which its inputs meet: jsonschema_rs says so
    assert loaded(modules, "jsonschema_rs") and not loaded(modules, "jsonschema")


def test_simulate_imports_jsonschema_to_word_a_schema_problem(tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"sbomBundle": {"metadata": {"image": ""}}}))
    modules = imported_by("task-runner", "simulate", "--manifest", str(SBOM_PACK), "--inputs", str(inputs),
                          "--format", "json", code=3)
    assert loaded(modules, "jsonschema")


def test_simulate_of_a_pack_without_schemas_never_imports_jsonschema():
    modules = imported_by("task-runner", "simulate", "--manifest", str(FLAKY_PACK), "--format", "json")
    assert [name for name in NEVER_FOR_SIMULATE + ("jsonschema",) if loaded(modules, name)] == []


RUN_MACHINERY = ("core.execution.run", "core.execution.driver", "core.execution.attempt", "core.execution.executors",
                 "core.execution.backends", "core.execution.host", "core.execution.snapshot", "stella_desktop.runner",
                 "networkx")


def test_the_app_launch_imports_no_run_machinery_and_no_networkx():
    """The window, its sample graph and the preview's forecast need none of it (they read the store's history).

    The launch pauses the garbage collector; once the window is up it collects again, the start's objects frozen
    (counted when frozen: closing the window unfreezes what it kept).
    """
    probe = ("import gc, json, sys\n"
             "frozen, freeze = [0], gc.freeze\n"
             "gc.freeze = lambda: (freeze(), frozen.append(gc.get_freeze_count()))\n"
             "from stella_desktop.app import main\n"
             "code = main(['--self-test'])\n"
             "print(gc.isenabled(), max(frozen) > 10_000)\n"
             "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
             "sys.exit(code)\n")
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=REPO,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert "self-test passed" in result.stdout and result.stdout.splitlines()[-1] == "True True"
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert loaded(modules, "core.layout") and loaded(modules, "core.execution.store")  # the probe sees imports
    assert [name for name in RUN_MACHINERY if loaded(modules, name)] == []
    # the sample's inputs meet its schema (jsonschema_rs says so); pydantic's plugins are off while the models
    # are built: neither jsonschema (~40 ms) nor importlib.metadata (~12 ms) is imported
    assert loaded(modules, "jsonschema_rs") and not loaded(modules, "jsonschema")
    assert not loaded(modules, "importlib.metadata")


def test_a_command_run_in_process_leaves_the_garbage_collector_as_it_was():
    """Only the ``stella`` process itself freezes what a command's imports built (``whole_process``)."""
    probe = ("import gc, sys\n"
             "from stella_desktop.cli import main\n"
             f"main(['task-runner', 'simulate', '--manifest', {str(FLAKY_PACK)!r}, '--format', 'json'])\n"
             "first = (gc.isenabled(), gc.get_freeze_count())\n"
             f"main(['task-runner', 'simulate', '--manifest', {str(FLAKY_PACK)!r}, '--format', 'json'],"
             " whole_process=True)\n"
             "print(first, gc.isenabled(), gc.get_freeze_count() > 10_000, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stderr.strip().splitlines()[-1] == "(True, 0) True True", result.stderr


def test_simulate_builds_the_models_without_scanning_for_pydantic_plugins():
    """We use no pydantic plugins: the scan of every distribution's entry points is skipped, and the
    environment the command leaves (which run steps inherit) is the one it was given."""
    probe = ("import os, sys\n"
             "from stella_desktop.cli import main\n"
             f"code = main(['task-runner', 'simulate', '--manifest', {str(SBOM_PACK)!r}, '--format', 'json',\n"
             f"             '--inputs', {str(SBOM_PACK.parent / 'inputs.json')!r}])\n"
             "from pydantic.plugin import _loader\n"
             "print(code, _loader._plugins, 'PYDANTIC_DISABLE_PLUGINS' in os.environ, file=sys.stderr)\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO,
                            env=environment)
    assert result.stderr.strip().splitlines()[-1] == "0 None False", result.stderr


def test_the_plugin_loader_stand_in_answers_no_plugins_and_reads_other_names_from_the_real_loader():
    probe = ("import sys\n"
             "from stella_desktop.startup import LOADER, without_pydantic_plugins\n"
             "with without_pydantic_plugins():\n"
             "    import core.manifest\n"
             "    built = 'importlib.metadata' in sys.modules\n"
             "    from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP, get_plugins\n"
             "    inside = (built, get_plugins(), PYDANTIC_ENTRY_POINT_GROUP)\n"
             "print(inside, LOADER in sys.modules, file=sys.stderr)\n"
             "from pydantic.plugin import _loader\n"
             "print(hasattr(_loader, '_plugins'), file=sys.stderr)\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO,
                            env=environment)
    # the models were built without importlib.metadata; the stand-in read the group name from the real loader
    # (which imports importlib.metadata) and is gone afterwards: the real loader is imported
    assert result.stderr.strip().splitlines()[-2:] == ["(False, (), 'pydantic') False", "True"], result.stderr


def test_the_stella_process_freezes_what_its_imports_built_before_the_collector_runs_again():
    """No collection runs while a command's module is imported and frozen: the first allocation
    after the pause would otherwise start a generation-0 pass over every object the imports
    built (about 100,000; 14 ms of a cold ``simulate``)."""
    probe = ("import gc, sys\n"
             "from stella_desktop import cli\n"
             "passes = []\n"
             "gc.callbacks.append(lambda phase, info: phase == 'start' and passes.append(info['generation']))\n"
             "cli._import_command('stella_desktop.cli.simulate', True)\n"
             "print(passes, gc.isenabled(), gc.get_freeze_count() > 10_000, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stderr.strip().splitlines()[-1] == "[] True True", result.stderr
