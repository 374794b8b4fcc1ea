"""binder/ export: what the folder holds, the Dockerfile it renders, and whose folders it never overwrites silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcapsule.capsule import read_capsule
from envcapsule.image.dockerfile import ImageSpec
from envcapsule.share.binder import MARKER, export_binder
from envcapsule.share.binder_dockerfile import BinderPaths, render_binder_dockerfile
from envcapsule.share.binder_share import share_binder
from envcapsule.share.errors import ShareError
from tests.share.conftest import SERVER_REQUIREMENTS, commit_all, git, make_capsule, write_notebook


def test_export_writes_a_binder_folder_at_the_repository_root(project: Path) -> None:
    root = project.parents[1]
    export = export_binder(project)
    capsule = read_capsule(project.with_name("analysis.capsule"))
    assert export.folder == root / "binder" and export.repository == root.resolve()
    assert export.notebook == "notebooks/analysis.ipynb" and export.backups == []
    names = {"Dockerfile", "requirements.txt", "server-requirements.txt", "runtime.txt", "kernel.json", "entrypoint", MARKER}
    assert {p.name for p in export.folder.iterdir()} == names
    assert (export.folder / "requirements.txt").read_bytes() == (capsule.folder / "requirements.txt").read_bytes()
    assert (export.folder / "server-requirements.txt").read_text() == SERVER_REQUIREMENTS
    assert (export.folder / "runtime.txt").read_text() == "python-3.11\n"
    assert (export.folder / "entrypoint").stat().st_mode & 0o111
    assert json.loads((export.folder / MARKER).read_text())["capsule_hash"] == capsule.capsule_hash
    assert not [p for p in root.iterdir() if p.name.endswith(".partial")]


def test_the_dockerfile_builds_from_the_repository_root_and_installs_the_exact_lock(project: Path) -> None:
    text = (export_binder(project).folder / "Dockerfile").read_text()
    assert text.startswith("# envcapsule binder image for notebooks/analysis.ipynb")
    assert "ARG BASE_IMAGE=python:3.11.2-slim-bookworm\n" in text
    assert text.count("FROM ${BASE_IMAGE}") == 2
    assert "COPY binder/requirements.txt /tmp/envcapsule/kernel/requirements.txt" in text
    assert "COPY binder/server-requirements.txt /tmp/envcapsule/server/requirements.txt" in text
    installs = [line for line in text.splitlines() if " install " in line]
    assert len(installs) == 2 and all("--require-hashes" in line and "--no-deps" in line for line in installs)
    final = text.split("\nFROM ${BASE_IMAGE}\n", 1)[1]
    assert "useradd --create-home --uid 1000" in final and "USER jovyan" in final and "EXPOSE 8888" in final
    assert "COPY --chown=1000:1000 . /home/jovyan/" in final
    assert "COPY binder/kernel.json /opt/envcapsule/server/share/jupyter/kernels/python3/" in final
    assert 'ENTRYPOINT ["/bin/sh", "/usr/local/bin/envcapsule-entrypoint"]' in final
    assert 'envcapsule.notebook="notebooks/analysis.ipynb"' in final
    assert "--mount" not in text and "# syntax=" not in text


def test_the_same_capsule_gives_the_same_folder(project: Path) -> None:
    first = {p.name: p.read_bytes() for p in export_binder(project).folder.iterdir()}
    second = {p.name: p.read_bytes() for p in export_binder(project).folder.iterdir()}
    assert first == second


def test_a_foreign_binder_folder_is_kept_unless_forced_and_then_backed_up(project: Path) -> None:
    root = project.parents[1]
    (root / "binder").mkdir()
    (root / "binder" / "requirements.txt").write_text("numpy\n")
    with pytest.raises(ShareError, match=r"binder already exists and was not written by envcapsule; pass --force"):
        export_binder(project)
    assert [p.name for p in (root / "binder").iterdir()] == ["requirements.txt"]

    export = export_binder(project, force=True)
    assert len(export.backups) == 1 and export.backups[0].name.startswith("binder.backup-")
    assert (export.backups[0] / "requirements.txt").read_text() == "numpy\n"
    assert (root / "binder" / MARKER).is_file()


def test_an_edited_export_counts_as_the_users_and_a_dot_binder_too(project: Path) -> None:
    root = project.parents[1]
    export = export_binder(project)
    (export.folder / "Dockerfile").write_text("FROM python:3.11\n")
    with pytest.raises(ShareError, match="was edited after envcapsule wrote it"):
        export_binder(project)
    export_binder(project, force=True)
    (root / ".binder").mkdir()
    (root / ".binder" / "environment.yml").write_text("dependencies: []\n")
    with pytest.raises(ShareError, match=r"\.binder already exists and was not written by envcapsule"):
        export_binder(project)
    export = export_binder(project, force=True)
    assert not (root / ".binder").exists()
    assert [b.name.startswith(".binder.backup-") for b in export.backups] == [True]


def test_outside_a_repository_the_export_works_and_share_says_why_there_is_no_link(tmp_path: Path, index: object) -> None:
    notebook = write_notebook(tmp_path / "loose" / "analysis.ipynb")
    make_capsule(notebook, index)  # type: ignore[arg-type]
    result = share_binder(notebook)
    assert result.export.folder == notebook.parent / "binder" and result.export.repository is None
    assert result.link is None and result.no_link and "is not in a git repository" in result.no_link
    assert result.to_json()["link"] is None and result.to_json()["badge"] is None
    assert "COPY --chown=1000:1000 . /home/jovyan/" in (result.export.folder / "Dockerfile").read_text()


def test_share_gives_link_badge_and_the_warning_that_binder_is_not_committed_yet(project: Path) -> None:
    root = project.parents[1]
    git(root, "remote", "add", "origin", "https://github.com/octo/analysis.git")
    result = share_binder(project, hub="https://binder.example.org")
    commit = git(root, "rev-parse", "HEAD")
    assert (
        result.to_json()["link"]
        == f"https://binder.example.org/v2/gh/octo/analysis/{commit}?urlpath=lab/tree/notebooks/analysis.ipynb"
    )
    assert result.to_json()["badge"].startswith("[![Binder](https://binder.example.org/badge_logo.svg)](")
    assert any(w.startswith("binder/ has changes that are not committed") for w in result.warnings)
    commit_all(root, "binder")
    again = share_binder(project)
    assert not any("not committed" in w for w in again.warnings)
    assert any("is not on origin" in w for w in again.warnings)


def test_vendored_wheels_are_copied_from_the_capsule_in_the_repository() -> None:
    spec = ImageSpec("python:3.11.2-slim-bookworm", "c" * 64, "nb/a.ipynb", "a.capsule", "3.11.2", "2026-11-21T00:00:00Z")
    text = render_binder_dockerfile(spec, BinderPaths("binder", "nb/a.ipynb", "nb/a.capsule/vendor"))
    # requirements.txt names vendored wheels as ./vendor/NAME.whl, relative to where pip runs.
    assert "COPY nb/a.capsule/vendor/ /tmp/envcapsule/kernel/vendor/\n" in text
    assert " && cd /tmp/envcapsule/kernel \\\n" in text
    assert "vendor" not in render_binder_dockerfile(spec, BinderPaths("binder", "nb/a.ipynb", None))


def test_an_index_binder_cannot_reach_is_warned_about(project: Path, index: object) -> None:
    warnings = export_binder(project).warnings
    assert warnings == [
        f"requirements.txt names {index.url} (--index-url); Binder can only install from it if it is public and needs no credentials."  # type: ignore[attr-defined]
    ]


def test_a_capsule_outside_the_repository_is_refused(project: Path, tmp_path: Path, index: object) -> None:
    elsewhere = write_notebook(tmp_path / "elsewhere" / "analysis.ipynb")
    capsule = make_capsule(elsewhere, index)  # type: ignore[arg-type]
    with pytest.raises(ShareError, match="is outside .* which Binder builds from; move it into the repository"):
        export_binder(project, capsule_dir=capsule)
