"""Binder links from real git repositories: the provider spec, the pinned commit, and every warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcapsule.share.errors import ShareError
from envcapsule.share.links import badge, binder_link, launch_url, parse_remote
from tests.share.conftest import booby_trap, commit_all, git, init_repository, touch_without_change, write_notebook

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("remote", "provider", "spec"),
    [
        ("https://github.com/octo/analysis.git", "gh", "octo/analysis"),
        ("https://github.com/octo/analysis", "gh", "octo/analysis"),
        ("https://user:s3cret@github.com/octo/analysis.git", "gh", "octo/analysis"),
        ("git@github.com:octo/analysis.git", "gh", "octo/analysis"),
        ("ssh://git@github.com/octo/analysis.git", "gh", "octo/analysis"),
        ("ssh://git@github.com:22/octo/analysis", "gh", "octo/analysis"),
        ("https://gitlab.com/group/sub/analysis.git", "gl", "group%2Fsub%2Fanalysis"),
        ("git@gitlab.com:group/analysis.git", "gl", "group%2Fanalysis"),
        ("https://codeberg.org/octo/analysis.git", "git", "https%3A%2F%2Fcodeberg.org%2Focto%2Fanalysis.git"),
        ("git@git.example.org:team/analysis.git", "git", "https%3A%2F%2Fgit.example.org%2Fteam%2Fanalysis.git"),
        ("https://token@git.example.org/team/analysis", "git", "https%3A%2F%2Fgit.example.org%2Fteam%2Fanalysis"),
    ],
)
def test_remote_forms_map_onto_binderhub_providers(remote: str, provider: str, spec: str) -> None:
    parsed = parse_remote(remote)
    assert (parsed.provider, parsed.spec) == (provider, spec)
    assert "s3cret" not in parsed.url and "token" not in parsed.url


@pytest.mark.parametrize("remote", ["/srv/git/analysis.git", "file:///srv/git/analysis.git", "../analysis.git"])
def test_a_local_remote_cannot_be_cloned_by_a_binderhub(remote: str) -> None:
    with pytest.raises(ShareError, match="local path, which no BinderHub can clone"):
        parse_remote(remote)


def test_launch_url_and_badge_follow_the_binderhub_scheme() -> None:
    link = launch_url(parse_remote("git@github.com:octo/analysis.git"), SHA, "notebooks/my analysis.ipynb")
    assert link == f"https://mybinder.org/v2/gh/octo/analysis/{SHA}?urlpath=lab/tree/notebooks/my%20analysis.ipynb"
    assert badge(link) == f"[![Binder](https://mybinder.org/badge_logo.svg)]({link})"
    other = launch_url(parse_remote("https://gitlab.com/g/a"), SHA, "a.ipynb", hub="https://binder.example.org/")
    assert other == f"https://binder.example.org/v2/gl/g%2Fa/{SHA}?urlpath=lab/tree/a.ipynb"


def test_a_hub_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ShareError, match="is not a BinderHub address"):
        launch_url(parse_remote("https://github.com/o/r"), SHA, "a.ipynb", hub="binder.example.org")


def pushed_repository(tmp_path: Path, url: str) -> tuple[Path, str]:
    """A committed repository whose commit is on origin/main, with origin then pointed at ``url``."""
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    root = init_repository(tmp_path / "work")
    write_notebook(root / "notebooks" / "analysis.ipynb")
    commit = commit_all(root)
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "--quiet", "-u", "origin", "main")
    git(root, "remote", "set-url", "origin", url)
    return root, commit


@pytest.mark.parametrize(
    ("url", "middle"),
    [
        ("git@github.com:octo/analysis.git", "gh/octo/analysis"),
        ("https://gitlab.com/group/analysis.git", "gl/group%2Fanalysis"),
        ("https://git.example.org/team/analysis.git", "git/https%3A%2F%2Fgit.example.org%2Fteam%2Fanalysis.git"),
    ],
)
def test_the_link_is_pinned_to_the_current_commit(tmp_path: Path, url: str, middle: str) -> None:
    root, commit = pushed_repository(tmp_path, url)
    link = binder_link(root / "notebooks" / "analysis.ipynb")
    assert link.link == f"https://mybinder.org/v2/{middle}/{commit}?urlpath=lab/tree/notebooks/analysis.ipynb"
    assert (link.commit, link.remote, link.notebook, link.warnings) == (commit, "origin", "notebooks/analysis.ipynb", [])


def test_uncommitted_changes_and_an_unpushed_commit_are_warned_about(tmp_path: Path) -> None:
    root, first = pushed_repository(tmp_path, "https://github.com/octo/analysis")
    notebook = root / "notebooks" / "analysis.ipynb"
    notebook.write_text(notebook.read_text() + "\n")
    (root / "binder").mkdir()
    (root / "binder" / "Dockerfile").write_text("FROM python\n")
    link = binder_link(notebook, binder=root / "binder")
    assert len(link.warnings) == 2
    assert link.warnings[0].startswith("notebooks/analysis.ipynb has changes that are not committed")
    assert link.warnings[1].startswith("binder/ has changes that are not committed")

    second = commit_all(root, "more")
    link = binder_link(notebook, binder=root / "binder")
    assert link.commit == second != first
    assert link.warnings == [
        f"Commit {second[:12]} is not on origin (as of the last fetch), so the link will not resolve yet; "
        "push it with `git push origin HEAD`."
    ]


def test_outside_a_repository_the_sentence_says_a_link_needs_one(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "loose" / "analysis.ipynb")
    with pytest.raises(ShareError, match=r"^analysis.ipynb is not in a git repository, and a Binder link points at a commit"):
        binder_link(notebook)


def test_a_repository_without_a_remote_or_a_commit_is_one_clear_sentence(tmp_path: Path) -> None:
    root = init_repository(tmp_path / "work")
    notebook = write_notebook(root / "analysis.ipynb")
    with pytest.raises(ShareError, match="has no commit yet; commit the notebook"):
        binder_link(notebook)
    commit_all(root)
    with pytest.raises(ShareError, match="has no remote, so there is nothing a BinderHub could clone; add one with"):
        binder_link(notebook)


def test_another_remote_can_be_named_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    root, commit = pushed_repository(tmp_path, "https://github.com/octo/analysis")
    git(root, "remote", "add", "lab", "https://gitlab.com/octo/analysis.git")
    link = binder_link(root / "notebooks" / "analysis.ipynb", remote="lab")
    assert link.link.startswith(f"https://mybinder.org/v2/gl/octo%2Fanalysis/{commit}?")
    assert any("is not on lab" in w for w in link.warnings)
    with pytest.raises(ShareError, match="has no remote named upstream"):
        binder_link(root / "notebooks" / "analysis.ipynb", remote="upstream")


def test_reading_a_repository_runs_nothing_it_configures(tmp_path: Path) -> None:
    root, commit = pushed_repository(tmp_path, "https://github.com/octo/analysis")
    markers = tmp_path / "ran"
    expected = booby_trap(root, markers)
    notebook = root / "notebooks" / "analysis.ipynb"
    touch_without_change(notebook)
    git(root, "status", "--porcelain")  # the trap is real: a plain git status runs all of it
    assert sorted(p.name for p in markers.iterdir()) == expected
    for marker in markers.iterdir():
        marker.unlink()
    touch_without_change(notebook)

    link = binder_link(notebook)

    assert list(markers.iterdir()) == []
    assert link.commit == commit and link.warnings == []
