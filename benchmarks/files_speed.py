"""What the notebook's files add to a snapshot: a folder with 1,000 small files and one 50 MB file.

Makes a scratch folder in the system's temporary folder (outside any git repository, so the
folder's files are swept) and measures, as medians of N runs, the work a
snapshot does for the files (choosing them, hashing them into the host cache, linking them into
the capsule's files/), apart from the environment's probe and look-ups, which do not change:

  cold cache   every file copied into an empty host cache
  warm cache   the cache already holds them: hashed again, linked, nothing copied
  one changed  one CSV changed since the last run: only it is copied

A warm rebuild after one changed CSV is measured on the real engine by
tests/integration/test_notebook_files.py (only the files layer and the ones after it rebuild).

    .venv/bin/python benchmarks/files_speed.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.gettempdir()) / "envcapsule-files-speed"

from envcapsule.notebook_files.capture import FileRules, choose_files, store_files  # noqa: E402
from envcapsule.notebook_files.store import FileStore  # noqa: E402


def make_project(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    for index in range(1000):
        (folder / "data" / f"part-{index:04d}.csv").write_text(f"id,value\n{index},{index * 7}\n")
    (folder / "model.bin").write_bytes(os.urandom(50 * 1000 * 1000))
    notebook = folder / "analysis.ipynb"
    notebook.write_text("{}")
    return notebook


def files_step(notebook: Path, store: FileStore) -> float:
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=".capsule-", dir=notebook.parent.parent))
    try:
        rules = FileRules()
        selection = choose_files(notebook, capsule_dir=notebook.with_suffix(".capsule"), rules=rules)
        store_files(notebook.parent, selection, staging, rules, store)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(staging)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    notebook = make_project(WORK / "project")
    cold, warm, changed = [], [], []
    for run in range(args.runs):
        cache = WORK / f"cache-{run}"
        store = FileStore(cache)
        cold.append(files_step(notebook, store))
        warm.append(files_step(notebook, store))
        (notebook.parent / "data" / "part-0000.csv").write_text(f"id,value\n0,{run}\n")
        changed.append(files_step(notebook, store))
        shutil.rmtree(cache)
    figures = {
        "files": 1001,
        "bytes": sum(p.stat().st_size for p in (notebook.parent).rglob("*") if p.is_file()),
        "cold_cache_s": statistics.median(cold),
        "warm_cache_s": statistics.median(warm),
        "one_changed_s": statistics.median(changed),
    }
    shutil.rmtree(WORK, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"{figures['files']} files, {figures['bytes'] / 1e6:.1f} MB, medians of {args.runs} runs:")
        for key in ("cold_cache_s", "warm_cache_s", "one_changed_s"):
            print(f"  {key.removesuffix('_s').replace('_', ' '):<12} {figures[key]:.3f} s")


if __name__ == "__main__":
    main()
