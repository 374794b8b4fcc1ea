"""The few git facts sharing needs, read with the git command: root, commit, remotes, dirty and unpushed paths.

Only read-only git commands run here; nothing in the repository is changed, and no
network is used (whether a commit is pushed is judged from the remote-tracking refs).

A repository is someone else's data: reading it runs nothing it configures. Every command
runs with the fsmonitor hook off, hooks pointed at /dev/null, no optional index writes, no
pager or prompt, and ``status`` with every configured clean/smudge/process filter emptied
and submodules ignored (a submodule has its own configuration).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from envcapsule.share.errors import ShareError

SAFE_OPTIONS = ("--no-optional-locks", "-c", "core.fsmonitor=", "-c", "core.hooksPath=/dev/null", "-c", "core.pager=cat")
_TIMEOUT = 60


def _run(folder: Path, args: Sequence[str], overrides: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run git in ``folder`` with nothing the repository configures allowed to run; FileNotFoundError without git."""
    command = ["git", *SAFE_OPTIONS, *overrides, "-C", str(folder), *args]
    environ = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=_TIMEOUT, env=environ, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ShareError(
            f"`git {' '.join(args)}` did not finish within {_TIMEOUT} s in {folder}; check the repository with `git status`."
        ) from None


def git(repository: Path, *args: str, overrides: Sequence[str] = ()) -> str:
    """The output of a read-only git command, or ShareError with git's own last line."""
    try:
        completed = _run(repository, args, overrides)
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
        completed = _run(folder, ["rev-parse", "--show-toplevel"])
    except FileNotFoundError:
        return None
    if completed.returncode != 0 or not completed.stdout.strip():
        return None
    return Path(completed.stdout.strip()).resolve()


def head_commit(root: Path) -> str | None:
    """The full sha of HEAD, or None in a repository without commits."""
    return _run(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).stdout.strip() or None


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
    completed = _run(root, ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"])
    upstream = completed.stdout.strip().split("/", 1)[0] if completed.returncode == 0 else ""
    for candidate in (upstream, "origin"):
        if candidate and candidate in names:
            return candidate
    return names[0] if len(names) == 1 else None


def uncommitted(root: Path, paths: Sequence[Path]) -> list[str]:
    """Those of ``paths`` (files or folders) with changes or untracked files that are not committed."""
    relative = [p.relative_to(root).as_posix() for p in paths]
    status = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all", "--", *relative)
    output = git(root, *status, overrides=_filters_off(root))
    changed = [entry[3:] for entry in output.split("\0") if len(entry) > 3]
    return [r for r in relative if any(c == r or c.startswith(r.rstrip("/") + "/") for c in changed)]


def _filters_off(root: Path) -> list[str]:
    """``-c`` options that empty every filter driver the configuration names (and make none required):
    status would otherwise run them. A file stored through a filter (Git LFS) may then show as changed."""
    listed = _run(root, ["config", "--name-only", "--get-regexp", r"^filter\..*\.(clean|smudge|process|required)$"]).stdout
    drivers = {key.rsplit(".", 1)[0] for key in listed.splitlines() if key}
    overrides = []
    for driver in sorted(drivers):
        overrides += [
            "-c",
            f"{driver}.clean=",
            "-c",
            f"{driver}.smudge=",
            "-c",
            f"{driver}.process=",
            "-c",
            f"{driver}.required=false",
        ]
    return overrides


def is_pushed(root: Path, commit: str, remote: str) -> bool:
    """Whether a remote-tracking branch of ``remote`` contains ``commit`` (as of the last fetch)."""
    listed = git(root, "branch", "-r", "--contains", commit, "--list", f"{remote}/*")
    return any(line.strip() and "->" not in line for line in listed.splitlines())
