"""Builds against their floor: a new capsule on a warm host, uv against pip, first import in the container.

For two kernel environments made once under .benchmarks-work/ from Debian's /usr/bin/python3
(the example's notebooks/requirements.txt, and a ~60-distribution scikit-learn one), measures in
one run, side by side:

  floor                 `uv pip install --no-deps --require-hashes --no-index` of the capsule's locked
                        wheels into a fresh venv, uv's cache warm (the least any install can cost)
  pip floor             the same install with pip, as images were built before
  layer commit          the engine committing the installed kernel environment as one layer (a
                        container that installed it, then `commit`): what any image of it costs on top
  new-capsule build     `envcapsule build` of a capsule seen for the first time on a warm host: every
                        kernel layer new to the engine (the previous round's images removed, and two
                        fresh local packages), the shared server images in the engine's cache and the
                        host's caches (wheels, installed wheels) warm
  one-package rebuild   the same capsule again after one local package changed
  image size            the image against the base plus the installed server and kernel environments
  cold build uv / pip   `--no-cache`, locked files in the host cache, installing with uv and with pip
  first import          `import pandas` in a fresh container of the uv-built and pip-built images, and
                        in the kernel environment on the host

Ratios are against the floor measured in the same run; targets: new-capsule build <= 3x the floor
plus the layer commit, <= 10 s for the example; one-package rebuild <= 5 s; image size <= 1.1x.

    .venv/bin/python benchmarks/build_floor.py [--env example|sklearn|both] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work"
ENVIRONMENTS = {
    "example": ["-r", str(ROOT / "notebooks" / "requirements.txt")],
    "sklearn": ["scikit-learn", "scipy", "pandas", "numpy", "ipykernel", "matplotlib", "jupyterlab-widgets", "ipywidgets"],
}
IMPORT_PANDAS = "import time; t = time.perf_counter(); import pandas; print(time.perf_counter() - t)"


def kernel_environment(name: str) -> Path:
    python = WORK / f"env-floor-{name}" / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(python.parents[1])], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *ENVIRONMENTS[name]], check=True)
    return python


def fresh_fixtures(python: Path, tag: str, names: tuple[str, ...] = ("floorbig", "floorsmall")) -> None:
    """Local packages new on every call: one of 5 MB of random data, one tiny; both land in the capsule's own layer."""
    for name, payload in (("floorbig", os.urandom(5 * 1024 * 1024)), ("floorsmall", b"")):
        if name not in names:
            continue
        folder = WORK / name
        shutil.rmtree(folder, ignore_errors=True)
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f"TAG = {tag!r}\n")
        (folder / name / "payload.bin").write_bytes(payload)
        (folder / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["flit_core>=3.9"]\nbuild-backend = "flit_core.buildapi"\n'
            f'[project]\nname = "{name}"\nversion = "1.0.{tag}"\ndescription = "benchmark fixture"\n'
        )
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(folder)], check=True)


def locked_wheels(capsule: Path, into: Path) -> Path:
    """The capsule's locked wheels from envcapsule's host cache in one folder, with their hashed requirements."""
    from envcapsule.capsule import read_capsule
    from envcapsule.image.files import install_plan
    from envcapsule.image.wheelcache import WheelCache, link_into
    from envcapsule.paths import cache_root

    cache = WheelCache(cache_root() / "wheels")
    lines = []
    for file in install_plan(read_capsule(capsule)).files:
        link_into(cache.path(file.sha256, file.filename), into)
        lines.append(f"{file.name}=={file.version} --hash=sha256:{file.sha256}\n")
    (into / "requirements.txt").write_text("".join(lines))
    return into


