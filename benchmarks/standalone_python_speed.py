"""What a standalone CPython costs when the base image has none (the nvidia/cuda runtime images).

Builds one small capsule (tabulate and ipykernel from Debian's /usr/bin/python3) cold
(--no-cache) on the offline bookworm base, which has Python, and on the same base with
Python removed, which gets the standalone build (tests/pythonbuilds.py makes both offline;
the build is fetched once, as a user's cache keeps it). Reports medians and the ratio.

Target: the standalone stage adds at most 25 % to a cold build.

    .venv/bin/python benchmarks/standalone_python_speed.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work" / "standalone"
BASE_IMAGE = "envcapsule-test/python:3.11.2-bookworm"
sys.path.insert(0, str(ROOT))

from tests.pythonbuilds import downloads_table, make_no_python_image, standalone_archive  # noqa: E402


def envcapsule(env: dict[str, str], *args: str | Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "envcapsule", *map(str, args), "--json"], env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise SystemExit(f"envcapsule {args[0]} failed: {completed.stdout}{completed.stderr}")
    return json.loads(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import docker

    client = docker.from_env()
    WORK.mkdir(parents=True, exist_ok=True)
    python = WORK / "env" / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(python.parents[1])], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "tabulate==0.9.0", "ipykernel"], check=True)
    table = downloads_table(WORK, standalone_archive(WORK))
    notebook = WORK / "project" / "quickstart.ipynb"
    notebook.parent.mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", notebook)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(WORK / "cache"), "UV_PYTHON_DOWNLOADS_JSON_URL": str(table)}
    envcapsule(env, "snapshot", notebook, "--python", python)

    bases = {"with Python": BASE_IMAGE, "standalone Python": make_no_python_image(client, BASE_IMAGE)}
    results = {}
    for label, base in bases.items():
        envcapsule(env, "build", notebook, "--base-image", base, "--no-cache")  # warms the wheel and Python caches
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            built = envcapsule(env, "build", notebook, "--base-image", base, "--no-cache")
            times.append(time.perf_counter() - start)
        size = client.images.get(built["image_id"]).attrs["Size"]
        client.images.remove(built["image_id"], force=True)
        results[label] = {"cold_build_s": round(statistics.median(times), 2), "image_mb": round(size / 1e6, 1)}
    with_python, standalone = results["with Python"], results["standalone Python"]
    results["ratio"] = round(standalone["cold_build_s"] / with_python["cold_build_s"], 2)
    results["extra_mb"] = round(standalone["image_mb"] - with_python["image_mb"], 1)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for label in bases:
        print(f"{label:18} cold build {results[label]['cold_build_s']:6.1f} s   image {results[label]['image_mb']:7.1f} MB")
    print(f"standalone / with Python: {results['ratio']:.2f} x build time, +{results['extra_mb']:.1f} MB (target <= 1.25 x)")


if __name__ == "__main__":
    main()
