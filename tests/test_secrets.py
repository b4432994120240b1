"""Secret values never reach the store, the terminal or the API, in any encoding (issue 10, items 3-5)."""

import base64
import json
import os
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest

from core.execution.redaction import Redactor, secret_forms
from execution_helpers import scheduler_for

TOKEN = "s3cr3t/T0ken+\"é&x"


def leaks(text: str | bytes, secret: str) -> list[str]:
    """The forms of ``secret`` found in ``text`` (the secret, JSON-escaped, URL-encoded, base64)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    raw = secret.encode()
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret),
             base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return sorted(form for form in forms if form in text)


def test_every_encoding_of_a_secret_is_redacted():
    redactor = Redactor({"token": TOKEN})
    text = " | ".join([TOKEN, json.dumps({"v": TOKEN}), quote(TOKEN, safe=""), quote_plus(TOKEN),
                       quote(TOKEN, safe="").lower(), base64.b64encode(TOKEN.encode()).decode(),
                       base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
                       base64.b64encode(b"user:" + TOKEN.encode()).decode()])  # inside longer base64
    redacted = redactor.redact_text(text)
    assert leaks(redacted, TOKEN) == [] and "***" in redacted
    assert not any(form in redacted for form in secret_forms(TOKEN))


@pytest.mark.parametrize("order", [("admin", "admin-Tr0ub4dor&3"), ("admin-Tr0ub4dor&3", "admin")])
def test_overlapping_secrets_are_redacted_whatever_their_order(order):
    secrets = dict(zip(("first", "second"), order))
    redactor = Redactor(secrets)
    assert redactor.redact_text("login admin-Tr0ub4dor&3 as admin") == "login *** as ***"
    # overlapping without nesting: no byte of either survives
    assert Redactor(["abcd", "cdef"]).redact_text("xabcdefx") == "x***x"
    scheduler = scheduler_for("""
        secrets: [{name: first}, {name: second}]
        steps: [{id: a, run: {uses: x}}]
    """, secrets=secrets)
    scheduler.start()
    scheduler.advance()
    scheduler.complete("a", {"said": "admin-Tr0ub4dor&3", "admin-Tr0ub4dor&3": 1})
    assert "Tr0ub4dor" not in json.dumps(scheduler.records)


def test_redaction_keeps_unchanged_values_and_masks_keys():
    redactor = Redactor({"t": "tok"})
    value = {"a": ["x", {"b": 1}]}
    assert redactor.redact(value) is value
    assert redactor.redact({"tok": ["tok"]}) == {"***": ["***"]}
    assert Redactor({}).redact(value) is value and not Redactor({"t": ""})


def test_a_when_that_fails_on_a_secret_records_no_secret():
    records = []
    scheduler = scheduler_for("""
        secrets: [{name: token}]
        steps:
          - {id: a, when: "{{ abs(secrets.token) > `1` }}", run: {uses: x}}
    """, sink=records.append, secrets={"token": TOKEN})
    scheduler.start()
    scheduler.advance()
    assert scheduler.states["a"].status == "failed"
    assert "when could not be evaluated" in scheduler.states["a"].reason
    assert leaks(json.dumps(records), TOKEN) == [] and leaks(json.dumps(scheduler.records), TOKEN) == []
    assert leaks(scheduler.states["a"].reason, TOKEN) == []


WHEN_PACK = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: leaky, version: 1.0.0}
spec:
  secrets: [{name: token}]
  steps:
    - {id: first, run: {uses: builtin:echo, with: {n: 1}}}
    - {id: check, when: "{{ abs(secrets.token) > `1` }}", run: {uses: builtin:noop}}
"""


def stella(*args, env=None):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


def store_leaks(store, secret) -> list[str]:
    found = []
    for root, _, files in os.walk(store):
        for name in files:
            found += [f"{name}: {form}" for form in leaks(open(os.path.join(root, name), "rb").read(), secret)]
    return found


