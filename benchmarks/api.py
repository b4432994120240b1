"""Simulations per second through the local API, over loopback (a bounded load).

    .venv/bin/python benchmarks/api.py [--requests 300] [--seconds 60]

Starts ``stella serve`` on a free loopback port, sends ``--requests``
simulations of the bundled sample pack one after another on a keep-alive
connection (stopping early after ``--seconds``), checks every answer is 200,
and stops the server.  Floor, same run: the same simulation in process.
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.manifest import parse_pack  # noqa: E402
from core.simulation import preview_pack  # noqa: E402

SAMPLE = REPO / "resources" / "packs" / "sbom-remediation"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    manifest = (SAMPLE / "pack.yaml").read_text()
    inputs = json.loads((SAMPLE / "inputs.json").read_text())
    body = json.dumps({"manifest": manifest, "inputs": inputs}).encode()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "stella_desktop.cli", "serve", "--port", str(port),
                               "--packs", str(SAMPLE), "--store", str(REPO / "benchmarks" / "results" / "api-store")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        wait_for(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        started = time.perf_counter()
        for _ in range(args.requests):
            sent = time.perf_counter()
            connection.request("POST", "/v1/task-runner/simulations", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            latencies.append(time.perf_counter() - sent)
            if time.perf_counter() - started > args.seconds:
                break
        elapsed = time.perf_counter() - started
        connection.close()
    finally:
        server.terminate()
        server.wait(10)
    count = len(latencies)
    pack_started = time.perf_counter()
    for _ in range(count):
        preview_pack(parse_pack(manifest, "manifest", str(SAMPLE)), inputs).to_json()
    in_process = time.perf_counter() - pack_started
    print(f"api: {count} simulations of the sample pack over loopback, one connection, sequential")
    print(f"  {count / elapsed:,.0f} simulations/s; latency median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {sorted(latencies)[int(count * 0.95) - 1] * 1000:.1f} ms")
    print(f"  floor, the same simulation in process: {count / in_process:,.0f} simulations/s "
          f"-> HTTP costs {(elapsed / in_process):.1f}x")


if __name__ == "__main__":
    main()
