"""Files that live only on this machine travel in vendor/; sdists are built into wheels there, unless the index has one that fits."""

from __future__ import annotations

import hashlib
from pathlib import Path

from envcapsule.facts import Distribution
from envcapsule.lock.index import IndexFile
from envcapsule.lock.pylock import build_pylock
from envcapsule.lock.resolve import resolve_distributions
from tests.lock.test_resolve import INDEX, FakeFiles, wheel
from tests.test_snapshot import facts_for

SIX = Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any"))
SIX_WHEEL = "six-1.17.0-py2.py3-none-any.whl"


def local_wheel(folder: Path, filename: str, content: bytes) -> IndexFile:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    return IndexFile(filename, (folder / filename).as_uri(), sha, len(content), str(folder), None, False, None)


class FetchingFiles(FakeFiles):
    def __init__(self, pages: dict[str, list[IndexFile]], sdists: dict[str, bytes]) -> None:
        super().__init__(pages)
        self.sdists = sdists

    def fetch(self, url: str, dest: Path, sha256: str) -> Path:
        dest.write_bytes(self.sdists[url])
        return dest


def test_a_local_wheel_that_is_also_on_the_index_locks_the_index_url(tmp_path: Path) -> None:
    local = local_wheel(tmp_path / "wheels", SIX_WHEEL, b"six wheel")
    remote = wheel(SIX_WHEEL, sha=local.sha256)
    [entry] = resolve_distributions(
        [SIX], FakeFiles({"six": [local, remote]}), locations=[INDEX], vendor_dir=tmp_path / "v", build_wheel=None
    )  # type: ignore[arg-type]
    assert (entry.kind, entry.url) == ("wheel", remote.url)
    assert not (tmp_path / "v").exists()


def test_a_wheel_only_this_machine_has_is_vendored_with_its_size(tmp_path: Path) -> None:
    local = local_wheel(tmp_path / "wheels", SIX_WHEEL, b"rebuilt six")
    other = wheel(SIX_WHEEL, sha="b" * 64)  # the index's file of that name differs
    [entry] = resolve_distributions(
        [SIX], FakeFiles({"six": [other, local]}), locations=[INDEX], vendor_dir=tmp_path / "v", build_wheel=None
    )  # type: ignore[arg-type]
    assert entry.kind == "vendored" and entry.vendored_path == f"v/{SIX_WHEEL}"
    assert (tmp_path / "v" / SIX_WHEEL).read_bytes() == b"rebuilt six"
    assert entry.strict_problem and entry.url is None
    assert "exists only on this machine" in (entry.note or "") and "(11 bytes)" in (entry.note or "")
    assert f"{INDEX} has a file of that name with another sha256, which was not substituted" in (entry.note or "")


LOCAL_BUILD = Distribution("simplejson", "3.19.2", wheel_tags=("cp311-cp311-linux_x86_64",))
SDIST = wheel("simplejson-3.19.2.tar.gz", sha="5" * 64)
MANYLINUX = wheel("simplejson-3.19.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", sha="6" * 64)


def test_an_index_wheel_that_fits_the_image_replaces_a_local_build(tmp_path: Path) -> None:
    files = FakeFiles({"simplejson": [SDIST, MANYLINUX]})
    [entry] = resolve_distributions(
        [LOCAL_BUILD], files, locations=[INDEX], vendor_dir=tmp_path / "v", build_wheel=None, image_glibc=(2, 36)
    )  # type: ignore[arg-type]
    assert (entry.kind, entry.sha256) == ("wheel", "6" * 64)
    assert "built on this machine" in (entry.note or "") and "fits the image" in (entry.note or "")


def test_an_sdist_is_built_into_vendor_when_no_index_wheel_fits(tmp_path: Path) -> None:
    built: list[str] = []

    def build_wheel(spec: str, dest: Path) -> Path:
        built.append(Path(spec).read_bytes().decode())
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "simplejson-3.19.2-cp311-cp311-linux_x86_64.whl").write_bytes(b"built wheel")
        return dest / "simplejson-3.19.2-cp311-cp311-linux_x86_64.whl"

    files = FetchingFiles({"simplejson": [SDIST, MANYLINUX]}, {SDIST.url: b"the sdist"})
    [entry] = resolve_distributions(
        [LOCAL_BUILD], files, locations=[INDEX], vendor_dir=tmp_path / "v", build_wheel=build_wheel, image_glibc=(2, 12)
    )
    assert built == ["the sdist"]
    assert (entry.kind, entry.sha256) == ("sdist", "5" * 64) and not entry.strict_problem
    assert entry.built is not None and entry.built.path == "v/simplejson-3.19.2-cp311-cp311-linux_x86_64.whl"
    assert entry.built.sha256 == hashlib.sha256(b"built wheel").hexdigest()
    [package] = build_pylock(facts_for(INDEX, LOCAL_BUILD), [entry]).packages
    assert package.sdist is not None and package.tool == {
        "envcapsule": {"wheel": entry.built.path, "sha256": entry.built.sha256, "size": 11}
    }


def test_an_sdist_that_does_not_build_is_a_warning_with_the_last_error_line(tmp_path: Path) -> None:
    def no_compiler(spec: str, dest: Path) -> Path:
        raise RuntimeError("running build_ext\nerror: command 'gcc' failed: No such file or directory")

    files = FetchingFiles({"simplejson": [SDIST]}, {SDIST.url: b"the sdist"})
    [entry] = resolve_distributions([LOCAL_BUILD], files, locations=[INDEX], vendor_dir=tmp_path / "v", build_wheel=no_compiler)
    assert entry.kind == "sdist" and entry.built is None and entry.strict_problem
    assert "(error: command 'gcc' failed: No such file or directory)" in (entry.warning or "")
