"""The planHash and the preview's bytes of known packs, pinned to what they were.

Stored runs compare their plan hash with the pack's current one (the drift check), and saved
previews are compared byte for byte, so a change that only means to make planning or
simulating faster must leave both exactly as they were.  The values were recorded with main
at d0cd692 (before the planner's recipes and the preview's JSON-shaped steps); a change that
means to alter them must say so and update them here.
"""

import hashlib
import json

import pytest

from conftest import FLAKY_PACK, SBOM_PACK
from core.manifest import load_pack, parse_pack
from core.plan import build_plan
from core.simulation import simulate

EVERY_KIND = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: every-kind, version: 1.0.0}
spec:
  inputs:
    - {name: targets, type: array}
    - {name: enabled, type: boolean, default: true}
    - {name: label, type: string, default: "x"}
  secrets:
    - {name: token}
  approvals:
    - {id: review, grants: [Packs.Approve], expiresAfter: PT1H, reasonTemplate: "for {{ inputs.label }}"}
  failure: {retries: {maxAttempts: 3, backoffSeconds: 2.5}, message: "failed {{ inputs.label }}"}
  success: {message: "done {{ inputs.label }}"}
  outputs:
    - {name: report, type: file, path: "out/{{ inputs.label }}.txt"}
    - {name: late, type: string, expression: "{{ steps.prepare.outputs.ok }}"}
  steps:
    - id: prepare
      when: "{{ inputs.enabled }}"
      run: {uses: builtin:echo, with: {token: "{{ secrets.token }}", text: "a {{ secrets.token }}", n: 1}}
    - id: skipped-block
      when: "{{ !inputs.enabled }}"
      parallel:
        steps:
          - {id: skipped-a, run: {uses: builtin:noop}}
          - id: skipped-map
            map: {items: "{{ inputs.targets }}", step: {id: skipped-each, run: {uses: builtin:noop}}}
    - id: review-gate
      gate: {approval: {id: review, message: "approve {{ inputs.label }}"}}
    - id: policy-gate
      gate: {policy: {policy: guard, parameters: {who: "{{ inputs.label }}", later: "{{ steps.prepare.outputs.ok }}"}}}
    - id: fan
      parallel:
        maxParallel: 2
        continueOnError: true
        steps:
          - id: each
            map:
              items: "{{ inputs.targets }}"
              maxParallel: 3
              step:
                id: inner
                parallel:
                  steps:
                    - {id: sync, when: "{{ index }}", run: {uses: builtin:echo, with: {target: "{{ item }}", at: "{{ index }}", both: "{{ item }}-{{ index }}"}}}
                    - {id: check, when: "{{ steps.prepare.outputs.ok }}", gate: {policy: {policy: p, message: "{{ item }}"}}}
          - id: literal
            map: {items: [1, {a: 2}, "three"], step: {id: lit, gate: {approval: {id: review, message: "item {{ item }}"}}}}
          - id: late-map
            map: {items: "{{ steps.prepare.outputs.list }}", step: {id: late-each, run: {uses: builtin:noop}}}
          - id: empty-map
            map: {items: [], step: {id: none, run: {uses: builtin:noop}}}
"""

# (plan hash, sha256 of the preview JSON), recorded with main d0cd692.
PINNED = {
    "sbom-remediation": ("sha256:dfd5077ff4538b557234cee263498d01ba1e39ded76d00066d850d0d26675b2f",
                         "c2008705566d09433082ec8a9671b0f9a8394ea9c4bbb1363a8960124ed5c378"),
    "flaky-fanout": ("sha256:d77b686c9f2515878e7c1dfa5b4b1114e9f280c877708dc5c24628fa4c9d002a",
                     "943e9b5db37f3a98b542620595d408f42831169f4d4d0378292d1119ff184fc3"),
    "every-kind": ("sha256:8c098d9b08d8c694ac5e3acb861a5ed106bcf14cea1dc439a45c058f9c3dea5e",
                   "5fdc0b544e30349556deb8fe23e2e4d99b6b74a4966b5e1c4a776e440dbfe36c"),
    "every-kind-disabled": ("sha256:32a6352e0cb4861587e66da8cdbfb00f0f0174cff32b9ed6b7cea83048d3b9b0",
                            "0645134b3c06e3304eab2d6a2550f3046f27b101887a6b6d339d163ec06f7d8c"),
}


def _pack(name: str):
    if name == "sbom-remediation":
        return load_pack(SBOM_PACK, "pack.yaml"), json.loads((SBOM_PACK.parent / "inputs.json").read_text())
    if name == "flaky-fanout":
        return load_pack(FLAKY_PACK, "flaky-fanout.yaml"), None
    if name == "every-kind":
        return parse_pack(EVERY_KIND), {"targets": ["a", {"b": [1, 2]}, 3]}
    return parse_pack(EVERY_KIND), {"targets": ["a", "b"], "enabled": False}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_plan_hash_and_the_preview_bytes_are_what_they_were(name):
    pack, inputs = _pack(name)
    plan = build_plan(pack, inputs)
    preview = simulate(plan).to_json()
    assert (plan.plan_hash, hashlib.sha256(preview.encode()).hexdigest()) == PINNED[name]
