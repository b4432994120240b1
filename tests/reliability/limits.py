"""Time and peak memory of the limits against hostile packs (issue 10 items 2, 6, 7, 11, 12).

    .venv/bin/python tests/reliability/limits.py          # short mode: small sizes, a few seconds
    .venv/bin/python tests/reliability/limits.py --long   # the sizes docs/reliability.md quotes

Each case runs in a fresh process (``load_pack`` + ``build_plan`` + the JSON
preview, as ``stella task-runner simulate`` does) and prints its outcome, the
time it took and the process's peak RSS.  Each case has a bound; the script
exits 1 if any case passes its bound or ends other than expected (a
traceback is never an expected ending).  Bounds apply to CPU time: wall time
on a shared machine grows with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

HEAD = "apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: limits, version: 0.1.0}\nspec:\n"
ONE_STEP = "  steps: [{id: s, run: {uses: builtin:echo, with: {v: 1}}}]\n"

PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from core.errors import PackInvalid
from core.manifest import load_pack
from core.simulation import preview_pack
from core import json_text
from core.inputs import read_inputs_file
manifest, inputs, stage = sys.argv[2], sys.argv[3], sys.argv[4]
started = time.perf_counter()
cpu = time.process_time()
try:
    pack = load_pack(manifest)
    if stage == "validate":
        outcome = "valid"
    else:
        values = read_inputs_file(inputs) if inputs else {}
        preview = preview_pack(pack, values)
        text = json_text.pretty(preview.to_json())
        outcome = f"simulated: {sum(1 for _ in preview.plan.walk()):,} steps, {len(text) / 2**20:.1f} MiB preview"
except PackInvalid as invalid:
    message = invalid.problems[0].message
    outcome = "refused: " + (f"cannot evaluate: {message.rsplit(chr(39) + ': ', 1)[-1]}"
                             if message.startswith("cannot evaluate") else message)
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "cpu": cpu, "peakMiB": peak / 1024, "outcome": outcome}))
"""


def pack(steps: str, inputs: str = "") -> str:
    return HEAD + inputs + "  steps:\n" + steps


def one_step(inputs: str) -> str:
    return HEAD + inputs + ONE_STEP


def with_value(expression: str) -> str:
    return pack(f"    - {{id: s, run: {{uses: builtin:echo, with: {{v: \"{{{{ {expression} }}}}\"}}}}}}\n",
                "  inputs: [{name: x, type: string, default: abcdefgh}]\n")


def doubled(stages: int) -> str:
    return "inputs.x" + " | [@, @]" * stages