def test_a_failing_when_leaks_no_secret_to_journal_snapshot_terminal_or_api(tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(WHEN_PACK)
    store = tmp_path / "store"
    env = {"STELLA_SECRET_token": TOKEN}
    result = stella("run", "--manifest", str(manifest), "--format", "json", "--store", str(store), env=env)
    assert result.returncode == 1, result.stderr
    assert "when could not be evaluated" in result.stdout
    assert leaks(result.stdout + result.stderr, TOKEN) == []
    assert store_leaks(store, TOKEN) == []
    (run_id,) = os.listdir(store)
    for format_ in ("json", "table"):
        shown = stella("runs", "show", run_id, "--format", format_, "--store", str(store))
        assert shown.returncode == 0 and leaks(shown.stdout + shown.stderr, TOKEN) == []
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from core.execution.store import RunStore
    from stella_desktop.api import create_app
    client = TestClient(create_app(RunStore(store)), base_url="http://127.0.0.1:8765")
    for path in ("/v1/task-runner/runs", f"/v1/task-runner/runs/{run_id}"):
        response = client.get(path)
        assert response.status_code == 200 and leaks(response.text, TOKEN) == []
    assert fastapi


def test_allow_secret_in_file_must_be_a_boolean():
    from conftest import pack_text
    from core.errors import PackInvalid
    from core.manifest import parse_pack
    with pytest.raises(PackInvalid, match="'allowSecretInFile' must be true or false"):
        parse_pack(pack_text("""
            steps:
              - {id: a, run: {uses: builtin:write-file, with: {path: x, allowSecretInFile: "yes"}}}
        """), "p.yaml")
    parse_pack(pack_text("""
        steps:
          - {id: a, run: {uses: builtin:write-file, with: {path: x, allowSecretInFile: true}}}
    """), "p.yaml")


RUNTIME_MAP = """\
apiVersion: stellaops.io/pack.v1
kind: TaskPack
metadata: {name: late, version: 1.0.0}
spec:
  secrets: [{name: token}, {name: tok}]
  steps:
    - {id: first, run: {uses: builtin:write-file, with: {path: first.txt, content: ran}}}
    - {id: list, run: {uses: builtin:echo, with: {names: [a, b]}}}
    - id: each
      map:
        items: "{{ steps.list.outputs.names }}"
        step:
          id: inner
          parallel:
            steps:
              - {id: call, run: {uses: builtin:command, with: {argv: [echo, "{{ item }}"]}}}
              - {id: note, run: {uses: builtin:echo, with: {auth: "Bearer {{ secrets.token }}"}}}
"""


def test_preflight_checks_the_template_of_a_map_known_only_at_run_time():
    from core.errors import PackInvalid
    from core.execution.executors import ExecutorRegistry, echo
    from core.execution.preflight import preflight
    from core.manifest import parse_pack
    from core.plan import build_plan
    pack = parse_pack(RUNTIME_MAP, "late.yaml")
    plan = build_plan(pack)
    with pytest.raises(PackInvalid) as caught:
        preflight(plan, ExecutorRegistry.default(plugins=False), {}, pack)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "late.yaml:16:1: step 'each[*]::call': 'builtin:command' cannot run: command execution is off" in text
    assert "secret 'token' is needed but not set" in text
    assert "secret 'tok'" not in text  # secrets.token does not read secrets.tok
    registry = ExecutorRegistry.default(allow_commands=True, plugins=False)
    assert preflight(plan, registry, {"token": "x"}, pack) == []
    allowed = parse_pack(RUNTIME_MAP.replace("{path: first.txt, content: ran}",
                                             "{path: first.txt, content: ran, allowSecretInFile: true}"), "late.yaml")
    assert preflight(build_plan(allowed), registry, {"token": "x"}, allowed) == [
        "step 'first' (line 7) may write secret values into a file: it sets allowSecretInFile: true"]
    assert echo


def test_a_run_time_map_that_cannot_run_is_refused_before_any_step_runs(tmp_path):
    manifest = tmp_path / "pack.yaml"
    manifest.write_text(RUNTIME_MAP)
    store = tmp_path / "store"
    result = stella("run", "--manifest", str(manifest), "--store", str(store))
    assert result.returncode == 3, result.stderr
    assert "step 'each[*]::call': 'builtin:command' cannot run" in result.stderr
    assert "secret 'token' is needed but not set" in result.stderr
    assert not store.exists() or os.listdir(store) == []  # 'first' never ran
    manifest.write_text(RUNTIME_MAP.replace("content: ran}", "content: ran, allowSecretInFile: true}"))
    result = stella("run", "--manifest", str(manifest), "--store", str(store), "--allow-commands",
                    env={"STELLA_SECRET_token": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "notice: step 'first' (line 7) may write secret values into a file" in result.stderr
    assert store_leaks(store, TOKEN) == [] and leaks(result.stdout + result.stderr, TOKEN) == []


@pytest.mark.parametrize("secret", ["ab'cd\"efgh", "abc\x01defgh", "abcé\x85defgh", "line one\nline two"])
@pytest.mark.parametrize("expression", ["abs([secrets.token])", "abs({k: secrets.token})", "abs(secrets.token)"])
def test_a_when_quoting_a_secret_in_a_list_or_across_lines_records_none_of_it(secret, expression):
    """jmespath shows a list or dict with Python's repr (its own escapes of quotes and controls), and a
    secret with a line break used to be cut at it, keeping a first piece redaction did not know."""
    records = []
    scheduler = scheduler_for(f"""
        secrets: [{{name: token}}]
        steps:
          - {{id: a, when: "{{{{ {expression} }}}}", run: {{uses: x}}}}
    """, sink=records.append, secrets={"token": secret})
    scheduler.start()
    scheduler.advance()
    reason = scheduler.states["a"].reason
    assert scheduler.states["a"].status == "failed" and "***" in reason
    stored = json.dumps(records, ensure_ascii=False) + reason
    assert not [piece for piece in ("cd", "efgh", "def", "line") if piece in secret and piece in stored], reason


def test_a_long_secret_in_line_wrapped_base64_is_redacted():
    """Attack review: `base64` (76 columns) and `openssl base64` (64) wrap a long token's encoding,
    and no line of it matched a form, so the whole secret leaked in a command's output."""
    secret = "ghp_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3" * 2
    redactor = Redactor({"token": secret})
    encoded = base64.b64encode(secret.encode()).decode()
    for width in (64, 76):
        for newline in ("\n", "\r\n"):
            wrapped = newline.join(encoded[i:i + width] for i in range(0, len(encoded), width)) + newline
            redacted = redactor.redact_text(f"out: {wrapped}done")
            assert redacted == "out: ***" + newline + "done", (width, redacted)
    assert redactor.redact_text(base64.encodebytes(secret.encode()).decode()) == "***\n"


def test_a_secret_that_is_not_utf8_is_a_preflight_problem_not_exit_70(tmp_path):
    """Attack review: STELLA_SECRET_tok=$'abc\\xffdef' reached Python as a lone surrogate and crashed the run
    (redaction's URL forms, then the journal's JSON) with exit 70."""
    manifest = tmp_path / "pack.yaml"
    manifest.write_text("apiVersion: stellaops.io/pack.v1\nkind: TaskPack\nmetadata: {name: sx, version: 1.0.0}\n"
                        "spec:\n  secrets: [{name: tok}]\n"
                        "  steps:\n    - {id: a, run: {uses: builtin:echo, with: {x: \"{{ secrets.tok }}\"}}}\n")
    environment = {**{k: v for k, v in os.environ.items() if k != "STELLA_SECRET_tok"}}
    environment = {os.fsencode(k): os.fsencode(v) for k, v in environment.items()}
    environment[b"STELLA_SECRET_tok"] = b"abc\xffdef"
    result = subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest",
                             str(manifest), "--store", str(tmp_path / "store")],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 3 and "not valid UTF-8" in result.stderr, result.stderr
    assert Redactor({"tok": "abc\udcffdef", "other": "x\ud800yyyyyy"}).redact_text("1 abc\udcffdef 2") == "1 *** 2"
