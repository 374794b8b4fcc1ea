"""The few git facts sharing needs, read with the git command: root, commit, remotes, dirty and unpushed paths.

Only read-only git commands run here; nothing in the repository is changed, and no
network is used (whether a commit is pushed is judged from the remote-tracking refs).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from envcapsule.share.errors import ShareError


def git(repository: Path, *args: str) -> str:
    """The output of a read-only git command, or ShareError with git's own last line."""
    try:
        completed = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError:
        raise ShareError("git is not installed, and a Binder link needs the notebook's git repository; install git.") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"])[-1]
        raise ShareError(f"`git {' '.join(args)}` failed in {repository} ({last}); check the repository with `git status`.")
    return completed.stdout


def repository_root(path: Path) -> Path | None:
    """The top folder of the git work tree holding ``path``, or None outside any repository (or without git)."""
    folder = path if path.is_dir() else path.parent
    try:
        completed = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        return None
    if completed.returncode != 0 or not completed.stdout.strip():
        return None
    return Path(completed.stdout.strip()).resolve()


def head_commit(root: Path) -> str | None:
    """The full sha of HEAD, or None in a repository without commits."""
    completed = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or None


def remotes(root: Path) -> dict[str, str]:
    """Remote name -> fetch URL."""
    found: dict[str, str] = {}
    for line in git(root, "remote", "-v").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "(fetch)":
            found.setdefault(parts[0], parts[1])
    return found


def default_remote(root: Path, names: Sequence[str]) -> str | None:
    """The current branch's upstream remote, else ``origin``, else the only remote."""
    completed = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"],
        capture_output=True,
        text=True,
        check=False,
    )
    upstream = completed.stdout.strip().split("/", 1)[0] if completed.returncode == 0 else ""
    for candidate in (upstream, "origin"):
        if candidate and candidate in names:
            return candidate
    return names[0] if len(names) == 1 else None


def uncommitted(root: Path, paths: Sequence[Path]) -> list[str]:
    """Those of ``paths`` (files or folders) with changes or untracked files that are not committed."""
    relative = [p.relative_to(root).as_posix() for p in paths]
    output = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *relative)
    changed = [entry[3:] for entry in output.split("\0") if len(entry) > 3]
    return [r for r in relative if any(c == r or c.startswith(r.rstrip("/") + "/") for c in changed)]


def is_pushed(root: Path, commit: str, remote: str) -> bool:
    """Whether a remote-tracking branch of ``remote`` contains ``commit`` (as of the last fetch)."""
    listed = git(root, "branch", "-r", "--contains", commit, "--list", f"{remote}/*")
    return any(line.strip() and "->" not in line for line in listed.splitlines())
