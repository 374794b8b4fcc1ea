"""What writing sbom.cdx.json adds to a snapshot and a build: the SBOM of the example capsule, as a median of N runs.

Copies notebooks/data-analysis.capsule (run scripts/example first to make it) into a scratch
folder and times make_sbom: reading pylock.toml, facts.json and the server lock, the licences
from each distribution's metadata, the CycloneDX document and its validation against the schema.

    .venv/bin/python benchmarks/sbom_speed.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envcapsule.sbom import make_sbom  # noqa: E402

EXAMPLE = ROOT / "notebooks" / "data-analysis.capsule"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (EXAMPLE / "capsule.toml").is_file():
        raise SystemExit(f"{EXAMPLE} does not exist; run scripts/example first")
    with tempfile.TemporaryDirectory() as scratch:
        capsule = Path(scratch) / EXAMPLE.name
        shutil.copytree(EXAMPLE, capsule)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = make_sbom(capsule)
            times.append(time.perf_counter() - started)
    figures = {"median_seconds": round(statistics.median(times), 3), "runs": args.runs, "components": dict(result.counts)}
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"sbom.cdx.json of the example capsule: {figures['median_seconds']} s median of {args.runs} ({figures['components']})"
        )


if __name__ == "__main__":
    main()
