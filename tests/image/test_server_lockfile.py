"""server.pylock.toml: the capsule's server environment, installed by every later build instead of the host's own resolution."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from envcapsule.capsule import Capsule
from envcapsule.errors import CapsuleError
from envcapsule.image import server_lockfile
from envcapsule.image.files import LockedFile
from envcapsule.image.server_env import ServerLock, server_lock_of
from envcapsule.image.server_lockfile import SERVER_LOCK_FILE, capsule_server_lock, render_server_lockfile, write_server_lockfile
from envcapsule.image.wheelcache import WheelCache
from envcapsule.progress import NullProgress

MANIFEST = {"interpreter": {"version": "3.11.2"}, "platform": {"machine": "x86_64"}}


def wheel(folder: Path, filename: str, content: bytes) -> LockedFile:
    path = folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    name, version = filename.split("-")[:2]
    return LockedFile(name, version, filename, hashlib.sha256(content).hexdigest(), len(content), url=path.as_uri())


@pytest.fixture
def capsule(tmp_path: Path) -> Capsule:
    (tmp_path / "study.capsule").mkdir()
    return Capsule(tmp_path / "study.capsule", MANIFEST)


@pytest.fixture
def host_lock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """The host's own resolution (``pip download``), recorded per call: another JupyterLab than the capsule's."""
    calls: list[dict[str, Any]] = []
    theirs = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.9.0-py3-none-any.whl", b"their jupyterlab")])

    def resolve(
        python: str,
        machine: str,
        cache: WheelCache,
        lock_dir: Path,
        progress: Any = None,
        *,
        refresh: bool = False,
        profile: str = "full",
    ) -> ServerLock:
        calls.append(
            {"python": python, "machine": machine, "refresh": refresh, **({"profile": profile} if profile != "full" else {})}
        )
        return theirs

    monkeypatch.setattr(server_lockfile, "server_lock", resolve)
    return calls


def test_a_capsules_server_lock_is_installed_instead_of_the_hosts(capsule: Capsule, tmp_path: Path, host_lock: list[Any]) -> None:
    ours = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    write_server_lockfile(capsule.folder, ours, "3.11.2", "x86_64")
    cache = WheelCache(tmp_path / "cache")

    chosen = capsule_server_lock(capsule, cache, tmp_path / "server-env")

    assert host_lock == []
    assert chosen.write is False and chosen.lock.sha256 == ours.sha256
    assert [f.filename for f in chosen.lock.files] == ["jupyterlab-4.4.0-py3-none-any.whl"]
    assert cache.path(ours.files[0].sha256, ours.files[0].filename).read_bytes() == b"our jupyterlab"  # fetched by its URL


def test_without_a_lock_the_hosts_resolution_is_written_into_the_capsule(
    capsule: Capsule, tmp_path: Path, host_lock: list[Any]
) -> None:
    chosen = capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env")
    assert host_lock == [{"python": "3.11.2", "machine": "x86_64", "refresh": False}]
    assert chosen.write is True and chosen.note == ""
    assert chosen.lock.files[0].version == "4.9.0"


def test_update_resolves_again_even_with_a_lock(capsule: Capsule, tmp_path: Path, host_lock: list[Any]) -> None:
    ours = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    write_server_lockfile(capsule.folder, ours, "3.11.2", "x86_64")
    chosen = capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env", update=True)
    assert host_lock == [{"python": "3.11.2", "machine": "x86_64", "refresh": True}]
    assert chosen.write is True and chosen.lock.files[0].version == "4.9.0"


def test_a_lock_for_another_python_is_replaced_and_the_build_says_so(
    capsule: Capsule, tmp_path: Path, host_lock: list[Any]
) -> None:
    ours = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    write_server_lockfile(capsule.folder, ours, "3.12.1", "x86_64")
    chosen = capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env")
    assert chosen.write is True
    assert chosen.note == f"{SERVER_LOCK_FILE} was for Python 3.12 on x86_64, so the server environment was locked again."


def test_a_wheel_no_index_lists_keeps_the_lock_out_of_the_capsule(
    capsule: Capsule, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlisted = LockedFile("jupyterlab", "4.9.0", "jupyterlab-4.9.0-py3-none-any.whl", "a" * 64, 10)
    monkeypatch.setattr(server_lockfile, "server_lock", lambda *args, **kwargs: server_lock_of([unlisted]))
    monkeypatch.setattr(server_lockfile, "with_urls", lambda lock, progress=None: lock)
    chosen = capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env")
    assert chosen.write is False
    assert chosen.note.startswith(
        f"{SERVER_LOCK_FILE} was not written, since no index this host's pip uses lists jupyterlab-4.9.0"
    )


def test_the_lock_is_pep_751_and_a_damaged_one_is_one_sentence(capsule: Capsule, tmp_path: Path) -> None:
    from packaging.pylock import Pylock

    from envcapsule import _toml as tomllib

    lock = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    Pylock.from_dict(tomllib.loads(render_server_lockfile(lock, "3.11.2", "x86_64"))).validate()

    (capsule.folder / SERVER_LOCK_FILE).write_text('lock-version = "1.0"\n[[packages]]\nname = "jupyterlab"\n')
    with pytest.raises(CapsuleError, match=r"server\.pylock\.toml is not a valid PEP 751 lock") as caught:
        capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env")
    assert str(caught.value).endswith("; run `envcapsule build --update-server` to lock the server environment again.")


def test_a_binder_export_pins_the_capsules_server_lock_not_the_hosts(
    capsule: Capsule, tmp_path: Path, host_lock: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from envcapsule.image import server_env
    from envcapsule.share.binder import server_requirements

    monkeypatch.setattr(server_env, "server_lock", server_lockfile.server_lock)  # the host's resolution, recorded
    ours = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    write_server_lockfile(capsule.folder, ours, "3.11.2", "x86_64")

    pinned = server_requirements(capsule, NullProgress())
    assert f"jupyterlab==4.4.0 \\\n    --hash=sha256:{ours.files[0].sha256}\n" in pinned
    assert host_lock == []
    write_server_lockfile(capsule.folder, ours, "3.12.0", "x86_64")
    assert "jupyterlab==4.9.0" in server_requirements(capsule, NullProgress())
    assert len(host_lock) == 1


def test_the_minimal_server_has_a_lock_file_of_its_own(capsule: Capsule, tmp_path: Path, host_lock: list[Any]) -> None:
    full = server_lock_of([wheel(tmp_path / "index", "jupyterlab-4.4.0-py3-none-any.whl", b"our jupyterlab")])
    write_server_lockfile(capsule.folder, full, "3.11.2", "x86_64")
    chosen = capsule_server_lock(capsule, WheelCache(tmp_path / "cache"), tmp_path / "server-env", profile="minimal")
    assert host_lock == [{"python": "3.11.2", "machine": "x86_64", "refresh": False, "profile": "minimal"}]  # not the full lock
    write_server_lockfile(capsule.folder, chosen.lock, "3.11.2", "x86_64", "minimal")
    minimal = (capsule.folder / "server-minimal.pylock.toml").read_text()
    assert 'requested = [\n    "jupyterlab>=4,<5",\n]' in minimal and "nbval" not in minimal
    assert "nbval>=0.11" in (capsule.folder / SERVER_LOCK_FILE).read_text()  # the full lock is left as it was


def test_each_server_profile_keeps_its_own_host_record(tmp_path: Path) -> None:
    from envcapsule.image.server_env import host_record

    assert host_record(tmp_path, "311", "x86_64") != host_record(tmp_path, "311", "x86_64", "minimal")
    assert host_record(tmp_path, "311", "x86_64").parent == tmp_path


def test_an_unknown_server_profile_is_one_sentence() -> None:
    from envcapsule.errors import EnvcapsuleError
    from envcapsule.image.build import check_server_profile, image_tag

    with pytest.raises(EnvcapsuleError, match="'tiny' is not a server environment; pass --server full"):
        check_server_profile("tiny")
    capsule: Any = SimpleNamespace(notebooks=["analysis.ipynb"], capsule_hash="c" * 64, files_hash="", folder=Path("a.capsule"))
    assert image_tag(capsule, server="minimal") == "envcapsule/analysis:cccccccccccc-minimal"
    assert image_tag(capsule) == "envcapsule/analysis:cccccccccccc"
