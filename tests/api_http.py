"""Real HTTP against the local API: a uvicorn server in a thread, or `stella serve` in a process."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from stella_desktop.api_limits import Limits
from stella_desktop.api_server import bound_socket, server_for


@contextmanager
def serving(app, limits: Limits | None = None):
    """Serve ``app`` on a free loopback port with the production server setup; yields the port."""
    sock = bound_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = server_for(app, "127.0.0.1", port, limits or Limits())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def request(port: int, method: str, path: str, body: dict | bytes | None = None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request over a fresh connection; ``headers`` may replace Host."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if isinstance(body, dict) else body
        sent = dict(headers or {})
        if isinstance(body, dict):
            sent.setdefault("Content-Type", "application/json")
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(*args: str) -> tuple[subprocess.Popen, int]:
    """`stella serve` on a free port; returns once it answers (or raises with its stderr)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "serve", "--port", str(port), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stella serve exited {process.returncode}: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("stella serve did not start")


def stop(process: subprocess.Popen) -> str:
    """Stop a `stella serve` process; its stderr."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err
