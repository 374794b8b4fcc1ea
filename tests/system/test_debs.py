"""The system layer's plan: exact .deb files when the base's release is the host's, names otherwise, checked hashes always."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from envcapsule.errors import SystemPackagesError
from envcapsule.system.debs import AptRunner, DebFile, Release, cached_path, link_debs, parse_os_release, plan_system
from tests.support import require

BOOKWORM = Release("debian", "bookworm")
PACKAGES = [{"name": "libgl1", "version": "1.6.0-1", "architecture": "amd64"}]
STATUS = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n"


class FakeApt(AptRunner):
    """apt as a fake: a repository of files (name, version) -> bytes; what it downloads can be made to differ."""

    def __init__(self, repository: Mapping[tuple[str, str], bytes], served: Mapping[str, bytes] | None = None) -> None:
        self.repository = dict(repository)
        self.served = dict(served or {})
        self.downloads: list[str] = []
        self.resolutions = 0
        self.stamp = ["lists", 1]
        self.apt_get = self.apt_cache = "apt"

    def lists_stamp(self, lists: Path = Path("/var/lib/apt/lists")) -> list[Any]:
        return list(self.stamp)

    def show(self, pins: Sequence[str]) -> dict[tuple[str, str], dict[str, str]]:
        found = {}
        for pin in pins:
            name, _, version = pin.partition("=")
            for (n, v), data in self.repository.items():
                if n == name and (not version or v == version):
                    found[(n, v)] = {
                        "SHA256": hashlib.sha256(data).hexdigest(),
                        "Size": str(len(data)),
                        "Filename": f"pool/{n}.deb",
                    }
        return found

    def resolve(self, pins: Sequence[str], base_status: str) -> list[DebFile]:
        self.resolutions += 1
        debs = []
        for (name, version), record in self.show(pins).items():
            debs.append(DebFile(name, version, "amd64", f"{name}_{version}_amd64.deb", record["SHA256"], int(record["Size"])))
        return debs

    def download(self, debs: Sequence[DebFile], folder: Path) -> None:
        for deb in debs:
            self.downloads.append(deb.filename)
            data = self.served.get(deb.name, self.repository[(deb.name, deb.version)])
            (folder / deb.filename).write_bytes(data)


def plan(
    apt: FakeApt,
    cache: Path,
    *,
    release: Release = BOOKWORM,
    status: str | None = STATUS,
    packages: list[dict[str, Any]] = PACKAGES,
) -> Any:
    return plan_system(packages, base_release=release, base_status=status, image="base", cache=cache, host=BOOKWORM, apt=apt)


def test_same_release_fetches_checked_files_into_the_cache_once(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-1"): b"deb-bytes"})
    first = plan(apt, tmp_path)
    assert first.mode == "offline" and [d.name for d in first.debs] == ["libgl1"] and first.warnings == ()
    assert cached_path(tmp_path, first.debs[0]).read_bytes() == b"deb-bytes"
    second = plan(apt, tmp_path)
    assert second.debs == first.debs and apt.downloads == ["libgl1_1.6.0-1_amd64.deb"]  # the second build fetched nothing
    assert first.label == "libgl1=1.6.0-1"
    assert apt.resolutions == 1  # apt's answer is remembered while the host's package lists stay the same
    apt.stamp = ["lists", 2]
    plan(apt, tmp_path)
    assert apt.resolutions == 2


def test_a_deb_whose_hash_does_not_match_is_refused_and_not_cached(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-1"): b"deb-bytes"}, served={"libgl1": b"tampered"})
    with pytest.raises(SystemPackagesError, match="does not match the sha256 its repository lists"):
        plan(apt, tmp_path)
    assert not list(tmp_path.rglob("*.deb"))


def test_a_cached_file_that_changed_is_fetched_again(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-1"): b"deb-bytes"})
    cached = cached_path(tmp_path, plan(apt, tmp_path).debs[0])
    cached.write_bytes(b"bit rot")
    plan(apt, tmp_path)
    assert cached.read_bytes() == b"deb-bytes" and len(apt.downloads) == 2


def test_a_version_the_repository_no_longer_has_is_a_warning_naming_both(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-2"): b"newer"})
    result = plan(apt, tmp_path)
    assert result.warnings == ("libgl1 1.6.0-1 (captured) is no longer in the repositories; the image gets libgl1 1.6.0-2.",)
    assert result.debs[0].version == "1.6.0-2"


def test_a_package_no_repository_has_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SystemPackagesError, match="libgl1 is in none of this host's apt repositories; run apt-get update"):
        plan(FakeApt({}), tmp_path)


def test_another_release_installs_by_name_and_says_why(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-1"): b"deb-bytes"})
    result = plan(apt, tmp_path, release=Release("ubuntu", "noble"))
    assert result.mode == "by-name" and result.names == ("libgl1",) and apt.downloads == []
    assert "the base image runs ubuntu noble and this host debian bookworm" in result.warnings[0]
    link_debs(result, tmp_path, tmp_path / "context")
    assert (tmp_path / "context" / "apt.txt").read_text() == "libgl1\n" and not (tmp_path / "context" / "debs").exists()


def test_a_base_without_dpkg_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemPackagesError, match="has no dpkg.*--base-image IMAGE. with a Debian or Ubuntu image"):
        plan(FakeApt({}), tmp_path, status=None)


def test_os_release_is_read() -> None:
    assert parse_os_release('ID=debian\nVERSION_CODENAME="bookworm"\nNAME="Debian GNU/Linux"\n') == BOOKWORM


def test_this_hosts_apt_resolves_libgl1_against_an_empty_base(tmp_path: Path) -> None:
    """The real apt: the dependency closure of libgl1 on a base with only libc6 comes back with repository hashes."""
    require(shutil.which("apt-get") is not None and any(Path("/var/lib/apt/lists").glob("*_Packages*")), "apt with package lists")
    debs = AptRunner().resolve(["libgl1"], STATUS)
    names = {d.name for d in debs}
    assert {"libgl1", "libglvnd0", "libglx0"} <= names
    assert all(len(d.sha256) == 64 and d.filename.endswith(f"_{d.architecture}.deb") for d in debs)


def test_an_image_for_another_cpu_installs_by_name(tmp_path: Path) -> None:
    apt = FakeApt({("libgl1", "1.6.0-1"): b"deb-bytes"})
    result = plan_system(
        PACKAGES, base_release=BOOKWORM, base_status=STATUS, image="base", cache=tmp_path, host=BOOKWORM, apt=apt, foreign=True
    )
    assert result.mode == "by-name" and apt.downloads == [] and "another CPU" in result.warnings[0]