def floor(wheels: Path, installer: str) -> float:
    """One install of ``wheels`` into a fresh venv; only the install is timed."""
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory(prefix="envcapsule-floor-") as scratch:
        venv = Path(scratch) / "env"
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
        common = [
            "--no-deps",
            "--require-hashes",
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(wheels / "requirements.txt"),
        ]
        if installer == "uv":
            command = [find_uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python"), "--link-mode=copy"]
            command += ["--compile-bytecode", "--quiet", *common]
        else:
            command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet"]
            command += ["--disable-pip-version-check", *common]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        return time.perf_counter() - start


def layer_commit(client: Any, result: Any, wheels: Path) -> float:
    """Install ``wheels`` in a container of the shared server builder image, then time the engine's commit of it."""
    from envcapsule.contract import KERNEL_PREFIX
    from envcapsule.image.build import SHARED_REPOSITORY
    from envcapsule.image.installer import install_command

    start = client.images.get(result.server_image_id)
    tag = next(t for t in start.tags if t.startswith(f"{SHARED_REPOSITORY}:"))
    script = f"python3 -m venv --without-pip {KERNEL_PREFIX} && {install_command(f'{KERNEL_PREFIX}/bin/python', '/wheels')}"
    container = client.containers.create(
        f"{tag}-builder", ["sh", "-c", script], entrypoint=[], volumes={str(wheels): {"bind": "/wheels", "mode": "ro"}}
    )
    try:
        container.start()
        assert container.wait()["StatusCode"] == 0, container.logs()[-2000:]
        began = time.perf_counter()
        image = container.commit()
        seconds = time.perf_counter() - began
        client.images.remove(image.id, force=True)
        return seconds
    finally:
        container.remove(force=True)


def size_ratio(client: Any, result: Any, base_image: str) -> float:
    """The image's size against the base's plus the installed server and kernel environments."""
    du = "du -sb /opt/envcapsule/server /opt/envcapsule/kernel"
    output = client.containers.run(result.image_id, ["sh", "-c", du], entrypoint=[], remove=True, network_disabled=True)
    environments = sum(int(line.split()[0]) for line in output.decode().splitlines())
    return client.images.get(result.image_id).attrs["Size"] / (client.images.get(base_image).attrs["Size"] + environments)


def build(notebook: Path, base_image: str, *, no_cache: bool = False, installer: str = "uv") -> tuple[float, Any]:
    from envcapsule import api
    from envcapsule.image.installer import Installer

    patch = mock.patch("envcapsule.image.build.host_installer", return_value=Installer(None, "the benchmark asks for pip"))
    with patch if installer == "pip" else mock.patch.dict(os.environ):
        start = time.perf_counter()
        result = api.build(notebook, base_image=base_image, no_cache=no_cache)
        return time.perf_counter() - start, result


def first_import(client: Any, image: str) -> float:
    output = client.containers.run(
        image, ["/opt/envcapsule/kernel/bin/python", "-c", IMPORT_PANDAS], entrypoint=[], remove=True, network_disabled=True
    )
    return float(output.decode().strip().splitlines()[-1])


def measure(name: str, base_image: str, repeat: int, client: Any) -> dict[str, float]:
    from envcapsule import api

    python = kernel_environment(name)
    notebook = WORK / f"floor-{name}" / "analysis.ipynb"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", notebook)
    made: list[str] = []

    new_capsule, floors, pip_floors, installed, commits, sizes, one_package = [], [], [], [], [], [], []
    for round_ in range(repeat + 1):  # the first round warms the host cache, uv's cache and the server layers
        fresh_fixtures(python, f"{time.time_ns()}")
        api.snapshot(notebook, python=python)
        seconds, result = build(notebook, base_image)
        steps = {s.instruction: s.cached for s in result.steps}
        kernel_runs = [i for i in steps if i.startswith(("RUN ", "COPY kernel-")) and "kernel-" in i]  # stages, or host installs
        with tempfile.TemporaryDirectory(prefix="envcapsule-wheels-") as scratch:
            wheels = locked_wheels(notebook.with_name("analysis.capsule"), Path(scratch))
            uv_seconds, pip_seconds = floor(wheels, "uv"), floor(wheels, "pip")
            commit_seconds = layer_commit(client, result, wheels)
        size = size_ratio(client, result, base_image)
        # One package changed: a new version of the tiny local package, everything else as it was.
        fresh_fixtures(python, f"{time.time_ns()}", ("floorsmall",))
        api.snapshot(notebook, python=python)
        one_seconds, changed = build(notebook, base_image)
        rebuilt = [s.instruction for s in changed.steps if not s.cached and "kernel-" in s.instruction]
        for image_id in (changed.image_id, result.image_id):  # the next capsule finds none of these kernel layers
            client.images.remove(image_id, force=True)
        if round_ == 0:
            continue
        assert all("kernel-local" in i for i in rebuilt), rebuilt
        one_package.append(one_seconds)
        commits.append(commit_seconds)
        sizes.append(size)
        assert result.server_reused or all(s.cached for s in result.server_steps if not s.instruction.startswith("FROM"))
        assert kernel_runs and not any(steps[i] for i in kernel_runs), "a kernel layer came from the cache"
        new_capsule.append(seconds)
        floors.append(uv_seconds)
        pip_floors.append(pip_seconds)
        installed.append(len(install_plan_of(notebook)))

    cold = {"uv": [], "pip": []}
    imports: dict[str, list[float]] = {"uv": [], "pip": []}
    for _ in range(repeat):
        for installer in ("uv", "pip"):
            seconds, result = build(notebook, base_image, no_cache=True, installer=installer)
            made.append(result.image_id)
            cold[installer].append(seconds)
            imports[installer].append(first_import(client, result.image_id))
    host_import = []
    for _ in range(repeat):
        done = subprocess.run([str(python), "-c", IMPORT_PANDAS], capture_output=True, text=True, check=True)
        host_import.append(float(done.stdout.strip()))
    for image_id in dict.fromkeys(made):
        try:
            client.images.remove(image_id, force=True)
        except Exception:  # noqa: BLE001 - an image the next build reused is already gone
            pass

    med = statistics.median
    results = {
        "distributions": med(installed),
        "floor_uv_s": med(floors),
        "floor_pip_s": med(pip_floors),
        "layer_commit_s": med(commits),
        "new_capsule_build_s": med(new_capsule),
        "one_package_rebuild_s": med(one_package),
        "cold_build_uv_s": med(cold["uv"]),
        "cold_build_pip_s": med(cold["pip"]),
        "import_pandas_container_uv_s": med(imports["uv"]),
        "import_pandas_container_pip_s": med(imports["pip"]),
        "import_pandas_host_s": med(host_import),
    }
    results["new_capsule_over_floor"] = results["new_capsule_build_s"] / results["floor_uv_s"]
    results["new_capsule_over_floor_plus_commit"] = results["new_capsule_build_s"] / (
        results["floor_uv_s"] + results["layer_commit_s"]
    )
    results["image_size_ratio"] = med(sizes)
    results["cold_pip_over_cold_uv"] = results["cold_build_pip_s"] / results["cold_build_uv_s"]
    results["import_container_over_host"] = results["import_pandas_container_uv_s"] / results["import_pandas_host_s"]
    return results


def install_plan_of(notebook: Path) -> tuple[Any, ...]:
    from envcapsule.capsule import read_capsule
    from envcapsule.image.files import install_plan

    return install_plan(read_capsule(notebook.with_name("analysis.capsule"))).files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="envcapsule-test/python:3.11.2-bookworm")
    parser.add_argument("--env", choices=("example", "sklearn", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import docker

    client = docker.from_env()
    WORK.mkdir(exist_ok=True)
    names = ("example", "sklearn") if args.env == "both" else (args.env,)
    results = {name: measure(name, args.base_image, args.repeat, client) for name in names}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"medians over {args.repeat} runs; ratios against the floor measured in the same run")
        for name, figures in results.items():
            print(f"{name}:")
            for key, value in figures.items():
                print(f"  {key:<34} {value:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
