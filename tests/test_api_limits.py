"""Issue 10, item 13: slow connections and large bodies cannot hold the API's time or memory (real HTTP).

The deadlines are shortened here (the defaults are 10 s for headers and 30 s
for a body); ``tests/reliability/slow_clients.py`` runs 100 stalled 9 MiB
uploads against a real ``stella serve`` with the defaults and measures memory.
"""

import asyncio
import json
import socket
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from api_http import request, serving  # noqa: E402
from conftest import FLAKY_PACK  # noqa: E402
from core.execution.store import RunStore  # noqa: E402
from stella_desktop.api import create_app  # noqa: E402
from stella_desktop.api_limits import BodyGuard, Limits  # noqa: E402

SIMULATIONS = "/v1/task-runner/simulations"
KiB = 1024


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=20)


def head(port: int, length: int | None = None, chunked: bool = False) -> bytes:
    lines = [f"POST {SIMULATIONS} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, whole text) of the response on ``sock`` (read until the server closes it)."""
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        data += part
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def json_body(data: bytes) -> dict:
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


@pytest.fixture
def served(tmp_path):
    """``served(limits)``: the API with ``limits`` (in the app and the server) on a loopback port."""
    def serve(limits: Limits | None = None):
        limits = limits or Limits()
        return serving(create_app(RunStore(tmp_path / "store"), limits=limits), limits)
    return serve


def test_a_chunked_body_over_10_mib_gets_413(served):
    with served() as port, connect(port) as sock:
        sock.sendall(head(port, chunked=True))
        piece = b" " * (256 * KiB)
        try:
            for _ in range(40):  # exactly 10 MiB: still fine
                sock.sendall(chunk(piece))
            sock.sendall(chunk(b" ") + b"0\r\n\r\n")  # one byte more, and the end (so nothing is left unread)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may close before everything is sent
        status, data = read_response(sock)
    assert status == 413 and "larger than 10 MiB" in json_body(data)["detail"]


def test_a_declared_body_over_10_mib_gets_413_before_it_is_sent(served):
    with served() as port, connect(port) as sock:
        sock.sendall(head(port, length=10 * 1024 * KiB + 1))
        status, data = read_response(sock)
    assert status == 413 and "larger than 10 MiB" in json_body(data)["detail"]


def test_headers_that_never_finish_are_dropped(served):
    with served(Limits(header_seconds=0.3)) as port:
        with connect(port) as silent, connect(port) as trickling:
            trickling.sendall(b"GET /v1/task-runner/runs HTTP/1.1\r\nHost: 127.0.0.1")
            started = time.monotonic()
            assert silent.recv(1) == b"" and trickling.recv(1) == b""  # closed, not the 20 s socket timeout
            assert time.monotonic() - started < 15
        # a kept-alive connection gets the same deadline for its next request's headers
        with connect(port) as kept:
            kept.sendall(f"GET /v1/task-runner/runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            first = b""
            while b"\r\n\r\n[]" not in first:  # the whole answer: headers and the empty list
                first += kept.recv(65536)
            assert first.startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /v1/task-runner/runs HTTP/1.1\r\n")
            assert kept.recv(1) == b""
        assert request(port, "GET", "/v1/task-runner/runs")[0] == 200  # and the server still answers


def test_a_stalled_body_gets_408_and_is_closed(served):
    with served(Limits(body_seconds=0.3)) as port, connect(port) as sock:
        sock.sendall(head(port, length=1000) + b'{"manifest": ')
        status, data = read_response(sock)
    assert status == 408 and "did not arrive within 0.3 s" in json_body(data)["detail"]


class Upload:
    """One request's body, fed to the ASGI app by hand: a deterministic stand-in for a slow client."""

    def __init__(self, length: int | None):
        self.scope = {"type": "http", "method": "POST", "path": SIMULATIONS, "headers":
                      [(b"content-length", str(length).encode())] if length is not None else []}
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []

    async def receive(self):
        return await self.queue.get()

    async def send(self, message):
        self.sent.append(message)

    def feed(self, data: bytes, more: bool = True):
        self.queue.put_nowait({"type": "http.request", "body": data, "more_body": more})

    @property
    def status(self):
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_in_flight_share_a_memory_budget(chunked):
    async def scenario():
        seen = []

        async def endpoint(scope, receive, send):
            seen.append(len((await receive())["body"]))
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        guard = BodyGuard(endpoint, Limits(body_memory=1024 * KiB, body_seconds=0.5))
        stalled, second, third = (Upload(None if chunked else size) for size in (700 * KiB, 600 * KiB, 300 * KiB))
        stalled.feed(b" " * (500 * KiB))  # then nothing more: the client stalls
        first = asyncio.ensure_future(guard(stalled.scope, stalled.receive, stalled.send))
        await asyncio.sleep(0)  # let it take its share
        second.feed(b" " * (600 * KiB), more=False)
        await guard(second.scope, second.receive, second.send)
        assert second.status == 503 and (b"retry-after", b"1") in second.sent[0]["headers"]
        third.feed(b" " * (300 * KiB), more=False)  # 700 (or 500 so far) + 300 < 1024: fits
        await guard(third.scope, third.receive, third.send)
        assert third.status == 200
        await first
        assert stalled.status == 408 and guard.budget.used == 0  # timed out, and its share came back
        second.feed(b" " * (600 * KiB), more=False)
        await guard(second.scope, second.receive, second.send)
        assert second.sent[-1]["type"] == "http.response.body" and guard.budget.used == 0
        return seen

    assert asyncio.run(scenario()) == [300 * KiB, 600 * KiB]


def test_small_requests_are_not_affected(served):
    with served(Limits(body_memory=64 * KiB)) as port:
        status, _, body = request(port, "POST", SIMULATIONS, {"manifest": FLAKY_PACK.read_text(),
                                                              "inputs": {"shards": ["a"]}})
        assert status == 200 and json.loads(body)["steps"]


def test_bytes_that_are_not_http_get_a_json_400(served):
    with served() as port, connect(port) as sock:
        sock.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        status, data = read_response(sock)
    assert status == 400 and "not valid HTTP" in json_body(data)["detail"]


def test_connections_past_the_cap_get_a_json_503(served):
    with served(Limits(max_connections=2)) as port, connect(port) as first, connect(port) as second:
        status, headers, body = request(port, "GET", "/v1/task-runner/runs")
        assert status == 503 and headers["retry-after"] == "1" and "too many connections" in json.loads(body)["detail"]
        first.close()
        second.close()
        deadline = time.monotonic() + 20
        while (status := request(port, "GET", "/v1/task-runner/runs")[0]) == 503 and time.monotonic() < deadline:
            pass  # until the server has seen both close
        assert status == 200
