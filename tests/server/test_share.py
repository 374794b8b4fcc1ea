"""GET share in a real Jupyter server computes the Binder link without running anything the repository configures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.server.conftest import Api, payload
from tests.share.conftest import booby_trap, commit_all, git, init_repository, touch_without_change


@pytest.fixture
def repository(jp_root_dir: Path, notebook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's root folder as a repository pushed to a local bare one, its remote then set to GitHub."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    init_repository(jp_root_dir)
    commit_all(jp_root_dir)
    git(jp_root_dir, "remote", "add", "origin", str(bare))
    git(jp_root_dir, "push", "--quiet", "-u", "origin", "main")
    git(jp_root_dir, "remote", "set-url", "origin", "https://github.com/octo/analysis.git")
    return jp_root_dir


async def test_get_share_runs_no_hook_fsmonitor_or_filter_of_the_repository(
    api: Api, repository: Path, notebook: str, tmp_path: Path
) -> None:
    markers = tmp_path / "ran"
    expected = booby_trap(repository, markers)
    git(repository, "status", "--porcelain")  # the trap is real: a plain git status runs all of it
    assert sorted(p.name for p in markers.iterdir()) == expected
    for marker in markers.iterdir():
        marker.unlink()
    touch_without_change(repository / notebook)

    response = await api("share", params={"path": notebook})

    assert response.code == 200, response.body
    answer = payload(response)
    commit = git(repository, "rev-parse", "HEAD")
    assert answer["link"] == f"https://mybinder.org/v2/gh/octo/analysis/{commit}?urlpath=lab/tree/{notebook}"
    assert answer["warnings"] == []
    assert list(markers.iterdir()) == []