def cases(long: bool) -> list[dict]:
    """name, files, stage, expected outcome prefix, bounds (seconds, MiB)."""
    top = 80_000 if long else 8_000
    at_limit = 19_999 if long else 1_999
    literal = 110_000 if long else 11_000
    over = 90_000 if long else 25_000
    found = [
        # -- item 2: expression amplification --
        dict(name="40 '[@, @]' stages", manifest=with_value(doubled(40)), expect="refused: cannot evaluate",
             seconds=1, mib=200),
        dict(name="length(to_string(22 stages))",
             manifest=with_value(f"length(to_string({doubled(22)})) > `1`"), expect="refused: cannot evaluate",
             seconds=1, mib=200),
        dict(name="4 x to_string(18 stages)",
             manifest=with_value("[" + ", ".join([f"to_string({doubled(18)})"] * 4) + "]"),
             expect="refused: cannot evaluate", seconds=1, mib=200),
        dict(name="2^18 elements flattened, filtered",
             manifest=with_value(f"{doubled(18)} | @[][][][][][][][][][][][][][][][][][] | [?@ == 'x']"),
             expect="refused: cannot evaluate", seconds=1, mib=200),
        dict(name="50 x to_string(16 stages) in one text",
             manifest=pack("    - {id: s, run: {uses: builtin:echo, with: {v: \""
                           + f"{{{{ to_string({doubled(16)}) }}}}" * 50 + "\"}}}\n",
                           "  inputs: [{name: x, type: string, default: abcdefgh}]\n"),
             expect="refused: cannot evaluate", seconds=1, mib=200),
        # -- item 7: validation is linear --
        dict(name=f"{top:,} top-level steps (validate)", stage="validate", expect="valid", seconds=3, mib=2048,
             manifest=pack("".join(f"    - {{id: s{i}, run: {{uses: builtin:echo, with: {{v: {i}}}}}}}\n"
                                   for i in range(top)))),
        dict(name=f"{top:,} steps reading the one before", stage="validate", expect="valid", seconds=6, mib=2048,
             manifest=pack("".join(f"    - {{id: s{i}, run: {{uses: builtin:echo, with: {{v: "
                                   f"'{{{{ steps.s{max(i - 1, 0)}.outputs.x }}}}'}}}}}}\n" if i else
                                   "    - {id: s0, run: {uses: builtin:echo, with: {v: 1}}}\n"
                                   for i in range(top)))),
        # -- item 6: every planned step counts; a pack at the limit simulates in bounded memory --
        dict(name=f"map of {at_limit:,} x 5-step parallel", expect="simulated", seconds=60, mib=2048,
             manifest=pack("    - {id: m, map: {items: '{{ inputs.n }}', step: {id: p, parallel: {steps: ["
                           + ", ".join(f"{{id: c{i}, run: {{uses: builtin:echo, with: {{shard: '{{{{ item }}}}', "
                                       f"n: '{{{{ index }}}}'}}}}}}" for i in range(4)) + "]}}}}\n",
                           "  inputs: [{name: n, type: array}]\n"),
             inputs=json.dumps({"n": list(range(at_limit))})),
        dict(name=f"map of {over:,} x 5-step parallel", expect="refused: map 'm' expands to",
             seconds=10, mib=2048,
             manifest=pack("    - {id: m, map: {items: '{{ inputs.n }}', step: {id: p, parallel: {steps: ["
                           + ", ".join(f"{{id: c{i}, run: {{uses: builtin:echo}}}}" for i in range(4)) + "]}}}}\n",
                           "  inputs: [{name: n, type: array}]\n"),
             inputs=json.dumps({"n": list(range(over))})),
        dict(name=f"parallel of {literal:,} literal children", seconds=30, mib=2048,
             expect="refused: the plan passes" if long else "simulated",
             manifest=pack("    - id: p\n      parallel:\n        steps:\n"
                           + "".join(f"          - {{id: c{i}, run: {{uses: builtin:echo}}}}\n" for i in range(literal)))),
        # -- item 11: hostile values --
        dict(name="800 KB base-60 integer", manifest=one_step("  inputs: [{name: n, type: integer, default: "
                                                          + "1:" * 400_000 + "1}]\n"),
             expect="refused: a number written with more than 4,300", seconds=1, mib=200),
        dict(name="5,000-digit integer input", manifest=one_step("  inputs: [{name: n, type: array}]\n"), inputs='{"n": [' + "9" * 5000 + "]}",
             expect="", seconds=1, mib=200),  # read_inputs_file refuses it: see the outcome
        dict(name="input nested 900 deep", manifest=one_step("  inputs: [{name: n, type: array}]\n"), inputs='{"n": ' + "[" * 900 + "]" * 900 + "}",
             expect="refused: input 'n': the value is nested more than 64", seconds=1, mib=200),
        # -- item 12: hostile schemas --
        dict(name="catastrophic schema pattern", manifest=one_step("  inputs: [{name: n, type: string, "
             "schema: s.json, default: '" + "a" * 80 + "!'}]\n"),
             files={"s.json": '{"pattern": "^(a|aa)+$"}'}, stage="validate",
             expect="refused: input 'n': the default is invalid: matching the pattern", seconds=3, mib=200),
        dict(name="FIFO as a schema file", manifest=one_step("  inputs: [{name: n, type: string, "
             "schema: s.json}]\n"), fifo="s.json", stage="validate",
             expect="refused: input 'n': the schema path 's.json' cannot be read: it is a FIFO", seconds=1, mib=200),
    ]
    return found


def measure(case: dict, folder: Path) -> dict:
    folder.mkdir()
    manifest = folder / "pack.yaml"
    manifest.write_text(case["manifest"])
    for name, content in case.get("files", {}).items():
        (folder / name).write_text(content)
    if case.get("fifo"):
        os.mkfifo(folder / case["fifo"])
    inputs = ""
    if case.get("inputs"):
        inputs = str(folder / "inputs.json")
        Path(inputs).write_text(case["inputs"])
    result = subprocess.run([sys.executable, "-c", PROBE, str(REPO), str(manifest), inputs,
                             case.get("stage", "simulate")], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        return {"seconds": 0, "cpu": 0, "peakMiB": 0, "outcome": "CRASHED: " + (result.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="the full sizes (80k steps, packs at the limit)")
    parser.add_argument("-k", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()
    failed = 0
    print(f"{'case':<42} {'wall':>8} {'CPU':>8} {'peak RSS':>10}  outcome (bounds apply to CPU time and RSS)")
    with tempfile.TemporaryDirectory() as temporary:
        for index, case in enumerate(cases(args.long)):
            if args.k not in case["name"]:
                continue
            figures = measure(case, Path(temporary) / str(index))
            ok = (figures["outcome"].startswith(case["expect"]) and "CRASHED" not in figures["outcome"]
                  and figures["cpu"] <= case["seconds"] and figures["peakMiB"] <= case["mib"])
            failed += not ok
            print(f"{case['name']:<42} {figures['seconds']:>6.2f} s {figures['cpu']:>6.2f} s "
                  f"{figures['peakMiB']:>6.0f} MiB  "
                  f"{'' if ok else 'FAILED (bound ' + str(case['seconds']) + ' s, ' + str(case['mib']) + ' MiB) '}"
                  f"{figures['outcome'][:110]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
