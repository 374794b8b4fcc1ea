"""What carrying the SBOM in the image costs a build: time and image size, with and without the SBOM layer.

Builds one capsule (the example capsule by default: run scripts/example first to make it)
on a warm layer cache, alternately as `envcapsule build` renders it and with the SBOM
layer and its label left out, and reports the median build time of each, the time to make
the SBOM the build adds, the image sizes and the size of the SBOM file. The images it
makes are removed at the end; their layers stay in the engine's cache.

    .venv/bin/python benchmarks/sbom_layer.py [--capsule DIR] [--base-image IMAGE] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envcapsule.capsule import read_capsule  # noqa: E402
from envcapsule.contract import SBOM_SHA256_LABEL  # noqa: E402
from envcapsule.engine import connect  # noqa: E402
from envcapsule.image import build as build_module  # noqa: E402
from envcapsule.sbom import build_sbom  # noqa: E402

EXAMPLE = ROOT / "notebooks" / "data-analysis.capsule"


def without_sbom_layer(spec: Any) -> Any:
    labels = {k: v for k, v in spec.labels.items() if k != SBOM_SHA256_LABEL}
    return dataclasses.replace(spec, sbom=False, labels=labels)


def one_build(client: Any, capsule: Path, base_image: str | None, sbom: bool) -> tuple[float, str]:
    tag = build_module.image_tag(read_capsule(capsule))
    if client.images.list(name=tag):
        client.images.remove(tag, noprune=True)  # untag, keeping the layer cache
    rendering = build_module.image_spec
    if not sbom:
        build_module.image_spec = lambda *args, **kwargs: without_sbom_layer(rendering(*args, **kwargs))  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        result = build_module.build(capsule, base_image=base_image, client=client)
        return time.perf_counter() - started, result.image_id
    finally:
        build_module.image_spec = rendering  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capsule", type=Path, default=EXAMPLE)
    parser.add_argument("--base-image")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.capsule / "capsule.toml").is_file():
        raise SystemExit(f"{args.capsule} is not a capsule; run scripts/example first, or pass --capsule")
    client = connect()
    images: set[str] = set()
    times: dict[bool, list[float]] = {True: [], False: []}
    sizes: dict[bool, int] = {}
    try:
        one_build(client, args.capsule, args.base_image, True)  # warm the layer cache
        for _ in range(args.runs):
            for sbom in (True, False):
                seconds, image_id = one_build(client, args.capsule, args.base_image, sbom)
                times[sbom].append(seconds)
                sizes[sbom] = int(client.images.get(image_id).attrs["Size"])
                images.add(image_id)
        record = json.loads((args.capsule / "build.json").read_text())
        capsule = read_capsule(args.capsule)
        started = time.perf_counter()
        text = build_sbom(capsule, record, None)  # the server wheels from the capsule's server.pylock.toml
        making = time.perf_counter() - started
    finally:
        for image_id in images:
            try:
                client.images.remove(image_id, force=True, noprune=True)
            except Exception:  # noqa: BLE001 - already gone with its tag
                pass
    figures = {
        "build_seconds_with_sbom": round(statistics.median(times[True]), 2),
        "build_seconds_without_sbom": round(statistics.median(times[False]), 2),
        "sbom_seconds": round(making, 3),
        "image_bytes_with_sbom": sizes[True],
        "image_bytes_without_sbom": sizes[False],
        "sbom_bytes": len(text.encode()),
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"warm build: {figures['build_seconds_with_sbom']} s with the SBOM layer, {figures['build_seconds_without_sbom']} s without"
        f" (median of {args.runs}); making the SBOM: {figures['sbom_seconds']} s\n"
        f"image: {sizes[True]} bytes with, {sizes[False]} without (+{sizes[True] - sizes[False]}); "
        f"sbom.cdx.json: {figures['sbom_bytes']} bytes"
    )


if __name__ == "__main__":
    main()
