"""Image archives: export writes one verified tar; import refuses damaged or foreign ones with nothing half-loaded."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from envcapsule.capsule import read_capsule
from envcapsule.image.build import image_tag
from envcapsule.share import export_archive, import_archive
from envcapsule.share.archive_manifest import MANIFEST_NAME
from envcapsule.share.errors import ArchiveError
from tests.share.fake_engine import FakeEngine, saved_image


@pytest.fixture()
def exported(project: Path, tmp_path: Path) -> tuple[Path, FakeEngine]:
    engine = FakeEngine()
    capsule = read_capsule(project.with_name("analysis.capsule"))
    engine.add_saved_image(image_tag(capsule), {"envcapsule.capsule-hash": capsule.capsule_hash})
    archive = tmp_path / "analysis.tar"
    export_archive(project, archive, engine)
    return archive, engine


def fresh_engine(exported_engine: FakeEngine) -> FakeEngine:
    return FakeEngine()


def exported_image(engine: FakeEngine) -> tuple[str, str, bytes]:
    """(tag, id, saved bytes) of the one image the exporting engine holds."""
    (image,) = engine.images_by_id.values()
    return image.tags[0], image.id, image.payload


def test_export_holds_manifest_capsule_notebook_and_image(exported: tuple[Path, FakeEngine], project: Path) -> None:
    archive, _ = exported
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
    assert names[0] == MANIFEST_NAME and names[-1] == "image.tar"
    assert "capsule/capsule.toml" in names and "capsule/pylock.toml" in names and "notebook/analysis.ipynb" in names
    capsule = read_capsule(project.with_name("analysis.capsule"))
    assert (manifest["capsule_hash"], manifest["image"], manifest["image_id"]) == (
        capsule.capsule_hash,
        image_tag(capsule),
        exported_image(exported[1])[1],
    )
    assert {f["path"] for f in manifest["files"]} == set(names) - {MANIFEST_NAME}
    assert not [p for p in archive.parent.iterdir() if p.name.endswith(".partial")]


def test_import_loads_the_image_and_restores_capsule_and_notebook(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    engine = fresh_engine(exporter)
    target = tmp_path / "airgapped"
    target.mkdir()
    result = import_archive(archive, engine, destination=target)
    tag, image_id, payload = exported_image(exporter)
    assert engine.loaded == [payload]
    assert (result.image, result.image_id, result.replaced) == (tag, image_id, False)
    assert read_capsule(target / "analysis.capsule").capsule_hash == read_capsule(result.capsule).capsule_hash
    assert (target / "analysis.ipynb").is_file() and result.notebook == target / "analysis.ipynb"
    assert result.launch_command == f"envcapsule launch {target / 'analysis.ipynb'}"
    again = import_archive(archive, fresh_engine(exporter), destination=target)  # the same capsule again: nothing to replace
    assert again.replaced is False


def test_a_different_capsule_is_only_replaced_with_force(exported: tuple[Path, FakeEngine], project: Path) -> None:
    archive, exporter = exported
    target = project.parent
    notebook = project.read_text()
    project.write_text(notebook.replace('"cells": []', '"cells": [], "x": 1'))
    engine = fresh_engine(exporter)
    with pytest.raises(ArchiveError, match=r"analysis.ipynb differs from the archived notebook; pass --force to replace them"):
        import_archive(archive, engine, destination=target)
    assert engine.loaded == []  # refused before anything was loaded
    result = import_archive(archive, engine, destination=target, force=True)
    assert result.replaced is True and project.read_text() == notebook


def test_a_folder_in_the_way_of_the_capsule_is_refused(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    target = tmp_path / "other"
    (target / "analysis.capsule").mkdir(parents=True)
    (target / "analysis.capsule" / "notes.txt").write_text("mine")
    with pytest.raises(ArchiveError, match="holds something that is not this capsule; pass --force"):
        import_archive(archive, fresh_engine(exporter), destination=target)
    assert (target / "analysis.capsule" / "notes.txt").read_text() == "mine"


def rewrite(archive: Path, target: Path, change: dict[str, bytes | None], manifest: dict | None = None) -> Path:
    """Copy ``archive`` with members replaced (bytes), dropped (None) or added; optionally another manifest."""
    with tarfile.open(archive) as source, tarfile.open(target, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST_NAME and manifest is not None:
                data = json.dumps(manifest).encode()
            data = change.get(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
        for name, data in change.items():
            if data is not None and name not in source.getnames():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                copy.addfile(info, io.BytesIO(data))
    return target


def test_a_damaged_image_is_refused_with_nothing_loaded_or_restored(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    damaged = rewrite(archive, tmp_path / "damaged.tar", {"image.tar": b"layerz " * 1000})
    target = tmp_path / "target"
    target.mkdir()
    engine = fresh_engine(exporter)
    with pytest.raises(ArchiveError, match=r"damaged.tar is damaged \(image.tar does not match its recorded size and sha256\)"):
        import_archive(damaged, engine, destination=target)
    assert engine.loaded == [] and list(target.iterdir()) == []


def test_a_truncated_archive_is_refused(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    engine = fresh_engine(exporter)
    with pytest.raises(ArchiveError, match="is damaged"):
        import_archive(truncated, engine, destination=tmp_path)
    assert engine.loaded == []


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"capsule/extra.txt": b"smuggled"}, r"capsule/extra.txt is not in its manifest"),
        ({"../escape.txt": b"x"}, r"../escape.txt is not in its manifest"),
        ({"capsule/pylock.toml": None}, r"capsule/pylock.toml is missing"),
    ],
)
def test_members_must_be_exactly_the_manifests(
    exported: tuple[Path, FakeEngine], tmp_path: Path, change: dict, sentence: str
) -> None:
    archive, exporter = exported
    with pytest.raises(ArchiveError, match=sentence):
        import_archive(rewrite(archive, tmp_path / "changed.tar", change), fresh_engine(exporter), destination=tmp_path)


def test_a_consistently_edited_capsule_is_still_caught_by_its_own_hashes(
    exported: tuple[Path, FakeEngine], tmp_path: Path
) -> None:
    archive, exporter = exported
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
        pylock = tar.extractfile("capsule/pylock.toml").read() + b"\n# edited\n"  # type: ignore[union-attr]
    import hashlib

    for entry in manifest["files"]:
        if entry["path"] == "capsule/pylock.toml":
            entry.update(size=len(pylock), sha256=hashlib.sha256(pylock).hexdigest())
    edited = rewrite(archive, tmp_path / "edited.tar", {"capsule/pylock.toml": pylock}, manifest)
    engine = fresh_engine(exporter)
    with pytest.raises(ArchiveError, match="holds a damaged capsule .*pylock.toml was changed after the snapshot"):
        import_archive(edited, engine, destination=tmp_path)
    assert engine.loaded == []


def test_foreign_archives_and_other_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"[]"))
    with pytest.raises(ArchiveError, match="is not an envcapsule archive .*make one with `envcapsule export`"):
        import_archive(foreign, FakeEngine(), destination=tmp_path)
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = 17
        tar.addfile(info, io.BytesIO(b'{"format": "zip"}'))
    with pytest.raises(ArchiveError, match="is not an envcapsule archive \\(its manifest is not one\\)"):
        import_archive(other, FakeEngine(), destination=tmp_path)
    text = tmp_path / "notes.tar"
    text.write_text("hello, not a tar")
    with pytest.raises(ArchiveError, match="is damaged or not a tar archive"):
        import_archive(text, FakeEngine(), destination=tmp_path)


def test_an_engine_that_cannot_load_leaves_the_folder_untouched(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    engine = fresh_engine(exporter)
    engine.load_error = "no space left on device"
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(ArchiveError, match="could not load the image from .*no space left on device"):
        import_archive(archive, engine, destination=target)
    assert list(target.iterdir()) == []


def test_an_unbuilt_capsule_cannot_be_exported(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="is not on this machine; build it first"):
        export_archive(project, tmp_path / "a.tar", FakeEngine())
    assert list(tmp_path.glob("*.tar*")) == [] and not [p for p in tmp_path.iterdir() if p.name.startswith(".a.tar")]


def with_image(archive: Path, target: Path, image_tar: bytes, image_id: str, **fields: str) -> Path:
    """Copy ``archive`` with another image.tar, its manifest consistent with it (as anyone can make one)."""
    import hashlib

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
    for entry in manifest["files"]:
        if entry["path"] == "image.tar":
            entry.update(size=len(image_tar), sha256=hashlib.sha256(image_tar).hexdigest())
    manifest.update(image_id=image_id, **fields)
    return rewrite(archive, target, {"image.tar": image_tar}, manifest)


def test_an_image_tar_that_would_move_another_tag_is_refused_and_moves_nothing(
    exported: tuple[Path, FakeEngine], tmp_path: Path
) -> None:
    archive, exporter = exported
    tag, _, _ = exported_image(exporter)
    with tarfile.open(archive) as tar:
        capsule_hash = json.loads(tar.extractfile(MANIFEST_NAME).read())["capsule_hash"]  # type: ignore[union-attr]
    image_id, image_tar = saved_image([tag, "sec-victim:latest"], {"envcapsule.capsule-hash": capsule_hash})
    hostile = with_image(archive, tmp_path / "hostile.tar", image_tar, image_id)
    engine = FakeEngine()
    victim = engine.add_image("sec-victim:latest", image_id="sha256:" + "7" * 64)

    with pytest.raises(ArchiveError) as raised:
        import_archive(hostile, engine, destination=tmp_path)

    assert str(raised.value) == (
        f"{hostile} was refused (its image.tar would also tag sec-victim:latest), so nothing was loaded and no tag on "
        "this machine moved; ask for an archive made with `envcapsule export`."
    )
    assert engine.loaded == [] and victim.tags == ["sec-victim:latest"]
    assert engine.images.get("sec-victim:latest").id == "sha256:" + "7" * 64


@pytest.mark.parametrize(
    ("labels", "fields", "sentence"),
    [
        ({}, {}, "its image does not carry the capsule's hash in its labels"),
        (None, {"image": "python:3.11"}, "it names its image 'python:3.11', not envcapsule/analysis:"),
    ],
)
def test_an_image_that_is_not_the_capsules_is_refused(
    exported: tuple[Path, FakeEngine], tmp_path: Path, labels: dict | None, fields: dict, sentence: str
) -> None:
    archive, exporter = exported
    tag, image_id, image_tar = exported_image(exporter)
    if labels is not None:
        image_id, image_tar = saved_image([tag], labels)
    engine = FakeEngine()
    with pytest.raises(ArchiveError, match=re.escape(sentence)):
        import_archive(with_image(archive, tmp_path / "other.tar", image_tar, image_id, **fields), engine, destination=tmp_path)
    assert engine.loaded == []


def test_the_capsules_tag_on_another_image_moves_only_with_force(exported: tuple[Path, FakeEngine], tmp_path: Path) -> None:
    archive, exporter = exported
    tag, image_id, _ = exported_image(exporter)
    engine = FakeEngine()
    engine.add_image(tag, image_id="sha256:" + "8" * 64)
    target = tmp_path / "target"
    target.mkdir()

    with pytest.raises(ArchiveError, match=rf"^{re.escape(tag)} already names another image on this machine .*pass --force"):
        import_archive(archive, engine, destination=target)
    assert engine.loaded == [] and list(target.iterdir()) == []

    result = import_archive(archive, engine, destination=target, force=True)
    assert result.replaced is True and engine.images.get(tag).id == image_id
