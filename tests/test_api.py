"""The local HTTP API, through FastAPI's test client, plus a bounded schemathesis run."""

import json
import subprocess
import sys

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import FLAKY_PACK, INVALID_PACKS, RESOURCES_PACKS, SBOM_PACK  # noqa: E402
from core.execution.store import RunStore  # noqa: E402
from stella_desktop.api import MAX_BODY_BYTES, OPENAPI_PATH, create_app, openapi_text  # noqa: E402

RELEASE = RESOURCES_PACKS / "release-approval.yaml"
SIMULATIONS = "/v1/task-runner/simulations"


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


@pytest.fixture
def client(store):
    return TestClient(create_app(store), base_url="http://127.0.0.1:8765")


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "stella_desktop.cli", *args], capture_output=True, text=True,
                          **kwargs)


def test_simulation_is_byte_for_byte_the_cli_json(client):
    response = client.post(SIMULATIONS, json={"manifest": FLAKY_PACK.read_text(), "inputs": {"shards": ["x"]}})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    inputs = FLAKY_PACK.parent / "in.json"
    try:
        inputs.write_text('{"shards": ["x"]}')
        expected = cli("task-runner", "simulate", "--manifest", str(FLAKY_PACK), "--inputs", str(inputs),
                       "--format", "json").stdout
    finally:
        inputs.unlink()
    assert response.content.decode() == expected


@pytest.mark.parametrize("name", ["typo-key.yaml", "duplicate-step-id.yaml", "not-yaml.yaml", "bad-expression.yaml"])
def test_invalid_manifests_get_422_with_structured_errors(client, name):
    response = client.post(SIMULATIONS, json={"manifest": (INVALID_PACKS / name).read_text()})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors and all(set(e) == {"file", "line", "column", "step", "field", "message"} for e in errors)
    assert all(e["line"] > 0 for e in errors)


def test_invalid_inputs_get_422_naming_the_input(client):
    manifest = FLAKY_PACK.read_text()
    response = client.post(SIMULATIONS, json={"manifest": manifest, "inputs": {"shards": "nope", "extra": 1}})
    assert response.status_code == 422
    messages = [e["message"] for e in response.json()["errors"]]
    assert "input 'shards': expected an array, got a string" in messages
    assert any(m.startswith("input 'extra' is not declared") for m in messages)


def test_schema_files_are_never_read_from_the_request(client, tmp_path, store):
    manifest = SBOM_PACK.read_text()
    response = client.post(SIMULATIONS, json={"manifest": manifest})
    assert response.status_code == 422
    assert "this pack has no folder" in response.json()["errors"][0]["message"]
    escape = (INVALID_PACKS / "schema-escape.yaml").read_text()
    configured = TestClient(create_app(store, packs_dir=str(SBOM_PACK.parent)), base_url="http://127.0.0.1:8765")
    assert "leaves the pack's folder" in configured.post(SIMULATIONS, json={"manifest": escape}).text
    inputs = json.loads((SBOM_PACK.parent / "inputs.json").read_text())
    assert configured.post(SIMULATIONS, json={"manifest": manifest, "inputs": inputs}).status_code == 200


