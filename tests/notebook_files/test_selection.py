"""Which files beside a notebook travel: the sweep, git, .envcapsuleignore, --include/--exclude, the budget, bad folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from envcapsule.errors import NotebookFilesError
from envcapsule.notebook_files.patterns import PatternSet
from envcapsule.notebook_files.selection import format_size, parse_size, select_files


def put(folder: Path, relative: str, content: bytes = b"x") -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    put(folder, "analysis.ipynb", b"{}")
    put(folder, "helpers.py", b"def f(): return 1\n")
    put(folder, "data/input.csv", b"a,b\n1,2\n")
    put(folder, ".env", b"TOKEN=secret\n")
    put(folder, "__pycache__/helpers.cpython-311.pyc")
    put(folder, ".ipynb_checkpoints/analysis-checkpoint.ipynb")
    put(folder, ".venv/pyvenv.cfg")
    put(folder, "env/pyvenv.cfg")
    put(folder, "env/lib/site.py")
    put(folder, "other.capsule/capsule.toml")
    return folder


def test_the_sweep_takes_the_folder_minus_noise_and_the_notebook(project: Path) -> None:
    selection = select_files(project, notebook=project / "analysis.ipynb")
    assert selection.source == "folder"
    assert selection.paths == ("data/input.csv", "helpers.py")
    assert selection.sizes == (8, 18)


def test_envcapsuleignore_uses_gitignore_syntax(project: Path) -> None:
    put(project, "run.log")
    put(project, "keep.log")
    put(project, "scratch/tmp.txt")
    put(project, "data/raw/huge.bin")
    (project / ".envcapsuleignore").write_text("# noise\n*.log\n!keep.log\nscratch/\n/data/raw\n")
    selection = select_files(project, notebook=project / "analysis.ipynb")
    assert selection.paths == ("data/input.csv", "helpers.py", "keep.log")


def test_include_brings_back_what_the_sweep_leaves_and_exclude_wins(project: Path) -> None:
    put(project, ".config/settings.json")
    selection = select_files(project, include=[".config/*.json", "*.py"], exclude=["helpers.py"])
    assert selection.paths == (".config/settings.json", "analysis.ipynb", "data/input.csv")


def test_a_git_repository_gives_its_tracked_files(project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "helpers.py", "analysis.ipynb"], check=True)
    selection = select_files(project, notebook=project / "analysis.ipynb")
    assert selection.source == "git"
    assert selection.paths == ("helpers.py",)
    assert select_files(project, include=["data/*"]).paths == ("analysis.ipynb", "data/input.csv", "helpers.py")


def test_past_the_budget_the_largest_files_are_left_out_and_named(tmp_path: Path) -> None:
    put(tmp_path, "big.bin", b"b" * 60)
    put(tmp_path, "middle.bin", b"m" * 30)
    put(tmp_path, "small.bin", b"s" * 20)
    selection = select_files(tmp_path, max_bytes=70)
    assert selection.paths == ("middle.bin", "small.bin")
    [left_out] = selection.left_out
    assert left_out.path == "big.bin" and left_out.size == 60
    assert "past the 70 bytes budget" in left_out.sentence()


def test_a_symlink_out_of_the_folder_is_named_not_followed(tmp_path: Path) -> None:
    outside = put(tmp_path, "elsewhere/secret.txt")
    folder = tmp_path / "project"
    put(folder, "inside.txt")
    (folder / "linked.txt").symlink_to(outside)
    (folder / "alias.txt").symlink_to(folder / "inside.txt")
    selection = select_files(folder)
    assert selection.paths == ("alias.txt", "inside.txt")
    [left_out] = selection.left_out
    assert left_out.path == "linked.txt"
    assert str(outside) in left_out.sentence() and "not followed" in left_out.sentence()


def test_the_home_folder_is_not_swept_without_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    put(tmp_path, "analysis.ipynb", b"{}")
    put(tmp_path, "data/input.csv")
    with pytest.raises(NotebookFilesError, match="is your home folder") as caught:
        select_files(tmp_path, notebook=tmp_path / "analysis.ipynb")
    assert "`--include PATTERN`" in caught.value.message("cli")
    assert select_files(tmp_path, notebook=tmp_path / "analysis.ipynb", include=["data/*.csv"]).paths == ("data/input.csv",)


def test_the_root_folder_is_not_swept() -> None:
    with pytest.raises(NotebookFilesError, match="is the root folder"):
        select_files(Path("/"))


def test_a_live_kernel_names_its_files(project: Path, tmp_path: Path) -> None:
    elsewhere = put(tmp_path, "elsewhere.csv")
    used = [project / "helpers.py", project / "data" / "input.csv", elsewhere, project / "gone.csv"]
    selection = select_files(project, kernel_files=used)
    assert selection.source == "kernel"
    assert selection.paths == ("data/input.csv", "helpers.py")


def test_an_unreadable_file_is_one_sentence(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from envcapsule.notebook_files import store

    def refuse(path: Path) -> tuple[str, int]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store, "hash_file", refuse)  # chmod 0 does not stop root, who runs CI
    with pytest.raises(NotebookFilesError, match=r"input.csv cannot be read \(Permission denied\)") as caught:
        store.FileStore(project.parent / "cache").add(project / "data" / "input.csv", "data/input.csv")
    assert "--exclude data/input.csv" in caught.value.message("cli")


def test_patterns_match_folders_and_anchors() -> None:
    patterns = PatternSet(["build/", "/top.txt", "**/deep/*.csv", "[ab].py"])
    assert patterns.matches("build/out/x.o") and not patterns.matches("build")
    assert patterns.matches("top.txt") and not patterns.matches("sub/top.txt")
    assert patterns.matches("x/y/deep/z.csv") and patterns.matches("deep/z.csv")
    assert patterns.matches("sub/a.py") and not patterns.matches("c.py")


def test_sizes_read_and_written() -> None:
    assert parse_size("100MB") == 100_000_000
    assert parse_size("1.5G") == 1_500_000_000
    assert parse_size("512") == 512
    assert parse_size("2MiB") == 2 * 1024 * 1024
    with pytest.raises(ValueError):
        parse_size("lots")
    assert format_size(50_000_000) == "50 MB"
