"""How fast `GET envcapsule/api/status` answers for a notebook with a capsule, from a real Jupyter server.

Makes a scratch root folder under .benchmarks-work/ with a notebook and its capsule (a real
snapshot of this interpreter's environment, taken offline: lockfile look-ups do not change
what status reads), starts `python -m jupyter_server` with envcapsule enabled in a subprocess,
and measures over HTTP, as the sidebar calls it:

  cold                 the first request (first probe of the kernel, first engine connection)
  warm                 median of N requests after it: the kernel's facts are reused for
                       live_cache_seconds (2 s), the engine client is kept
  warm, probe each     the same with --EnvcapsuleApp.live_cache_seconds=0: the kernel's
                       interpreter is probed on every request

Target: warm median <= 300 ms. The Docker engine is asked when there is one; the output says whether it answered.

    .venv/bin/python benchmarks/status_speed.py [--requests 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work" / "status-speed"
NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {}, "outputs": [], "source": ["1 + 1"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def prepare_root() -> Path:
    from envcapsule.snapshot import snapshot

    shutil.rmtree(WORK, ignore_errors=True)
    root = WORK / "root"
    root.mkdir(parents=True)
    notebook = root / "analysis.ipynb"
    notebook.write_text(json.dumps(NOTEBOOK))
    os.environ["ENVCAPSULE_CACHE_DIR"] = str(WORK / "cache")
    snapshot(notebook, python=sys.executable, offline=True)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def jupyter_server(root: Path, *options: str) -> Iterator[tuple[str, str]]:
    """A Jupyter server with envcapsule enabled; yields (base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    config = WORK / "config"
    shutil.rmtree(config, ignore_errors=True)
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"envcapsule": True}}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(WORK / "runtime")}
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",  # containers and CI runners often run as root
        f"--IdentityProvider.token={token}",
        *options,
    ]
    log = (WORK / "server.log").open("a")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}api/status", headers={"Authorization": f"token {token}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The Jupyter server did not start; see {WORK / 'server.log'}.")
            time.sleep(0.1)
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def measure(url: str, token: str, requests: int) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers={"Authorization": f"token {token}"}, timeout=60) as client:
        times, last = [], {}
        for _ in range(requests + 1):
            started = time.perf_counter()
            response = client.get("envcapsule/api/status", params={"path": "analysis.ipynb"})
            times.append(time.perf_counter() - started)
            if response.status_code == 404:
                raise SystemExit(f"envcapsule's server extension did not answer (404); see {WORK / 'server.log'}.")
            response.raise_for_status()
            last = response.json()
    warm = times[1:]
    return {
        "cold_ms": round(times[0] * 1000, 1),
        "warm_median_ms": round(statistics.median(warm) * 1000, 1),
        "warm_p90_ms": round(sorted(warm)[int(0.9 * (len(warm) - 1))] * 1000, 1),
        "warm_max_ms": round(max(warm) * 1000, 1),
        "state": last.get("state"),
        "packages": last.get("packages"),
        "engine": "answered" if last.get("engine_error") is None else f"unreachable: {last.get('engine_error')}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    root = prepare_root()
    results = {}
    with jupyter_server(root) as (url, token):
        results["cached facts (default)"] = measure(url, token, args.requests)
    with jupyter_server(root, "--EnvcapsuleApp.live_cache_seconds=0") as (url, token):
        results["probe each request"] = measure(url, token, args.requests)

    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for name, result in results.items():
        print(
            f"{name:24} cold {result['cold_ms']:7.1f} ms   warm median {result['warm_median_ms']:6.1f} ms   "
            f"p90 {result['warm_p90_ms']:6.1f} ms   max {result['warm_max_ms']:6.1f} ms"
        )
    first = next(iter(results.values()))
    print(f"capsule state {first['state']}, {first['packages']} packages; Docker engine {first['engine']}")
    print("target: warm median <= 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
