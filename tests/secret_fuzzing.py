"""Secret fuzzing: runs whose steps, gates and decisions put secrets into messages of every kind.

:func:`secret_runs` draws a :class:`SecretCase`: one or two (overlapping)
secrets put into expression errors, outputs, failure messages, refused paths,
command output in other encodings and map items, optionally followed by an
approval or policy gate (its message, parameters or reason template reading a
secret) that is then decided, through the API (HTTP POST, then resume over
HTTP) or the CLI, by a name and a reason carrying the secret in some encoding.

:class:`SecretBatch` runs many cases in one process, as the CLI would: each
through the real entry point ``stella_desktop.cli.main([...])`` with stdout and
stderr captured at the file-descriptor level (what commands write straight to
the terminal included), all in one store on tmpfs, with one real ``stella
serve`` process per batch (started with every secret of the batch in its
environment, as a user's server would have them) whose HTTP answers are
checked too.  Every encoding of every secret of the batch (computed here,
independently of ``core/execution/redaction.py``) is searched in each case's
stdout, stderr, ``runs show`` (JSON and table), ``runs list``, API answers and
store files, and at the end in the whole store and the server's own output.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SECRET_ALPHABET = string.ascii_letters + string.digits + "/+=&%\"\\ :é漢-_.~?#"
PRINT_ENCODINGS = ("import sys, json, base64, urllib.parse as u; s = sys.argv[1]; "
                   "print(json.dumps(s)); print(json.dumps(s, ensure_ascii=False)); print(u.quote(s, safe='')); "
                   "print(u.quote_plus(s)); print(base64.b64encode(s.encode()).decode()); "
                   "print(base64.b64encode(b'user:' + s.encode()).decode())")
FAIL_WITH_ENCODED = ("import sys, base64; sys.stderr.write(base64.urlsafe_b64encode(sys.argv[1].encode())"
                     ".decode()); sys.exit(3)")
STEP_KINDS = 12
ENCODERS = {"raw": lambda s: s, "json": lambda s: json.dumps(s)[1:-1], "url": lambda s: quote(s, safe=""),
            "url+": quote_plus, "base64": lambda s: base64.b64encode(s.encode()).decode(),
            "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")}


def _secret_steps(ref: str) -> list[dict]:
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


@dataclass
class Decision:
    via: str  # "api" (POST the decision, POST resume, over HTTP) or "cli" (approve/reject/decide, resume)
    approve: bool
    by: str  # each a template: "{name}" becomes the secret, written in the encoding of its key
    reason: str


@dataclass
class SecretCase:
    """What to run; :meth:`manifest` and :meth:`secrets` give names unique to the case (``token_7``)."""
    values: dict[str, str]  # kind ("token", "longer") -> secret value
    order: list[str]  # declaration order of the kinds
    steps: list[tuple[str, int]]  # (kind, index into _secret_steps)
    map_kind: str | None  # map items that came from (redacted) outputs holding this secret
    gate: tuple[str, str] | None  # ("approval" | "policy", where the secret goes) after the steps
    decision: Decision | None
    start: str = "cli"  # "cli" (stella task-runner run) or "api" (POST /v1/task-runner/runs: the server drives it)
    tag: str = "0"

    def name(self, kind: str) -> str:
        return f"{kind}_{self.tag}"

    def secrets(self) -> dict[str, str]:
        return {self.name(kind): value for kind, value in self.values.items()}

    def manifest(self) -> str:
        ref = {kind: f"secrets.{self.name(kind)}" for kind in self.values}
        children = [dict(_secret_steps(ref[kind])[index], id=f"s{number}")
                    for number, (kind, index) in enumerate(self.steps)]
        steps = [{"id": "all", "parallel": {"maxParallel": 2, "continueOnError": True, "steps": children}}]
        spec: dict = {"secrets": [{"name": self.name(kind)} for kind in self.order]}
        if self.map_kind:
            steps += [{"id": "list", "run": {"uses": "builtin:echo",
                                             "with": {"names": [f"{{{{ {ref[self.map_kind]} }}}}", "x"]}}},
                      {"id": "each", "map": {"items": "{{ steps.list.outputs.names }}",
                                             "step": {"id": "t", "run": {"uses": "builtin:echo",
                                                                         "with": {"n": "{{ item }}"}}}}}]
        if self.gate:
            kind, place = self.gate
            secret = f"{{{{ {ref[self.order[0]]} }}}}"
            if kind == "approval":
                approval = {"id": "signoff"}
                if place == "reason":
                    approval["reasonTemplate"] = f"ship {secret}"
                spec["approvals"] = [approval]
                gate = {"approval": {"id": "signoff", "message": f"check {secret}" if place == "message"
                                     else "check"}}
            else:
                gate = {"policy": {"policy": "window", "parameters": {"p": secret if place != "none" else "x"}}}
            steps.append({"id": "gate", "gate": gate})
            steps.append({"id": "after", "run": {"uses": "builtin:echo", "with": {"v": secret}}})
        spec["steps"] = steps
        pack = {"apiVersion": "stellaops.io/pack.v1", "kind": "TaskPack",
                "metadata": {"name": "secret-fuzz", "version": "1.0.0"}, "spec": spec}
        return yaml.safe_dump(pack, sort_keys=False, allow_unicode=True, width=1000)

    def decision_text(self, template: str) -> str:
        value = self.values[self.order[-1]]
        return template.format(**{key: encode(value) for key, encode in ENCODERS.items()})


@st.composite
def secret_runs(draw) -> SecretCase:
    token = "Zq" + draw(st.text(alphabet=SECRET_ALPHABET, min_size=6, max_size=24))
    values = {"token": token}
    if draw(st.booleans()):  # overlapping secrets: one is the start of the other, declared in either order
        values["longer"] = token + draw(st.text(alphabet=SECRET_ALPHABET, min_size=1, max_size=8))
    order = list(values)
    if draw(st.booleans()):
        order.reverse()
    steps = draw(st.lists(st.tuples(st.sampled_from(order), st.integers(0, STEP_KINDS - 1)), min_size=1, max_size=5))
    map_kind = draw(st.sampled_from(order)) if draw(st.booleans()) else None
    gate = decision = None
    if draw(st.integers(0, 2)) > 0:  # two thirds of the cases end at a gate that is then decided
        kind = draw(st.sampled_from(["approval", "policy"]))
        # a secret in an approval's message or reason template is refused (exit 3): a few of those only
        gate = (kind, draw(st.sampled_from(["message", "reason"] + ["none"] * 6 if kind == "approval" else
                                           ["parameters", "none"])))
        forms = st.sampled_from([f"{{{key}}}" for key in ENCODERS])
        decision = Decision(via=draw(st.sampled_from(["api", "api", "cli"])), approve=draw(st.booleans()),
                            by="ops " + draw(forms), reason=draw(forms) + " said " + draw(forms))
    return SecretCase(values, order, steps, map_kind, gate, decision, draw(st.sampled_from(["cli", "cli", "api"])))


def secret_encodings(secret: str) -> set[str]:
    """The secret as written, JSON-escaped, URL-encoded and base64 (standard, URL-safe, unpadded)."""
    raw = secret.encode()
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote_plus(secret)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms.update((encoded, encoded.rstrip("=")))
    return forms


class CaseFailed(Exception):
    pass


def _shm() -> str | None:
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class SecretBatch:
    """One store (on tmpfs), one ``stella serve`` and many cases; use as a context manager."""

    def __init__(self, cases: list[SecretCase], api: bool = True):
        for number, case in enumerate(cases):
            case.tag = str(number)
        self.cases = cases
        self.forms = {form for case in cases for value in case.values.values() for form in secret_encodings(value)}
        self.folder = Path(tempfile.mkdtemp(prefix="secret-fuzz-", dir=_shm()))
        self.store = self.folder / "store"
        self.environment = {f"STELLA_SECRET_{name}": value for case in cases for name, value in case.secrets().items()}
        self.api = api
        self.server: subprocess.Popen | None = None
        self.base = ""
        self.counts: Counter = Counter()  # what the cases did: run exit codes, decisions by channel

    def __enter__(self) -> "SecretBatch":
        if self.api:
            self._start_server()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the server -----------------------------------------------------------------------------------------
    def _start_server(self) -> None:
        self.store.mkdir()
        log = open(self.folder / "server.log", "wb")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "stella_desktop.cli", "serve", "--port", "0", "--store", str(self.store),
             "--allow-commands"], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
            env={**os.environ, **self.environment, "PYTHONPATH": os.pathsep.join([str(ROOT)] + sys.path)})
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the server names its port on its first line
            first = (self.folder / "server.log").read_text("utf-8", "replace").partition("\n")
            if first[1] and "http://" in first[0]:
                self.base = first[0].split("http://")[1].split(" ")[0]
                self.base = "http://" + self.base
                return
            if self.server.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"stella serve did not start: {(self.folder / 'server.log').read_text()}")

    def _http(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def _api(self, texts: dict, method: str, path: str, body: dict | None = None, ok=(200,)) -> str:
        status, text = self._http(method, path, body)
        texts[f"API {method} {path}"] = text
        if status not in ok or "Traceback" in text:
            raise CaseFailed(f"API {method} {path} answered {status}: {text[:2000]}")
        return text

    # -- the CLI --------------------------------------------------------------------------------------------
    def cli(self, argv: list[str], secrets: dict[str, str]) -> tuple[int, str, str]:
        """``main(argv)`` in this process, fds 1 and 2 (and sys.stdout/err over them) captured."""
        from stella_desktop.cli import main
        env = {f"STELLA_SECRET_{name}": value for name, value in secrets.items()}
        with tempfile.TemporaryFile(dir=_shm()) as out, tempfile.TemporaryFile(dir=_shm()) as err:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            saved = os.dup(1), os.dup(2)
            streams = sys.stdout, sys.stderr
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)
            sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8", line_buffering=True,
                                          errors="backslashreplace")
            try:
                with _environment(env):
                    code = main(argv)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                sys.stdout, sys.stderr = streams
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
            out.seek(0)
            err.seek(0)
            return code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")

    def _cli_checked(self, texts: dict, label: str, argv: list[str], secrets: dict, ok) -> tuple[int, str]:
        code, out, err = self.cli(argv + ["--store", str(self.store)], secrets)
        texts[f"{label} stdout"], texts[f"{label} stderr"] = out, err
        if code not in ok or "internal error" in err or "Traceback" in err:
            raise CaseFailed(f"{label} exited {code}: {err[-2000:]}")
        return code, out

    # -- one case -------------------------------------------------------------------------------------------
    def run(self, case: SecretCase) -> str | None:
        """None if no encoding of any secret of the batch reached anything this case made; else what did."""
        try:
            texts = self._run(case)
        except CaseFailed as failed:
            return str(failed)
        return self.leak(texts)

    def _run(self, case: SecretCase) -> dict[str, str]:
        manifest = self.folder / f"pack-{case.tag}.yaml"
        manifest.write_text(case.manifest(), encoding="utf-8")
        secrets, texts = case.secrets(), {}
        before = self._run_ids()
        if case.start == "api" and self.api:
            code = self._start_over_http(case, texts)
        else:
            code, _ = self._cli_checked(texts, "run", ["task-runner", "run", "--manifest", str(manifest),
                                                       "--allow-commands", "--format", "json"], secrets, (0, 1, 3, 4))
        self.counts[f"run exit {code}"] += 1
        new = sorted(self._run_ids() - before)
        if code != 3 and len(new) != 1:
            raise CaseFailed(f"run exited {code} and made {len(new)} runs")
        for run_id in new:
            if code == 4 and case.decision:
                self._decide(case, run_id, texts, secrets)
            for format_ in ("json", "table"):
                self._cli_checked(texts, f"runs show --format {format_}",
                                  ["task-runner", "runs", "show", run_id, "--format", format_], {}, (0,))
            self._cli_checked(texts, "runs list", ["task-runner", "runs", "list", "--format", "json"], {}, (0,))
            if self.api:
                self._api(texts, "GET", "/v1/task-runner/runs")
                self._api(texts, "GET", f"/v1/task-runner/runs/{run_id}")
            for root, _, files in os.walk(self.store / run_id):
                for name in files:
                    texts[os.path.join(root, name)] = Path(root, name).read_bytes().decode("utf-8", "replace")
        return texts

    def _run_ids(self) -> set[str]:
        """The runs in the store (not the folder where the server keeps manifests sent as text)."""
        from core.execution.host import MANIFESTS
        return set(os.listdir(self.store)) - {MANIFESTS} if self.store.exists() else set()

    def _start_over_http(self, case: SecretCase, texts: dict) -> int:
        """POST the pack; the server drives the run: the exit code the CLI would have given for its end."""
        self.counts["started via api"] += 1
        status, text = self._http("POST", "/v1/task-runner/runs", {"manifest": case.manifest()})
        texts["API POST /v1/task-runner/runs"] = text
        if status == 422:
            return 3
        if status != 202 or "Traceback" in text:
            raise CaseFailed(f"API POST /v1/task-runner/runs answered {status}: {text[:2000]}")
        return {"succeeded": 0, "failed": 1, "waiting": 4}[self._until_settled(json.loads(text)["runId"], texts)]

    def _until_settled(self, run_id: str, texts: dict) -> str:
        runs, deadline = f"/v1/task-runner/runs/{run_id}", time.monotonic() + 120
        while (status := json.loads(self._api(texts, "GET", runs))["status"]) in ("running", "pending"):
            if time.monotonic() > deadline:
                raise CaseFailed(f"run {run_id} driven by the server did not end in 120 s")
            time.sleep(0.01)
        return status

    def _decide(self, case: SecretCase, run_id: str, texts: dict, secrets: dict) -> None:
        decision = case.decision
        by, reason = case.decision_text(decision.by), case.decision_text(decision.reason)
        kind = case.gate[0]
        self.counts[f"{kind} decided via {decision.via if self.api else 'cli'}"] += 1
        if decision.via == "api" and self.api:
            runs = f"/v1/task-runner/runs/{run_id}"
            if kind == "approval":
                self._api(texts, "POST", f"{runs}/approvals/signoff",
                          {"decision": "approve" if decision.approve else "reject", "decidedBy": by, "reason": reason})
            else:
                self._api(texts, "POST", f"{runs}/policy/gate",
                          {"decision": "allow" if decision.approve else "deny", "decidedBy": by, "reason": reason})
            self._api(texts, "POST", f"{runs}/resume", ok=(202,))
            self._until_settled(run_id, texts)
            return
        if kind == "approval":
            argv = ["task-runner", "approve" if decision.approve else "reject", run_id, "signoff"]
        else:
            argv = ["task-runner", "decide", run_id, "gate", "allow" if decision.approve else "deny"]
        self._cli_checked(texts, "decide", argv + ["--by", by, "--reason", reason], secrets, (0,))
        self._cli_checked(texts, "resume", ["task-runner", "resume", run_id, "--allow-commands", "--format", "json"],
                          secrets, (0, 1))

    def leak(self, texts: dict[str, str]) -> str | None:
        for where, content in texts.items():
            found = sorted(form for form in self.forms if form in content)
            if found:
                return f"secret in {where}: {found}"
        return None

    def finish(self) -> str | None:
        """After the cases: the whole store and the server's own output, against every secret of the batch."""
        texts = {}
        if self.server is not None:
            self.server.terminate()  # its runs are saved interrupted; what it says on the way out is checked
            self.server.wait(30)
            self.server = None
            texts["stella serve output"] = (self.folder / "server.log").read_text("utf-8", "replace")
            if "Traceback" in texts["stella serve output"]:  # a request or a driver thread that crashed
                return f"a traceback in the server's output: {texts['stella serve output'][-3000:]}"
        for root, _, files in os.walk(self.store):
            for name in files:
                texts[os.path.join(root, name)] = Path(root, name).read_bytes().decode("utf-8", "replace")
        return self.leak(texts)


def check_secret_cases(cases: list[SecretCase], api: bool = True,
                       counts: Counter | None = None) -> list[tuple[str, str]]:
    """Run ``cases`` in one batch; the (problem, manifest) of each that failed (``counts`` adds up what ran)."""
    failures = []
    with SecretBatch(cases, api) as batch:
        for case in cases:
            problem = batch.run(case)
            if problem:
                failures.append((problem, case.manifest()))
        problem = batch.finish()
        if problem:
            failures.append((f"after the batch: {problem}", ""))
        if counts is not None:
            counts.update(batch.counts)
    return failures
