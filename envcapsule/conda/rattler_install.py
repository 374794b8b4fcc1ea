"""Install a capsule's conda packages into a prefix with py-rattler: local files only, no channel, no solver.

Runs inside the image build as ``python install.py FOLDER PREFIX``; FOLDER holds
``records.json`` (the locked packages, in install order) and ``pkgs/`` (their files, which the
host fetched and hash-checked). Each file is checked again here, installed as the record it
was locked as, and the prefix's ``conda-meta`` then names the URL each package was locked to,
as the captured environment's did, rather than the local file it was installed from.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

BUILD_ONLY_FIELDS = ("extracted_package_dir", "package_tarball_full_path")


def digests(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return md5.hexdigest(), sha256.hexdigest()


async def install_locked(folder: Path, prefix: Path) -> int:
    from rattler import RepoDataRecord, install

    locked = json.loads((folder / "records.json").read_text(encoding="utf-8"))
    records = []
    for item in locked:
        archive = folder / "pkgs" / item["filename"]
        md5, sha256 = digests(archive)
        if md5 != item["md5"] or (item.get("sha256") and sha256 != item["sha256"]):
            sys.stderr.write(f"{archive.name} is not the file that was locked (its hash differs); build again.\n")
            return 1
        record = await RepoDataRecord.from_package_archive(archive)
        record.md5, record.sha256 = bytes.fromhex(md5), bytes.fromhex(sha256)  # the archive alone gives no md5
        record.channel = item["channel"]
        record.depends = item["depends"]  # as captured: a channel's repodata patches may differ from the archive's
        records.append(record)
    await install(records, target_prefix=prefix, cache_dir=folder / "cache", show_progress=False, execute_link_scripts=False)
    by_file = {item["filename"]: item for item in locked}
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        item = by_file.get(data.get("fn"))
        if item is not None:
            data["url"] = item["url"]
            for field in BUILD_ONLY_FIELDS:
                data.pop(field, None)
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o644)  # readable by the notebook's user, as conda leaves its records
    print(f"installed {len(records)} conda packages into {prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(install_locked(Path(sys.argv[1]), Path(sys.argv[2]))))
