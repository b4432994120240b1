"""Issue 10, item 1: DNS rebinding, cross-origin requests and the --allow-remote token, over real HTTP.

A page on a rebound domain reaches 127.0.0.1 with ``Host: evil.example:PORT``
(and ``Origin: http://evil.example:PORT`` on a POST); before the fix that
listed every run with 200 and recorded approvals.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from api_http import request, serving, start_serve, stop  # noqa: E402
from conftest import RESOURCES_PACKS  # noqa: E402
from core.execution.store import RunStore  # noqa: E402
from stella_desktop.api import create_app  # noqa: E402
from stella_desktop.api_access import Access  # noqa: E402
from stella_desktop.cli import main  # noqa: E402

RELEASE = RESOURCES_PACKS / "release-approval.yaml"
RUNS = "/v1/task-runner/runs"
DECISION = {"decision": "approve", "decidedBy": "mallory", "reason": "rebound"}


@pytest.fixture(scope="module")
def waiting_run(tmp_path_factory):
    """A store holding one run that waits for approval 'release-signoff'."""
    store = RunStore(tmp_path_factory.mktemp("access") / "store")
    subprocess.run([sys.executable, "-m", "stella_desktop.cli", "task-runner", "run", "--manifest", str(RELEASE),
                    "--store", str(store.root)], capture_output=True, check=False)
    (run_id,) = store.run_ids()
    return store, run_id


def approval_status(store, run_id) -> str:
    from core.execution.run import load_snapshot
    return load_snapshot(store, run_id)["approvals"][0]["status"]


@pytest.fixture(scope="module")
def port(waiting_run):
    with serving(create_app(waiting_run[0])) as port:
        yield port


def test_a_rebound_host_cannot_list_runs(port):
    status, headers, body = request(port, "GET", RUNS, headers={"Host": f"evil.example:{port}"})
    assert status == 403 and headers["content-type"] == "application/json"
    assert "evil.example" in json.loads(body)["detail"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert request(port, "GET", RUNS, headers={"Host": host})[0] == 200, host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:1", "evil.example", "127.0.0.1.evil.example:{port}",
                                  "evil.example:{port}@127.0.0.1", "[::2]:{port}", ""])
def test_other_hosts_and_ports_are_refused(port, host):
    status, _, body = request(port, "GET", RUNS, headers={"Host": host.format(port=port)})
    assert status in (400, 403) and "detail" in json.loads(body)


def test_every_endpoint_checks_the_host_even_the_openapi_document(port):
    for method, path in (("GET", "/openapi.json"), ("GET", "/docs"), ("GET", f"{RUNS}/x"),
                         ("POST", "/v1/task-runner/simulations"), ("GET", "/no/such/endpoint")):
        assert request(port, method, path, headers={"Host": f"evil.example:{port}"})[0] == 403, path


def test_a_rebound_page_cannot_record_an_approval(port, waiting_run):
    store, run_id = waiting_run
    url = f"{RUNS}/{run_id}/approvals/release-signoff"
    evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    status, _, body = request(port, "POST", url, DECISION, headers=evil)
    assert status == 403 and json.loads(body)["detail"]
    for origin in (f"http://evil.example:{port}", "null", f"http://127.0.0.1:{port + 1}",
                   f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port}/path"):
        status, _, body = request(port, "POST", url, DECISION, headers={"Origin": origin})
        assert status == 403 and "cross-origin" in json.loads(body)["detail"], origin
    assert approval_status(store, run_id) == "pending"  # nothing was recorded


def test_a_refused_request_cannot_hold_its_connection_with_a_body_it_never_sends(port):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(f"POST {RUNS}/x/approvals/y HTTP/1.1\r\nHost: evil.example:{port}\r\n"
                     "Content-Length: 1000000\r\n\r\n".encode())
        data = b""
        while part := sock.recv(65536):  # until the server closes it (not the 20 s timeout)
            data += part
    assert data.startswith(b"HTTP/1.1 403") and b"connection: close" in data.lower()


def test_same_origin_and_origin_less_requests_still_work(port, waiting_run):
    store, run_id = waiting_run
    simulation = {"manifest": RELEASE.read_text()}
    assert request(port, "POST", "/v1/task-runner/simulations", simulation,
                   headers={"Origin": f"http://localhost:{port}"})[0] == 200
    assert request(port, "POST", "/v1/task-runner/simulations", simulation)[0] == 200  # curl sends no Origin
    assert request(port, "GET", RUNS, headers={"Origin": "http://evil.example"})[0] == 200  # reads: Host decides
    status, _, _ = request(port, "POST", f"{RUNS}/{run_id}/approvals/release-signoff", DECISION,
                           headers={"Origin": f"http://127.0.0.1:{port}"})
    assert status == 200 and approval_status(store, run_id) == "approved"


def test_a_token_is_checked_on_every_request(tmp_path):
    access = Access(token="s3cret-token-0123456789")
    with serving(create_app(RunStore(tmp_path / "store"), access=access)) as port:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-token-012345678"},
                        {"Authorization": "Basic s3cret-token-0123456789"}):
            status, response_headers, body = request(port, "GET", RUNS, headers=headers)
            assert status == 401 and response_headers["www-authenticate"].startswith("Bearer"), headers
            assert "token" in json.loads(body)["detail"]
        assert request(port, "GET", "/openapi.json")[0] == 401
        good = {"Authorization": "Bearer s3cret-token-0123456789"}
        assert request(port, "GET", RUNS, headers=good)[0] == 200
        assert request(port, "GET", RUNS, headers={**good, "Host": f"evil.example:{port}"})[0] == 403


def test_allow_remote_generates_a_token_printed_once(tmp_path):
    process, port = start_serve("--host", "0.0.0.0", "--allow-remote", "--store", str(tmp_path / "store"))
    try:
        assert request(port, "GET", RUNS)[0] == 401
        assert request(port, "GET", RUNS, headers={"Host": f"192.0.2.7:{port}"})[0] == 401  # an address: fine
        assert request(port, "GET", RUNS, headers={"Host": f"evil.example:{port}"})[0] == 403
    finally:
        err = stop(process)
    lines = [line for line in err.splitlines() if line.startswith("access token")]
    assert len(lines) == 1
    token = lines[0].rsplit(" ", 1)[1]
    assert len(token) >= 32 and err.count(token) == 1


def test_stella_serve_on_loopback_with_a_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("correct-horse-battery-staple\n")
    process, port = start_serve("--token-file", str(token_file), "--store", str(tmp_path / "store"))
    try:
        good = {"Authorization": "Bearer correct-horse-battery-staple"}
        assert request(port, "GET", RUNS)[0] == 401
        assert request(port, "GET", RUNS, headers=good)[0] == 200
        assert request(port, "GET", RUNS, headers={**good, "Host": f"evil.example:{port}"})[0] == 403
        assert request(port, "GET", RUNS, headers={**good, "Host": f"localhost:{port}"})[0] == 200
    finally:
        err = stop(process)
    assert "correct-horse" not in err  # a token from a file is never printed


def test_serve_on_port_0_says_which_port_it_chose_and_serves_there(tmp_path):
    process, port = start_serve("--store", str(tmp_path / "store"))  # reads the port from the server's line
    try:
        assert request(port, "GET", RUNS, headers={"Host": f"127.0.0.1:{port}"})[0] == 200
    finally:
        stop(process)


def test_a_port_already_in_use_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        code = main(["serve", "--port", str(taken.getsockname()[1]), "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot listen on 127.0.0.1:" in err and "Traceback" not in err


@pytest.mark.parametrize("content, message", [(None, "cannot read --token-file"), ("short\n", "too short"),
                                              ("two words here and more\n", "without spaces"),
                                              ("", "too short"), ("folder", "not a regular file"),
                                              ("fifo", "not a regular file")])
def test_the_server_refuses_to_start_without_a_usable_token(tmp_path, capsys, content, message):
    token_file = tmp_path / "token"
    if content == "folder":
        token_file.mkdir()
    elif content == "fifo":
        os.mkfifo(token_file)
    elif content is not None:
        token_file.write_text(content)
    code = main(["serve", "--host", "0.0.0.0", "--allow-remote", "--token-file", str(token_file),
                 "--store", str(tmp_path)])  # returns before serving when it refuses
    err = capsys.readouterr().err
    assert code == 2 and message in err and "not starting" in err


def test_no_page_on_the_api_origin_loads_third_party_scripts(port):
    """Attack review: /docs and /redoc served Swagger UI and ReDoc, whose scripts come from a CDN; on the
    API's origin such a script passes the Host and Origin checks and can read runs and record approvals."""
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        status, _, body = request(port, "GET", path, headers={"Host": f"127.0.0.1:{port}"})
        assert status == 404 and b"<script" not in body, path
    assert request(port, "GET", "/openapi.json", headers={"Host": f"127.0.0.1:{port}"})[0] == 200
