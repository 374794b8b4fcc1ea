"""What `envcapsule verify` costs beyond executing the notebook itself.

Uses the data-analysis notebook and the kernel environment that benchmarks/image_speed.py
makes (.benchmarks-work/env-image), with its image already built, and measures medians in
one run:

  image (cached)     build() finding the existing image
  verify total       verify(): image check, container start, execution under nbval, comparison
  host execution     the same notebook executed on the host with nbclient in the same
                     kernel environment: the baseline

Overhead = verify total - host execution. Target: <= 3 s median.

    .venv/bin/python benchmarks/verify_speed.py [--base-image IMAGE] [--repeat 5] [--json]
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
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="envcapsule-test/python:3.11.2-bookworm")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import nbformat
    from nbclient import NotebookClient

    from envcapsule.engine import connect
    from envcapsule.image.build import build
    from envcapsule.snapshot import default_capsule_dir
    from envcapsule.verify.check import verify

    python = WORK / "env-image" / "bin" / "python"
    if not python.exists():
        raise SystemExit("Run benchmarks/image_speed.py first: it makes the kernel environment this benchmark uses.")
    notebook = WORK / "verify-bench" / "data-analysis.ipynb"
    notebook.parent.mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", notebook)
    subprocess.run(
        [sys.executable, "-m", "envcapsule", "snapshot", str(notebook), "--python", str(python), "--json"],
        check=True,
        capture_output=True,
    )

    kernels = Path(tempfile.mkdtemp(prefix="envcapsule-bench-kernels-"))
    spec = kernels / "kernels" / "bench"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "bench",
                "language": "python",
            }
        )
    )
    os.environ["JUPYTER_PATH"] = str(kernels)

    def host_execution() -> float:
        content = nbformat.read(notebook, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            content, kernel_name="bench", timeout=300, resources={"metadata": {"path": str(notebook.parent)}}
        ).execute()
        return time.perf_counter() - start

    with closing(connect()) as client:
        build(default_capsule_dir(notebook), base_image=args.base_image, client=client)  # make sure the image exists

        def image_cached() -> float:
            start = time.perf_counter()
            build(default_capsule_dir(notebook), base_image=args.base_image, client=client)
            return time.perf_counter() - start

        def verify_total() -> float:
            start = time.perf_counter()
            report = verify(notebook, base_image=args.base_image, client=client)
            elapsed = time.perf_counter() - start
            if not report.reproduced:
                raise SystemExit(f"verify did not reproduce the notebook:\n{report.render_text()}")
            return elapsed

        results = {
            "image_cached_s": statistics.median(image_cached() for _ in range(args.repeat)),
            "verify_total_s": statistics.median(verify_total() for _ in range(args.repeat)),
            "host_execution_s": statistics.median(host_execution() for _ in range(args.repeat)),
        }
    shutil.rmtree(kernels, ignore_errors=True)
    results["overhead_s"] = results["verify_total_s"] - results["host_execution_s"]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"medians of {args.repeat} runs")
        for key, value in results.items():
            print(f"  {key:<20} {value:7.2f} s")
        print(f"  overhead beyond executing the notebook: {results['overhead_s']:.2f} s (target <= 3 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
