"""A structure-aware manifest fuzzer (hypothesis): valid packs, mutated the ways packs go wrong.

Mutations: dropped and renamed keys, values of the wrong type, huge and
negative numbers, unicode and control characters, deep nesting, expression
fragments, expression amplification (``[@, @]`` stages, ``to_string`` and
comparisons of doubled values, wide multi-selects, flatten chains, many
templates in one text, big maps of parallel templates), duplicated step ids,
duplicate mapping keys and torn YAML text.
:func:`check_simulation` feeds the result to the simulator in process and
says what is wrong if anything escapes as other than a located problem.

:func:`secret_runs` and :func:`check_secret_run` do the same for secrets:
packs that put a secret value into messages of every kind are run, and no
encoding of it may reach the store, stdout, stderr or the API.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import os
import string
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml
from hypothesis import strategies as st

from core.errors import PackInvalid
from core.manifest import parse_pack
from core.simulation import preview_pack

PACKS = Path(__file__).resolve().parent.parent / "resources" / "packs"
BASES = [yaml.safe_load((PACKS / "flaky-fanout.yaml").read_text()),
         yaml.safe_load((PACKS / "release-approval.yaml").read_text()),
         yaml.safe_load((PACKS / "sbom-remediation" / "pack.yaml").read_text())]
for base in BASES:  # no schema files: simulations here have no pack folder
    for spec in base["spec"].get("inputs", []):
        spec.pop("schema", None)
        if spec.get("required"):
            spec["default"] = {"metadata": {"image": "x"}, "components": []} if spec["type"] == "object" else "x"

WRONG_VALUES = [None, 0, -1, -10**18, 10**30, 1.5, float("inf"), True, "", "x" * 3000, [], {}, [[[]]],
                {"a": {"b": {"c": 1}}}, "\x00\x01\x7f", "\u202e\u200b\ufeff", "é漢字🙂", "0x1F", "1e308"]
EXPRESSIONS = ["{{", "}}", "{{ }}", "{{ inputs.[ }}", "{{ inputs.nope }}", "{{ steps.ghost.outputs.x }}",
               "{{ not }}", "{{ a and or b }}", "{{ item }}", "{{ secrets.x }}", "{{ length(inputs) }}",
               "{{ `\"unclosed }}", "{{ inputs.shards[?@ > `1`] }}", "{{ @ }}", "{{ " + "(" * 300 + " }}",
               "{{ " + "a." * 2000 + "b }}", "{{ sort_by(inputs.shards, &@) }}"]
KEYS = ["id", "run", "uses", "with", "gate", "parallel", "map", "steps", "step", "items", "maxParallel",
        "continueOnError", "when", "approval", "policy", "inputs", "name", "type", "default", "spec",
        "metadata", "apiVersion", "kind", "failure", "retries", "maxAttempts", "backoffSeconds", "outputs"]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _get(value, path):
    for part in path:
        value = value[part]
    return value


SEEDS = ['`"ab"`', "`[1, 2, 3]`", '`{"a": "xyz"}`', "`12345678901234567890`"]
STAGES = ["[@, @]", "[@, @, @, @]", "{a: @, b: @}", "[@, [@, @]]", "[@, @][]", "[[@, @], [@, @]][][]"]
WRAPS = ["{}", "to_string({})", "length(to_string({})) > `1`", "{} == {}", "[{}][*].[@, @]",
         "sort_by([{}][*].{{k: to_string(@)}}, &k)", "join(',', [to_string({}), to_string({})])",
         "map(&to_string(@), [{}, {}])", "not_null({}) && length(to_string({})) > `0`", "contains([{}], {})",
         "merge({{a: {}}}, {{b: {}}})", "keys({{a: {}}})", "max_by([{{v: `1`, w: {}}}], &v)"]


@st.composite
def amplifying_expressions(draw) -> str:
    """A template that doubles (or more) a value many times, then walks or compares it."""
    value = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 48))):
        value = f"{value} | {draw(st.sampled_from(STAGES))}"
    value = f"({value})"
    expression = draw(st.sampled_from(WRAPS)).replace("{}", value).replace("{{", "{").replace("}}", "}")
    template = "{{ " + expression + " }}"
    return template * draw(st.sampled_from([1, 1, 1, 2, 50]))


def _amplify(draw, pack: dict) -> None:
    """Put an amplifying expression where packs evaluate them (when, with, items, messages), or a huge map."""
    steps = pack.get("spec", {}).get("steps") if isinstance(pack.get("spec"), dict) else None
    if not isinstance(steps, list) or not steps or not isinstance(steps[0], dict):
        return
    expression = draw(amplifying_expressions())
    place = draw(st.sampled_from(["when", "with", "items", "message", "big-map", "wide-parallel"]))
    step = steps[draw(st.integers(0, len(steps) - 1))]
    if not isinstance(step, dict):
        return
    if place == "when":
        step["when"] = expression
    elif place == "with":
        step["run"] = {"uses": "builtin:echo", "with": {"v": expression}}
        for kind in ("gate", "parallel", "map"):
            step.pop(kind, None)
    elif place == "items":
        steps.append({"id": "amplified", "map": {"items": expression, "step": {"id": "child", "run": {"uses": "x"}}}})
    elif place == "message":
        pack.setdefault("spec", {})["success"] = {"message": expression}
    elif place == "big-map":  # more planned steps than the limit, through a parallel template
        children = [{"id": f"c{i}", "run": {"uses": "x"}} for i in range(draw(st.integers(2, 6)))]
        items = "{{ `" + "[" + ",".join(["0"] * draw(st.sampled_from([10, 20_000, 30_000]))) + "]` }}"
        steps.append({"id": "fan", "map": {"items": items, "step": {"id": "p", "parallel": {"steps": children}}}})
    else:
        count = draw(st.sampled_from([5, 1_000]))
        steps.append({"id": "wide", "parallel": {"steps": [{"id": f"w{i}", "run": {"uses": "x"}} for i in range(count)]}})


@st.composite
def mutated_manifests(draw) -> str:
    pack = copy.deepcopy(draw(st.sampled_from(BASES)))
    if draw(st.integers(0, 3)) == 0:  # a quarter of the cases: only amplification, so that it is evaluated
        _amplify(draw, pack)
        return yaml.safe_dump(pack, sort_keys=False, allow_unicode=False, width=1000)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(pack))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["drop", "rename", "wrong", "expression", "nest", "duplicate-step",
                                     "new-key", "unicode", "amplify", "amplify"]))
        if kind == "amplify":
            _amplify(draw, pack)
            continue
        if not path:
            continue
        parent, last = _get(pack, path[:-1]), path[-1]
        if kind == "drop" and isinstance(parent, (dict, list)):
            del parent[last]
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS)) + draw(st.sampled_from(["", "s", "_", "X"]))] = parent.pop(last)
        elif kind == "wrong":  # copies: a later mutation must never change the shared samples
            parent[last] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES)))
        elif kind == "expression":
            parent[last] = draw(st.sampled_from(EXPRESSIONS))
        elif kind == "nest":
            value = parent[last]
            for _ in range(draw(st.integers(10, 120))):
                value = [value]
            parent[last] = value
        elif kind == "duplicate-step":
            steps = pack.get("spec", {}).get("steps") if isinstance(pack.get("spec"), dict) else None
            if isinstance(steps, list) and steps:
                steps.append(copy.deepcopy(steps[0]))
        elif kind == "new-key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES + EXPRESSIONS)))
        elif kind == "unicode" and isinstance(parent[last], str):
            parent[last] = parent[last] + draw(st.text(max_size=20))
    try:
        text = yaml.safe_dump(pack, sort_keys=False, allow_unicode=False, width=1000)
    except (yaml.YAMLError, RecursionError):
        text = "spec: ["
    tear = draw(st.sampled_from(["none", "none", "none", "cut", "duplicate-key", "garbage"]))
    if tear == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif tear == "duplicate-key":
        text += "apiVersion: stellaops.io/pack.v1\n"
    elif tear == "garbage":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from([":", "- ", "\t", "{", "]", "&a", "*a", "!!python/object:os.system"]))
        text += text[position:]
    return text


def check_simulation(text: str) -> str | None:
    """None if the simulator answered properly; otherwise what went wrong."""
    try:
        pack = parse_pack(text, "fuzz.yaml")
        preview_pack(pack, {}).to_json()
    except PackInvalid as invalid:
        for problem in invalid.problems:
            if problem.file == "fuzz.yaml" and problem.line < 1:
                return f"problem without a line: {problem}"
            if problem.file != "fuzz.yaml" and "input '" not in problem.message:
                return f"problem names no place: {problem}"
    except Exception as error:  # anything else is a bug the user would see as a crash
        return f"uncaught {type(error).__name__}: {error}"
    return None


# -- secrets in messages ------------------------------------------------------------------------------------
# Runs (in process, through the real CLI entry point) packs whose steps put a secret into every kind of
# message: expression errors, outputs, failure messages, command output in other encodings, refused paths,
# map items.  check_secret_run() then looks for the secret, in each encoding, in the store, stdout, stderr
# and the API's answers.  The encodings are computed here, independently of core/execution/redaction.py.

SECRET_ALPHABET = string.ascii_letters + string.digits + "/+=&%\"\\ :é漢-_.~?#"
PRINT_ENCODINGS = ("import sys, json, base64, urllib.parse as u; s = sys.argv[1]; "
                   "print(json.dumps(s)); print(json.dumps(s, ensure_ascii=False)); print(u.quote(s, safe='')); "
                   "print(u.quote_plus(s)); print(base64.b64encode(s.encode()).decode()); "
                   "print(base64.b64encode(b'user:' + s.encode()).decode())")
FAIL_WITH_ENCODED = ("import sys, base64; sys.stderr.write(base64.urlsafe_b64encode(sys.argv[1].encode())"
                     ".decode()); sys.exit(3)")


def _secret_steps(name: str) -> list[dict]:
    ref = f"secrets.{name}"
    return [
        {"when": f"{{{{ abs({ref}) > `1` }}}}", "run": {"uses": "builtin:noop"}},
        {"when": f"{{{{ sort({ref}) }}}}", "run": {"uses": "builtin:noop"}},
        {"when": f"{{{{ contains(`5`, {ref}) }}}}", "run": {"uses": "builtin:noop"}},
        {"run": {"uses": "builtin:echo", "with": {"v": f"{{{{ {ref} }}}}", "w": f"pre {{{{ {ref} }}}} post"}}},
        {"run": {"uses": "builtin:echo", "with": {"v": f"{{{{ abs({ref}) }}}}"}}},
        {"run": {"uses": "builtin:fail", "with": {"message": f"{{{{ {ref} }}}}", "failTimes": 1}}},
        {"run": {"uses": "builtin:write-file", "with": {"path": "f.txt", "content": f"x {{{{ {ref} }}}}"}}},
        {"run": {"uses": "builtin:write-file", "with": {"path": f"{{{{ {ref} }}}}", "content": "x"}}},
        {"run": {"uses": "builtin:command", "with": {"argv": [f"{{{{ {ref} }}}}"]}}},
        {"run": {"uses": "builtin:command", "with": {"argv": [sys.executable, "-c", PRINT_ENCODINGS,
                                                                f"{{{{ {ref} }}}}"]}}},
        {"run": {"uses": "builtin:command", "with": {"argv": [sys.executable, "-c", FAIL_WITH_ENCODED,
                                                                f"{{{{ {ref} }}}}"]}}},
        {"run": {"uses": "builtin:command", "with": {"argv": ["sh", "-c", 'printf %s "$1" | base64', "sh",
                                                                f"{{{{ {ref} }}}}"]}}},
    ]


@st.composite
def secret_runs(draw) -> tuple[str, dict[str, str]]:
    """(manifest text, secret values) for a pack that puts secrets into messages of every kind."""
    token = "Zq" + draw(st.text(alphabet=SECRET_ALPHABET, min_size=6, max_size=24))
    secrets = {"token": token}
    if draw(st.booleans()):  # overlapping secrets: one is the start of the other, declared in either order
        secrets["longer"] = token + draw(st.text(alphabet=SECRET_ALPHABET, min_size=1, max_size=8))
    names = list(secrets)
    if draw(st.booleans()):
        names.reverse()
    chosen = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(0, 11)), min_size=1, max_size=5))
    children = [dict(_secret_steps(name)[kind], id=f"s{index}") for index, (name, kind) in enumerate(chosen)]
    steps = [{"id": "all", "parallel": {"maxParallel": 2, "continueOnError": True, "steps": children}}]
    if draw(st.booleans()):  # map items that came from (redacted) outputs holding the secret
        name = draw(st.sampled_from(names))
        steps += [{"id": "list", "run": {"uses": "builtin:echo", "with": {"names": [f"{{{{ secrets.{name} }}}}", "x"]}}},
                  {"id": "each", "map": {"items": "{{ steps.list.outputs.names }}",
                                         "step": {"id": "t", "run": {"uses": "builtin:echo",
                                                                     "with": {"n": "{{ item }}"}}}}}]
    pack = {"apiVersion": "stellaops.io/pack.v1", "kind": "TaskPack",
            "metadata": {"name": "secret-fuzz", "version": "1.0.0"},
            "spec": {"secrets": [{"name": name} for name in names], "steps": steps}}
    return yaml.safe_dump(pack, sort_keys=False, allow_unicode=True, width=1000), secrets


def secret_encodings(secret: str) -> set[str]:
    """The secret as written, JSON-escaped, URL-encoded and base64 (standard, URL-safe, unpadded)."""
    raw = secret.encode()
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote_plus(secret)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.update((encoded, encoded.rstrip("=")))
    return forms


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return sorted({form for secret in secrets.values() for form in secret_encodings(secret) if form in text})


def _cli(argv: list[str], secrets: dict[str, str]) -> tuple[int, str, str]:
    from stella_desktop.cli import main
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update({f"STELLA_SECRET_{name}": value for name, value in secrets.items()})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def check_secret_run(text: str, secrets: dict[str, str], folder: Path, api: bool = True) -> str | None:
    """None if no encoding of a secret reached the store, stdout, stderr or the API; else what did."""
    manifest, store = folder / "pack.yaml", folder / "store"
    manifest.write_text(text, encoding="utf-8")
    code, out, err = _cli(["task-runner", "run", "--manifest", str(manifest), "--store", str(store),
                           "--allow-commands", "--format", "json"], secrets)
    if code not in (0, 1, 3) or "internal error" in err or "Traceback" in err:
        return f"exit {code}: {err[-2000:]}"
    texts = {"run stdout": out, "run stderr": err}
    run_ids = sorted(os.listdir(store)) if store.exists() else []
    for run_id in run_ids:
        for format_ in ("json", "table"):
            code, out, err = _cli(["task-runner", "runs", "show", run_id, "--store", str(store), "--format",
                                   format_], {})
            texts[f"runs show --format {format_}"] = out + err
            if code != 0:
                return f"runs show exited {code}: {err}"
        texts["runs list"] = _cli(["task-runner", "runs", "list", "--store", str(store), "--format", "json"], {})[1]
        if api:
            try:
                texts.update(_api_texts(store, run_id))
            except _Unexpected as unexpected:
                return str(unexpected)
    for root, _, files in os.walk(store):
        for name in files:
            texts[os.path.join(root, name)] = Path(root, name).read_bytes().decode("utf-8", "replace")
    for where, content in texts.items():
        found = _leaks(content, secrets)
        if found:
            return f"secret in {where}: {found}"
    return None


class _Unexpected(Exception):
    pass


def _api_texts(store: Path, run_id: str) -> dict[str, str]:
    try:
        from fastapi.testclient import TestClient
    except ImportError:
        return {}
    from core.execution.store import RunStore
    from stella_desktop.api import create_app
    client = TestClient(create_app(RunStore(store)), base_url="http://127.0.0.1:8765")
    texts = {}
    for path in ("/v1/task-runner/runs", f"/v1/task-runner/runs/{run_id}"):
        response = client.get(path)
        if response.status_code != 200:
            raise _Unexpected(f"API {path} answered {response.status_code}: {response.text}")
        texts[f"API {path}"] = response.text
    return texts
