"""Real HTTP against the local API: a uvicorn server in a thread, or `stella serve` in a process."""

from __future__ import annotations

import http.client
import json
import re
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



def start_serve(*args: str) -> tuple[subprocess.Popen, int]:
    """`stella serve --port 0`; returns once it says which port it chose (or raises with its stderr).

    The port comes from the server's own line: asking for port 0 and reading the chosen one back is
    what a user scripting the server does, and it leaves no window for another process to take it."""
    process = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.early_stderr = []
    for line in process.stderr:
        process.early_stderr.append(line)
        found = re.search(r"serving the Stella Desktop API on http://\S+:(\d+) ", line)
        if found:
            port = int(found.group(1))
            assert port != 0, line
            socket.create_connection(("127.0.0.1", port), timeout=10).close()
            return process, port
    process.wait(30)
    raise RuntimeError(f"stella serve exited {process.returncode}: {''.join(process.early_stderr)}")


def stop(process: subprocess.Popen) -> str:
    """Stop a `stella serve` process; its stderr."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return "".join(getattr(process, "early_stderr", [])) + err
