"""Build and launch speed, and image size, on a real Docker engine.

Makes (once, under .benchmarks-work/) a kernel environment from Debian's /usr/bin/python3
with notebooks/requirements.txt plus a small local package, snapshots it, and measures in one run:

  cold build            every layer rebuilt (--no-cache); locked files already in the host cache
  unchanged rebuild     `envcapsule build` of a capsule whose image exists
  one-package rebuild   a small local package at a new version (new on every run), layer cache warm
  launch to ready       `envcapsule launch` until Jupyter's /api answers
  image size            against base image + installed server and kernel environments

Targets: launch-to-ready <= 3 s median; one-package rebuild <= 25 % of the cold build;
image size <= 1.1 x (base + installed environments).

    .venv/bin/python benchmarks/image_speed.py [--base-image IMAGE] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work"


def envcapsule(*args: str | Path) -> dict:
    completed = subprocess.run([sys.executable, "-m", "envcapsule", *map(str, args), "--json"], capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"envcapsule {args[0]} failed: {completed.stdout}{completed.stderr}")
    return json.loads(completed.stdout)


def timed(*args: str | Path) -> tuple[float, dict]:
    start = time.perf_counter()
    result = envcapsule(*args)
    return time.perf_counter() - start, result


def kernel_environment() -> Path:
    python = WORK / "env-image" / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(python.parents[1])], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(ROOT / "notebooks" / "requirements.txt"),
            ],
            check=True,
        )
        install_small_package(python, "1.0.0")
    return python


def install_small_package(python: Path, version: str) -> None:
    """A one-module package installed from a local folder: envcapsule vendors it, so each version is new content."""
    folder = WORK / "smallpkg"
    (folder / "smallpkg").mkdir(parents=True, exist_ok=True)
    (folder / "smallpkg" / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.9"]\nbuild-backend = "flit_core.buildapi"\n'
        f'[project]\nname = "smallpkg"\nversion = "{version}"\ndescription = "benchmark fixture"\n'
    )
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(folder)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="envcapsule-test/python:3.11.2-bookworm")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import docker

    client = docker.from_env()
    WORK.mkdir(exist_ok=True)
    python = kernel_environment()
    notebook = WORK / "image-bench" / "analysis.ipynb"
    notebook.parent.mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", notebook)
    base = ["--base-image", args.base_image]

    envcapsule("snapshot", notebook, "--python", python)
    first = envcapsule("build", notebook, *base)  # fills the host cache and the layer cache
    cold = [timed("build", notebook, *base, "--no-cache")[0] for _ in range(args.repeat)]
    unchanged = [timed("build", notebook, *base)[0] for _ in range(5)]

    one_package = []
    for _ in range(args.repeat):
        install_small_package(python, f"1.0.{time.time_ns()}")
        variant = notebook.with_name("analysis-changed.ipynb")
        shutil.copy(notebook, variant)
        envcapsule("snapshot", variant, "--python", python)
        seconds, result = timed("build", variant, *base)
        one_package.append(seconds)
        client.images.remove(result["image"])
    install_small_package(python, "1.0.0")

    launches = []
    for _ in range(5):
        seconds, launched = timed("launch", first["image"], "--no-browser")
        launches.append(seconds)
        envcapsule("stop", launched["container"])

    image_size = client.images.get(first["image"]).attrs["Size"]
    base_size = client.images.get(args.base_image).attrs["Size"]
    du = client.containers.run(
        first["image"], ["du", "-sb", "/opt/envcapsule/server", "/opt/envcapsule/kernel"], entrypoint=[], remove=True
    )
    installed = sum(int(line.split()[0]) for line in du.decode().splitlines())

    results = {
        "cold_build_s": statistics.median(cold),
        "unchanged_rebuild_s": statistics.median(unchanged),
        "one_package_rebuild_s": statistics.median(one_package),
        "launch_to_ready_s": statistics.median(launches),
        "image_mb": image_size / 1e6,
        "base_plus_environments_mb": (base_size + installed) / 1e6,
    }
    results["one_package_over_cold"] = results["one_package_rebuild_s"] / results["cold_build_s"]
    results["image_over_base_plus_environments"] = image_size / (base_size + installed)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"medians: cold build over {args.repeat}, unchanged rebuild and launch over 5")
        for key, value in results.items():
            print(f"  {key:<36} {value:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
