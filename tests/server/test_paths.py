"""Notebook paths are confined to the server's root folder: outside is 403, missing is 404."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envcapsule.server.paths import PathRefused, confined_notebook
from tests.server.conftest import Api, payload
from tests.server.fake_core import FakeCore


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "work").mkdir(parents=True)
    (tmp_path / "root" / "work" / "analysis.ipynb").write_text("{}")
    (tmp_path / "outside.ipynb").write_text("{}")
    return tmp_path / "root"


def test_a_path_inside_the_root_is_resolved_and_normalised(root: Path) -> None:
    notebook = confined_notebook(root, "./work//analysis.ipynb")
    assert notebook.relative == "work/analysis.ipynb"
    assert notebook.path == root.resolve() / "work" / "analysis.ipynb"
    assert notebook.capsule_key == str(root.resolve() / "work" / "analysis.capsule")


@pytest.mark.parametrize(
    ("relative", "status", "words"),
    [
        ("../outside.ipynb", 403, "climbs out"),
        ("work/../../outside.ipynb", 403, "climbs out"),
        ("/etc/passwd", 403, "absolute path"),
        ("C:\\Windows\\win.ini", 403, "absolute path"),
        ("work/missing.ipynb", 404, "does not exist"),
        ("work", 404, "does not exist"),
        ("", 400, "No notebook path"),
        (".", 400, "root folder itself"),
        ("work/a\x00.ipynb", 400, "NUL"),
    ],
)
def test_paths_that_are_refused(root: Path, relative: str, status: int, words: str) -> None:
    with pytest.raises(PathRefused, match=words) as refused:
        confined_notebook(root, relative)
    assert refused.value.status == status


def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    os.symlink(root.parent / "outside.ipynb", root / "work" / "link.ipynb")
    with pytest.raises(PathRefused, match="outside the server's root folder") as refused:
        confined_notebook(root, "work/link.ipynb")
    assert refused.value.status == 403


def test_a_symlinked_folder_out_of_the_root_is_refused(root: Path) -> None:
    os.symlink(root.parent, root / "up")
    with pytest.raises(PathRefused, match="outside the server's root folder"):
        confined_notebook(root, "up/outside.ipynb")


def test_a_capsule_folder_that_is_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    (root.parent / "elsewhere").mkdir()
    os.symlink(root.parent / "elsewhere", root / "work" / "analysis.capsule")
    with pytest.raises(PathRefused, match="capsule folder analysis.capsule") as refused:
        confined_notebook(root, "work/analysis.ipynb")
    assert refused.value.status == 403


def test_a_symlink_inside_the_root_is_kept_as_named(root: Path) -> None:
    os.symlink(root / "work" / "analysis.ipynb", root / "alias.ipynb")
    assert confined_notebook(root, "alias.ipynb").path == root.resolve() / "alias.ipynb"


@pytest.mark.parametrize("relative", ["../x.ipynb", "/etc/passwd", "work/../../x.ipynb"])
async def test_status_refuses_a_path_outside_the_root(api: Api, fake_core: FakeCore, relative: str) -> None:
    response = await api("status", params={"path": relative})
    assert response.code == 403
    assert relative.split("/")[-1] in payload(response)["error"] or "path" in payload(response)["error"]
    assert fake_core.calls == []


@pytest.mark.parametrize("route", ["snapshot", "build", "launch", "verify"])
async def test_jobs_refuse_a_path_outside_the_root(api: Api, fake_core: FakeCore, route: str) -> None:
    response = await api(route, "POST", {"path": "../x.ipynb"})
    assert response.code == 403
    assert fake_core.calls == []


async def test_a_missing_notebook_is_404(api: Api, fake_core: FakeCore, notebook: str) -> None:
    for response in (
        await api("status", params={"path": "work/nope.ipynb"}),
        await api("share", params={"path": "work/nope.ipynb"}),
        await api("build", "POST", {"path": "work/nope.ipynb"}),
    ):
        assert response.code == 404
        assert "work/nope.ipynb does not exist" in payload(response)["error"]
    assert fake_core.calls == []


async def test_a_request_without_a_path_is_400(api: Api, fake_core: FakeCore) -> None:
    assert (await api("status")).code == 400
    assert (await api("snapshot", "POST", {})).code == 400
    assert (await api("snapshot", "POST", ["work/analysis.ipynb"])).code == 400
    response = await api("snapshot", "POST", raw="{not json")
    assert response.code == 400
    assert "not valid JSON" in payload(response)["error"]
