"""The large packs of issue 13: what a big real pack looks like, at any size.

    python benchmarks/large_pack.py 2050 > big.yaml   (inputs: see ``large_pack``)

``large_pack(2050)`` is the issue's pack: a 300-item map, 100 stages each
followed by a 6-child ``parallel`` (every other one with a nested parallel of
about 18 children), 15 approval gates, a short sequential map
(``maxParallel: 1``) and a few steps whose ``when`` is decided at run time.
Other sizes scale every part by the same factor; the nested parallels take up
the remainder so the plan has exactly ``total`` steps.
"""

from __future__ import annotations

import json
import sys


def large_pack(total: int = 2050) -> tuple[str, dict]:
    """(YAML text, inputs) of a pack whose plan has exactly ``total`` steps (``total`` >= 400)."""
    scale = total / 2050
    map_items = max(20, round(300 * scale))
    stages = max(10, round(100 * scale))
    gates = max(2, round(15 * scale))
    nested = stages // 2
    fixed = 1 + (1 + map_items) + (1 + 4) + 8 * stages + gates
    remainder = total - fixed
    if remainder < 2 * nested:
        raise ValueError(f"{total} steps is too few for this shape")
    lines = [
        "apiVersion: stellaops.io/pack.v1",
        "kind: TaskPack",
        f"metadata: {{name: large-{total}, version: 2.1.0, description: Generated for issue 13}}",
        "spec:",
        "  inputs:",
        "    - {name: targets, type: array}",
        "  approvals:",
        "    - {id: review, grants: [Packs.Approve], expiresAfter: PT4H}",
        "  steps:",
        "    - {id: fetch, run: {uses: builtin:echo, with: {source: registry.example}}}",
        "    - id: mirror",
        "      map:",
        "        items: \"{{ inputs.targets }}\"",
        "        maxParallel: 8",
        "        step: {id: sync, run: {uses: builtin:echo, with: {target: \"{{ item }}\"}}}",
        "    - id: rollout",
        "      map:",
        "        items: [eu-1, us-1, ap-1, sa-1]",
        "        maxParallel: 1",
        "        step: {id: deploy, run: {uses: builtin:noop}}",
    ]
    gate_every = stages / gates
    next_gate = gate_every
    gates_left = gates
    for stage in range(stages):
        when = ("\n      when: \"{{ steps.fetch.outputs.ok }}\"" if stage % 10 == 3 else "")
        lines.append(f"    - id: stage-{stage}{when}\n      run: {{uses: builtin:echo, with: {{stage: {stage}}}}}")
        lines += [f"    - id: fan-{stage}", "      parallel:", "        maxParallel: 4", "        steps:"]
        children = [f"          - {{id: check-{stage}-{c}, run: {{uses: builtin:noop}}}}" for c in range(6)]
        if stage % 2 == 1:
            index = stage // 2
            count = remainder // nested + (1 if index < remainder % nested else 0)
            inner = ", ".join(f"{{id: deep-{stage}-{c}, run: {{uses: builtin:scan}}}}" for c in range(count))
            children[5] = f"          - {{id: nest-{stage}, parallel: {{steps: [{inner}]}}}}"
        lines += children
        if gates_left and stage + 1 >= next_gate:
            lines.append(f"    - id: approve-{gates - gates_left}\n"
                         f"      gate: {{approval: {{id: review, message: \"approve after stage {stage}\"}}}}")
            gates_left -= 1
            next_gate += gate_every
    while gates_left:
        lines.append(f"    - id: approve-{gates - gates_left}\n      gate: {{approval: {{id: review}}}}")
        gates_left -= 1
    return "\n".join(lines) + "\n", {"targets": [f"target-{i}" for i in range(map_items)]}


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="Write the issue-13 pack of STEPS steps to stdout, its inputs "
                                                 "(JSON) to stderr: python benchmarks/large_pack.py 10000 "
                                                 "> big.yaml 2> big-inputs.json")
    parser.add_argument("steps", type=int, nargs="?", default=2050, help="steps in the plan (default: 2050)")
    text, inputs = large_pack(parser.parse_args().steps)
    sys.stdout.write(text)
    sys.stderr.write(json.dumps(inputs) + "\n")
