"""How long `envcapsule snapshot` takes against pip's own listing commands, on one real environment.

Makes (once, under .benchmarks-work/) a virtual environment from Debian's /usr/bin/python3
holding at least 100 real distributions from the package index, then measures in one run,
as medians over several repetitions:

  pip freeze                          baseline
  pip inspect                         baseline (reads the same metadata envcapsule reads)
  envcapsule snapshot, warm cache     look-ups answered from the on-disk cache
  envcapsule snapshot, cold cache     every look-up goes to the index

Targets: warm snapshot <= 1.5 x pip inspect; cold snapshot of 100 distributions <= 5 s.

    .venv/bin/python benchmarks/snapshot_speed.py [--repeat 5] [--json]
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

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work"
PACKAGES = [
    "jupyterlab",
    "pandas",
    "matplotlib",
    "scipy",
    "scikit-learn",
    "requests",
    "sqlalchemy",
    "pydantic",
    "rich",
    "click",
    "pyyaml",
    "sympy",
    "networkx",
    "pillow",
    "seaborn",
    "statsmodels",
    "openpyxl",
    "lxml",
    "tqdm",
    "toolz",
]


def kernel_environment() -> Path:
    env = WORK / "env-100"
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(env)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
    return python


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def median_of(repeat: int, run: callable) -> float:  # type: ignore[valid-type]
    return statistics.median(run() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    python = kernel_environment()
    count = len(
        json.loads(subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, check=True).stdout)
    )
    notebook = WORK / "bench.ipynb"
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", notebook)
    envcapsule = [sys.executable, "-m", "envcapsule", "snapshot", str(notebook), "--python", str(python), "--json"]
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]

    warm_cache = Path(tempfile.mkdtemp(prefix="envcapsule-bench-warm-"))
    warm_env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(warm_cache)}
    timed(envcapsule, warm_env)  # fill the cache

    def cold() -> float:
        cache = Path(tempfile.mkdtemp(prefix="envcapsule-bench-cold-"))
        try:
            return timed(envcapsule, {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache)})
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    results = {
        "distributions": count,
        "repeat": args.repeat,
        "pip_freeze_s": median_of(args.repeat, lambda: timed([*pip, "freeze"])),
        "pip_inspect_s": median_of(args.repeat, lambda: timed([*pip, "inspect"])),
        "snapshot_warm_s": median_of(args.repeat, lambda: timed(envcapsule, warm_env)),
        "snapshot_cold_s": median_of(args.repeat, cold),
    }
    results["warm_over_pip_inspect"] = results["snapshot_warm_s"] / results["pip_inspect_s"]
    shutil.rmtree(warm_cache, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"environment: {count} distributions; medians of {args.repeat} runs")
        for key in ("pip_freeze_s", "pip_inspect_s", "snapshot_warm_s", "snapshot_cold_s"):
            print(f"  {key[:-2]:<16} {results[key]:7.3f} s")
        print(f"  warm snapshot / pip inspect = {results['warm_over_pip_inspect']:.2f} (target <= 1.5)")
        print(f"  cold snapshot = {results['snapshot_cold_s']:.2f} s (target <= 5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
