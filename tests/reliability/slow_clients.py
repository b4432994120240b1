"""Stalled uploads and slow headers against a real `stella serve`: time held and peak memory.

    .venv/bin/python tests/reliability/slow_clients.py          # 20 clients of each kind
    .venv/bin/python tests/reliability/slow_clients.py --long   # 100 clients of each kind

Starts ``stella serve`` (default limits) on a free loopback port, then, at once:

* N clients declare a 9 MiB body, send 8 MiB of it and stall;
* N clients send 8 MiB of a chunked body and stall;
* N clients send half a request line and stall ("slowloris");
and then N clients that send a complete 9 MiB body at once (answered 422, or
503 while the body budget is spent). It checks that the server keeps answering a normal request, that every
stalled connection is answered (408, or 503 when the body budget is spent)
or closed within the deadlines, and reports the server's peak RSS (VmHWM).
Before the fix, 100 stalled 9 MiB bodies held 1.3 GB and were never dropped.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
MiB = 1024 * 1024
PATH = "/v1/task-runner/simulations"
STALLING = ("declared", "chunked", "slowloris")
KINDS = (*STALLING, "complete")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def read_status(sock: socket.socket) -> str:
    data = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (ConnectionResetError, socket.timeout):
        pass
    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed"


def probe(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET /v1/task-runner/runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        return read_status(sock)


def client(port: int, kind: str, results: list, payload: bytes) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        try:
            if kind == "declared":
                sock.sendall(f"{head}Content-Length: {9 * MiB}\r\n\r\n".encode() + payload)
            elif kind == "chunked":
                sock.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
                for offset in range(0, len(payload), MiB):
                    sock.sendall(b"%x\r\n" % MiB + payload[offset:offset + MiB] + b"\r\n")
            elif kind == "complete":
                body = b'{"manifest": "x", "inputs": {"pad": "' + payload + b" " * MiB + b'"}}'
                sock.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            else:
                sock.sendall(b"POST /v1/task-runner/simul")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before everything was sent
        results.append((kind, read_status(sock), time.monotonic() - started))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="100 clients of each kind (default 20)")
    args = parser.parse_args()
    count = 100 if args.long else 20
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as store:
        server = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "serve", "--port", str(port),
                                   "--store", store], env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("stella serve did not start")
                    time.sleep(0.05)
            idle_kib = kib(server.pid, "VmRSS")
            payload = b" " * (8 * MiB)
            results: list = []
            threads = [threading.Thread(target=client, args=(port, kind, results, payload))
                       for kind in STALLING for _ in range(count)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(2)
            answered = probe(port)  # 200, or 503 at once when the flood holds all 64 connections
            for thread in threads:
                thread.join(180)
            elapsed = time.monotonic() - started
            peak_kib = kib(server.pid, "VmHWM")
            after = probe(port)
            threads = [threading.Thread(target=client, args=(port, "complete", results, payload))
                       for _ in range(count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)
            complete_peak_kib = kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.communicate(timeout=30)
    by_kind: dict[str, Counter] = {}
    longest: dict[str, float] = {}
    for kind, status, seconds in results:
        by_kind.setdefault(kind, Counter())[status] += 1
        longest[kind] = max(longest.get(kind, 0.0), seconds)
    print(f"{count} clients of each kind, all at once; a normal request meanwhile: {answered}, after: {after}")
    for kind in KINDS:
        outcomes = ", ".join(f"{n} x {status}" for status, n in sorted(by_kind.get(kind, Counter()).items()))
        print(f"  {kind:<10} {outcomes}; the last was let go after {longest.get(kind, 0):.1f} s")
    print(f"server RSS: {idle_kib / 1024:.0f} MiB idle, peak {peak_kib / 1024:.0f} MiB during the stalled flood "
          f"(all let go in {elapsed:.1f} s), peak {complete_peak_kib / 1024:.0f} MiB after the complete bodies")
    held = [r for r in results if r[1] not in ("408", "503", "413", "closed", "422")]
    ok = answered in ("200", "503") and after == "200" and not held and len(results) == len(KINDS) * count \
        and complete_peak_kib < 400 * 1024
    print("PASS" if ok else f"FAIL: {held[:5]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
