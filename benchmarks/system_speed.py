"""What system packages cost: the ELF scan a snapshot adds, and building the system layer from cached .deb files.

Makes a kernel environment from Debian's /usr/bin/python3 with numpy, scipy, pandas and
opencv-python (once, under --workdir), then times, as medians of N runs in this process:

- the probe alone (what a snapshot did before system packages);
- the system capture: every shared object in the environment read with pyelftools, needed
  libraries resolved in ld.so's order, owners asked of dpkg once; cold (no ELF cache) and
  warm (the cache under ENVCAPSULE_CACHE_DIR, as a second snapshot finds it);
- the system layer's build (``--no-cache``) on the test base image from .deb files already in
  the host cache, against building the base with one empty ``RUN`` (the engine's own cost).

    .venv/bin/python benchmarks/system_speed.py [--runs 5] [--builds 3] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envcapsule.capture import probe_interpreter  # noqa: E402
from envcapsule.paths import cache_root  # noqa: E402
from envcapsule.snapshot import split_system  # noqa: E402
from envcapsule.system import elf  # noqa: E402
from envcapsule.system.debs import plan_system, read_base  # noqa: E402
from envcapsule.system.layer import SystemLayer  # noqa: E402

PACKAGES = ["numpy", "scipy", "pandas", "opencv-python"]
BASE = os.environ.get("ENVCAPSULE_TEST_BASE_IMAGE", "envcapsule-test/python:3.11.2-bookworm")


def median(times: list[float]) -> float:
    return round(statistics.median(times), 3)


def forget() -> None:
    """Drop what this process remembers (ELF files read, the loader cache), as a new snapshot process starts."""
    elf._read_elf.cache_clear()
    elf.loader_cache.cache_clear()


def kernel(workdir: Path) -> Path:
    python = workdir / "env" / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(workdir / "env")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
    return python


def build_seconds(client: Any, dockerfile: str, folder: Path) -> float:
    (folder / "Dockerfile").write_text(dockerfile)
    started = time.perf_counter()
    image, _ = client.images.build(path=str(folder), nocache=True, rm=True, forcerm=True)
    seconds = time.perf_counter() - started
    client.images.remove(image.id, force=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "envcapsule-system-bench")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    python = kernel(args.workdir)
    facts = probe_interpreter(python)
    elf_cache = cache_root() / "elf-dynamic.json"

    probe, cold, warm = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        probe_interpreter(python)
        probe.append(time.perf_counter() - started)
        elf_cache.unlink(missing_ok=True)
        forget()
        started = time.perf_counter()
        _, system = split_system(facts, None, set())
        cold.append(time.perf_counter() - started)
        forget()  # as a new process finds it: only the cache on disk is warm
        started = time.perf_counter()
        split_system(facts, None, set())
        warm.append(time.perf_counter() - started)
    shared_objects = sum(1 for _ in (Path(facts.interpreter.prefix) / "lib").rglob("*.so*"))

    import docker

    client = docker.from_env()
    release, status = read_base(client, BASE)
    packages = [p.to_record() for p in system.packages]
    plan = plan_system(packages, base_release=release, base_status=status, image=BASE, cache=cache_root() / "debs")
    layer = SystemLayer(plan, cache_root() / "debs")
    from envcapsule.image.dockerfile import ImageSpec, system_layer

    spec = ImageSpec(
        BASE, "0" * 64, None, "x.capsule", "3.11.2", "now", system_packages=plan.mode if plan.mode != "none" else None
    )
    with_layer, empty = [], []
    with tempfile.TemporaryDirectory() as scratch:
        layer.write(Path(scratch))
        for _ in range(args.builds):
            with_layer.append(build_seconds(client, f"FROM {BASE}\n{system_layer(spec)}\n", Path(scratch)))
            empty.append(build_seconds(client, f"FROM {BASE}\nRUN true\n", Path(scratch)))
    figures = {
        "shared_objects": shared_objects,
        "system_packages": [p.name for p in system.packages],
        "debs": len(plan.debs),
        "deb_bytes": sum(d.size for d in plan.debs),
        "probe_seconds": median(probe),
        "system_capture_cold_seconds": median(cold),
        "system_capture_warm_seconds": median(warm),
        "system_layer_build_seconds": median(with_layer),
        "empty_run_build_seconds": median(empty),
        "runs": args.runs,
        "builds": args.builds,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"environment: {', '.join(PACKAGES)} ({shared_objects} shared objects)")
    print(
        f"system packages: {', '.join(figures['system_packages'])} -> {figures['debs']} .deb files, {figures['deb_bytes']:,} bytes"
    )
    print(f"probe alone:                {figures['probe_seconds']} s")
    print(f"system capture, cold cache: {figures['system_capture_cold_seconds']} s")
    print(f"system capture, warm cache: {figures['system_capture_warm_seconds']} s (target <= 0.3 s)")
    print(
        f"system layer build:         {figures['system_layer_build_seconds']} s (an empty RUN: {figures['empty_run_build_seconds']} s)"
    )


if __name__ == "__main__":
    main()