def test_bad_bodies_are_4xx_never_500(client):
    assert client.post(SIMULATIONS, json={"inputs": {}}).status_code == 422  # no manifest
    assert client.post(SIMULATIONS, json={"manifest": "x", "extra": 1}).status_code == 422
    assert client.post(SIMULATIONS, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    big = client.post(SIMULATIONS, content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
    assert big.status_code == 413 and "larger than 10 MiB" in big.json()["detail"]


def test_runs_created_by_the_cli_are_served_as_the_cli_shows_them(client, store):
    result = cli("task-runner", "run", "--manifest", str(RELEASE), "--store", str(store.root))
    assert result.returncode == 4
    (run_id,) = store.run_ids()
    listed = client.get("/v1/task-runner/runs").json()
    assert [(r["runId"], r["status"]) for r in listed] == [(run_id, "waiting")]
    shown = client.get(f"/v1/task-runner/runs/{run_id}")
    expected = cli("task-runner", "runs", "show", run_id, "--format", "json", "--store", str(store.root)).stdout
    assert shown.status_code == 200 and shown.text == expected


def test_unknown_hostile_and_corrupt_run_ids(client, store, tmp_path):
    assert client.get("/v1/task-runner/runs/no-such-run").status_code == 404
    assert client.get("/v1/task-runner/runs/..%2F..%2Fetc").status_code == 404
    assert client.get("/v1/task-runner/runs/.hidden").status_code == 404
    cli("task-runner", "run", "--manifest", str(RELEASE), "--store", str(store.root))
    (run_id,) = store.run_ids()
    (store.root / run_id / "run.json").write_text("{garbage")
    response = client.get(f"/v1/task-runner/runs/{run_id}")
    assert response.status_code == 500 and "run.json cannot be read" in response.json()["detail"]
    assert "Traceback" not in response.text
    assert client.get("/v1/task-runner/runs").json()[0]["status"] == "damaged"  # the list keeps working


def test_approval_decisions_are_recorded(client, store):
    cli("task-runner", "run", "--manifest", str(RELEASE), "--store", str(store.root))
    (run_id,) = store.run_ids()
    url = f"/v1/task-runner/runs/{run_id}/approvals/release-signoff"
    assert client.post(url, json={"decision": "maybe", "decidedBy": "ann"}).status_code == 422
    assert client.post(f"/v1/task-runner/runs/{run_id}/approvals/nope",
                       json={"decision": "approve", "decidedBy": "ann"}).status_code == 409
    response = client.post(url, json={"decision": "approve", "decidedBy": "ann", "reason": "ok"})
    assert response.status_code == 200
    assert response.json()["approvals"][0]["decidedBy"] == "ann"
    assert client.post(url, json={"decision": "approve", "decidedBy": "ann"}).status_code == 409  # decided
    assert client.post("/v1/task-runner/runs/missing/approvals/x",
                       json={"decision": "approve", "decidedBy": "a"}).status_code == 404
    resumed = cli("task-runner", "resume", run_id, "--store", str(store.root))
    assert resumed.returncode == 4 and "policy" in resumed.stderr  # on to the policy gate


def test_the_exported_openapi_document_is_current(store):
    assert OPENAPI_PATH.read_text() == openapi_text(create_app(store)), \
        "docs/openapi.json is stale: regenerate it with `stella serve --print-openapi > docs/openapi.json`"


def test_serve_binds_loopback_unless_told_otherwise():
    refused = cli("serve", "--host", "0.0.0.0")
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr
    from stella_desktop.cli.serve import is_loopback
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_a_lone_surrogate_in_a_manifest_is_a_422_not_a_500(client):
    """Attack review: JSON can carry "\\ud800", which no UTF-8 text holds; the YAML reader raised
    UnicodeEncodeError and the API answered 500 "internal error"."""
    body = b'{"manifest": "apiVersion: stellaops.io/pack.v1\\nkind: \\ud800"}'
    response = client.post(SIMULATIONS, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    problem = response.json()["errors"][0]
    assert (problem["line"], problem["column"]) == (2, 7) and "surrogate" in problem["message"]


@pytest.mark.parametrize("inputs", ['{"shards": ["\\ud800"]}', '{"\\udfff": 1}', '{"shards": [{"k\\ud800": 1}]}'])
def test_a_lone_surrogate_in_inputs_is_a_422_not_a_500(client, inputs):
    """Attack review: an input value or name holding "\\ud800" crashed the canonical JSON of the preview."""
    body = ('{"manifest": ' + json.dumps(FLAKY_PACK.read_text()) + ', "inputs": ' + inputs + '}').encode()
    response = client.post(SIMULATIONS, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["errors"][0]["message"]
