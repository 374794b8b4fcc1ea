"""Matching installed distributions to the exact index file, by version and WHEEL tag set."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from envcapsule.facts import Distribution
from envcapsule.lock.index import IndexFile
from envcapsule.lock.resolve import ResolutionCache, resolve_distributions

INDEX = "https://index.example/simple"


def wheel(filename: str, sha: str = "a" * 64, size: int | None = 10) -> IndexFile:
    return IndexFile(
        filename=filename,
        url=f"https://files.example/{filename}",
        sha256=sha,
        size=size,
        index=INDEX,
        requires_python=None,
        yanked=False,
        upload_time=None,
    )


class FakeFiles:
    """The ProjectFiles seam: serves fixed pages and counts look-ups."""

    def __init__(self, pages: dict[str, list[IndexFile]], sizes: dict[str, int] | None = None) -> None:
        self.pages = pages
        self.sizes = sizes or {}
        self.unavailable: set[str] = set()
        self.looked_up: list[str] = []

    def many_project_files(
        self, projects: Iterable[str], progress: Callable[[str], None] | None = None
    ) -> dict[str, list[IndexFile]]:
        names = list(projects)
        self.looked_up += names
        return {name: self.pages.get(name, []) for name in names}

    def file_size(self, url: str) -> int | None:
        return self.sizes.get(url)


def no_builds(spec: str, dest: Path) -> Path:
    raise AssertionError(f"nothing should be built here, asked for {spec}")


def resolve(dists: list[Distribution], files: FakeFiles, tmp_path: Path, cache: ResolutionCache | None = None):
    return resolve_distributions(
        dists, files, locations=[INDEX], vendor_dir=tmp_path / "vendor", build_wheel=no_builds, cache=cache
    )


NUMPY_TAGS = ("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64")
NUMPY_FILES = [
    wheel("numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", sha="1" * 64),
    wheel("numpy-2.1.0-cp311-cp311-musllinux_1_2_x86_64.whl", sha="2" * 64),
    wheel("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", sha="3" * 64),
    wheel("numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", sha="4" * 64),
    wheel("numpy-2.1.0.tar.gz", sha="5" * 64),
]


def test_compiled_wheel_is_matched_by_its_whole_tag_set(tmp_path: Path) -> None:
    numpy = Distribution(name="numpy", version="2.1.0", wheel_tags=NUMPY_TAGS)
    [entry] = resolve([numpy], FakeFiles({"numpy": NUMPY_FILES}), tmp_path)
    assert entry.kind == "wheel"
    assert entry.sha256 == "1" * 64
    assert entry.filename == "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def test_a_subset_of_tags_is_not_a_match(tmp_path: Path) -> None:
    # Only one of the two WHEEL tags: the compressed filename's set is larger, so it is not that file.
    numpy = Distribution(name="numpy", version="2.1.0", wheel_tags=NUMPY_TAGS[:1])
    [entry] = resolve([numpy], FakeFiles({"numpy": NUMPY_FILES}), tmp_path)
    assert entry.kind == "unresolved"
    assert "no file there matches its installed tags" in (entry.reason or "")


def test_universal_wheel_matches_expanded_tag_lines(tmp_path: Path) -> None:
    six = Distribution(name="six", version="1.17.0", wheel_tags=("py2-none-any", "py3-none-any"))
    files = FakeFiles({"six": [wheel("six-1.17.0-py2.py3-none-any.whl", sha="6" * 64), wheel("six-1.17.0.tar.gz")]})
    [entry] = resolve([six], files, tmp_path)
    assert (entry.kind, entry.sha256) == ("wheel", "6" * 64)


def test_local_version_label_is_part_of_the_version(tmp_path: Path) -> None:
    torch = Distribution(name="torch", version="2.13.0+cpu", wheel_tags=("cp311-cp311-manylinux_2_28_x86_64",))
    files = FakeFiles(
        {
            "torch": [
                wheel("torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl", sha="7" * 64),
                wheel("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", sha="8" * 64),
            ]
        }
    )
    [entry] = resolve([torch], files, tmp_path)
    assert entry.sha256 == "8" * 64


def test_version_missing_from_every_index_is_unresolved_with_the_indexes_named(tmp_path: Path) -> None:
    numpy = Distribution(name="numpy", version="9.9.9", wheel_tags=NUMPY_TAGS)
    [entry] = resolve([numpy], FakeFiles({"numpy": NUMPY_FILES}), tmp_path)
    assert entry.kind == "unresolved"
    assert entry.reason == f"numpy==9.9.9 is not on the configured indexes ({INDEX})."


def test_wheel_without_hash_is_unresolved_and_says_why(tmp_path: Path) -> None:
    six = Distribution(name="six", version="1.17.0", wheel_tags=("py3-none-any",))
    files = FakeFiles(
        {
            "six": [
                IndexFile(
                    "six-1.17.0-py3-none-any.whl", "https://f/six-1.17.0-py3-none-any.whl", None, 1, INDEX, None, False, None
                )
            ]
        }
    )
    [entry] = resolve([six], files, tmp_path)
    assert entry.kind == "unresolved"
    assert "publishes no sha256" in (entry.reason or "")


def test_locally_built_wheel_locks_the_sdist_with_a_note(tmp_path: Path) -> None:
    built = Distribution(name="numpy", version="2.1.0", wheel_tags=("cp311-cp311-linux_x86_64",))
    [entry] = resolve([built], FakeFiles({"numpy": NUMPY_FILES}), tmp_path)
    assert (entry.kind, entry.sha256) == ("sdist", "5" * 64)
    assert "built on this machine" in (entry.note or "")


def test_missing_sizes_are_asked_for(tmp_path: Path) -> None:
    six = Distribution(name="six", version="1.17.0", wheel_tags=("py3-none-any",))
    file = wheel("six-1.17.0-py3-none-any.whl", size=None)
    [entry] = resolve([six], FakeFiles({"six": [file]}, sizes={file.url: 11050}), tmp_path)
    assert entry.size == 11050


def test_warm_resolution_cache_skips_the_index(tmp_path: Path) -> None:
    numpy = Distribution(name="numpy", version="2.1.0", wheel_tags=NUMPY_TAGS)
    cache = ResolutionCache(tmp_path / "resolved")
    cold = FakeFiles({"numpy": NUMPY_FILES})
    [first] = resolve([numpy], cold, tmp_path, cache)
    warm = FakeFiles({})
    [second] = resolve([numpy], warm, tmp_path, cache)
    assert cold.looked_up == ["numpy"]
    assert warm.looked_up == []
    assert (second.url, second.sha256, second.size) == (first.url, first.sha256, first.size)


def test_offline_without_cached_data_is_unresolved(tmp_path: Path) -> None:
    files = FakeFiles({})
    files.unavailable.add("six")
    [entry] = resolve([Distribution(name="six", version="1.17.0", wheel_tags=("py3-none-any",))], files, tmp_path)
    assert entry.kind == "unresolved"
    assert "--offline" in (entry.reason or "")


def test_vcs_install_locks_to_its_commit_and_vendors_a_build(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    dist = Distribution(
        name="tool",
        version="0.3",
        display_name="tool",
        direct_url={"url": "https://github.com/o/tool.git", "vcs_info": {"vcs": "git", "commit_id": commit}},
    )
    built: list[str] = []

    def build(spec: str, dest: Path) -> Path:
        built.append(spec)
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / "tool-0.3-py3-none-any.whl"
        path.write_bytes(b"wheel bytes")
        return path

    [entry] = resolve_distributions([dist], FakeFiles({}), locations=[INDEX], vendor_dir=tmp_path / "vendor", build_wheel=build)
    assert (entry.kind, entry.commit, entry.url) == ("vcs", commit, "https://github.com/o/tool.git")
    assert built == [f"tool @ git+https://github.com/o/tool.git@{commit}"]
    assert entry.vendored_path == "vendor/tool-0.3-py3-none-any.whl"


def test_editable_install_from_a_vanished_folder_is_unresolved(tmp_path: Path) -> None:
    dist = Distribution(name="mine", version="1.0", direct_url={"url": f"file://{tmp_path}/gone", "dir_info": {"editable": True}})
    [entry] = resolve([dist], FakeFiles({}), tmp_path)
    assert entry.kind == "unresolved"
    assert "editable install" in (entry.reason or "") and "no longer exists" in (entry.reason or "")


@pytest.mark.parametrize(
    ("archive_info", "expected"),
    [({"hashes": {"sha256": "9" * 64}}, "9" * 64), ({"hash": "sha256=" + "8" * 64}, "8" * 64)],
)
def test_archive_url_keeps_its_recorded_hash(tmp_path: Path, archive_info: dict, expected: str) -> None:
    dist = Distribution(name="pkg", version="1.0", direct_url={"url": "https://h/pkg-1.0.tar.gz", "archive_info": archive_info})
    [entry] = resolve([dist], FakeFiles({}), tmp_path)
    assert (entry.kind, entry.sha256) == ("archive", expected)
