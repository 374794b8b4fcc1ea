"""How much locking for two extra targets (linux/amd64 and linux/arm64) costs against the single-platform lock.

Makes (once, under .benchmarks-work/) the site-packages of a macOS arm64 environment of at least
100 real distributions (the real macOS wheels, installed by uv for that platform), turns it into
the facts `envcapsule inspect --json` prints there, and measures in one process, as medians over
several repetitions with a warm index cache (and uv's cache warm):

  single          the capture's own files: every distribution matched on the index (matches cached, as a re-snapshot finds them)
  single, matched the same, every distribution matched again against the cached index pages
  targets         the same, plus linux/amd64 and linux/arm64 (their resolutions cached, as a re-snapshot finds them)
  targets, uv     single, matched plus every target resolved again by uv (the captured versions as constraints)

Target: targets <= 2 x single.

    .venv/bin/python benchmarks/target_lock_speed.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".benchmarks-work"
sys.path.insert(0, str(ROOT))

PACKAGES = ["jupyterlab", "pandas", "matplotlib", "scipy", "scikit-learn", "requests", "sqlalchemy", "pydantic", "rich", "sympy"]


def mac_facts() -> object:
    from envcapsule.facts import EnvironmentFacts
    from tests.foreign import MACOS_ARM64, facts_file, install_for

    site = WORK / "macos-arm64-site"
    if not site.exists():
        install_for(MACOS_ARM64, site, *PACKAGES)
    path = facts_file(MACOS_ARM64, site, WORK / "macos-arm64-facts.json")
    return EnvironmentFacts.from_probe(json.loads(path.read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import shutil

    from envcapsule.paths import cache_root
    from envcapsule.progress import NullProgress
    from envcapsule.snapshot import _lock, _lock_targets

    WORK.mkdir(exist_ok=True)
    facts = mac_facts()
    distributions = list(facts.distributions)  # type: ignore[attr-defined]
    progress = NullProgress()

    def single() -> object:
        with tempfile.TemporaryDirectory() as vendor:
            return _lock(facts, distributions, Path(vendor), None, False, progress)  # type: ignore[arg-type]

    def targets() -> object:
        entries = single()
        locks = _lock_targets(facts, entries, ["linux/amd64", "linux/arm64"], False, progress)  # type: ignore[arg-type]
        failed = [lock.error for lock in locks if lock.error]
        if failed:
            raise SystemExit(f"a target failed to lock: {failed}")
        return locks

    def single_matched() -> object:
        shutil.rmtree(cache_root() / "resolved", ignore_errors=True)
        return single()

    def targets_uv() -> object:
        shutil.rmtree(cache_root() / "resolved", ignore_errors=True)
        shutil.rmtree(cache_root() / "targets", ignore_errors=True)
        return targets()

    targets_uv()  # warms the index look-up cache and uv's own
    runs = {"single": single, "single_matched": single_matched, "targets": targets, "targets_uv": targets_uv}
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    result = {
        "distributions": len(distributions),
        "repeat": args.repeat,
        "median_s": medians,
        "ratio": medians["targets"] / medians["single"],
        "ratio_uv": medians["targets_uv"] / medians["single_matched"],
        "target_ratio": 2.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(distributions)} distributions captured on macOS arm64, {args.repeat} runs, warm caches")
        print(f"  single-platform lock             {medians['single']:.2f} s")
        print(f"  + linux/amd64 and linux/arm64    {medians['targets']:.2f} s  ({result['ratio']:.2f} x; target <= 2 x)")
        print(f"  single, every file matched again {medians['single_matched']:.2f} s")
        print(f"  targets resolved again by uv     {medians['targets_uv']:.2f} s  ({result['ratio_uv']:.2f} x the line above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
