"""Persistent Binder links: the git remote and the current commit -> a BinderHub launch URL and a badge.

BinderHub's providers name a repository three ways (its ``/v2/<provider>/<spec>/<ref>`` scheme):
``gh/<owner>/<repo>`` for GitHub, ``gl/<url-encoded owner/repo>`` for GitLab and
``git/<url-encoded clone URL>`` for any other public git host. The ref is the full commit
sha, so the link keeps reproducing that commit whatever happens to the branches later.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from envcapsule.lock.redact import redact_url
from envcapsule.share import gitrepo
from envcapsule.share.errors import ShareError

DEFAULT_HUB = "https://mybinder.org"
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class GitRemote:
    provider: str  # gh, gl or git
    spec: str  # the provider's repository spec, escaped as BinderHub expects
    url: str  # an https clone URL without credentials


@dataclass(frozen=True)
class BinderLink:
    link: str
    badge: str
    provider: str
    spec: str
    commit: str
    remote: str
    notebook: str  # relative to the repository root
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_remote(url: str) -> GitRemote:
    """GitHub, GitLab or generic git, from an https, http, git, ssh or scp-like (git@host:path) remote URL."""
    host, path = _host_and_path(url)
    path = path.strip("/")
    if host in ("github.com", "www.github.com"):
        parts = path.removesuffix(".git").split("/")
        if len(parts) != 2 or not all(parts):
            raise ShareError(
                f"The GitHub remote {redact_url(url, keep_user='git')} does not name OWNER/REPO; fix it with `git remote set-url`."
            )
        return GitRemote("gh", "/".join(parts), f"https://github.com/{'/'.join(parts)}")
    if host in ("gitlab.com", "www.gitlab.com"):
        project = path.removesuffix(".git")
        return GitRemote("gl", quote(project, safe=""), f"https://gitlab.com/{project}")
    clone = redact_url(f"https://{host}/{path}")
    return GitRemote("git", quote(clone, safe=""), clone)


def _host_and_path(url: str) -> tuple[str, str]:
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file" or not parts.hostname:
            raise _local_remote(url)
        return parts.hostname.lower(), parts.path  # hostname drops any user:password@ and :port
    scp = _SCP_LIKE.match(url)
    if scp and "/" not in scp.group("host"):
        return scp.group("host").lower(), scp.group("path")
    raise _local_remote(url)


def _local_remote(url: str) -> ShareError:
    return ShareError(
        f"The remote {redact_url(url)} is a local path, which no BinderHub can clone; add a public remote with `git remote add origin URL` and push."
    )


def launch_url(remote: GitRemote, commit: str, notebook: str, hub: str = DEFAULT_HUB) -> str:
    """``HUB/v2/<provider>/<spec>/<commit>?urlpath=lab/tree/<notebook>``."""
    return f"{normalized_hub(hub)}/v2/{remote.provider}/{remote.spec}/{commit}?urlpath={quote('lab/tree/' + notebook, safe='/')}"


def badge(link: str, hub: str = DEFAULT_HUB) -> str:
    return f"[![Binder]({normalized_hub(hub)}/badge_logo.svg)]({link})"


def normalized_hub(hub: str) -> str:
    parts = urlsplit(hub.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ShareError(f"--hub {hub} is not a BinderHub address; pass its URL, such as https://mybinder.org.")
    return hub.strip().rstrip("/")


def binder_link(
    notebook: Path, *, hub: str = DEFAULT_HUB, capsule: Path | None = None, binder: Path | None = None, remote: str | None = None
) -> BinderLink:
    """The commit-pinned launch link for ``notebook``, with a warning for every change the link would not carry."""
    notebook = Path(notebook).absolute()
    root = gitrepo.repository_root(notebook)
    if root is None:
        raise ShareError(
            f"{notebook.name} is not in a git repository, and a Binder link points at a commit of one; "
            "run `git init`, commit the notebook with binder/, push it to GitHub, GitLab or any public git host, and share again."
        )
    commit = gitrepo.head_commit(root)
    if commit is None:
        raise ShareError(f"The git repository {root} has no commit yet; commit the notebook and binder/, push, and share again.")
    name = _chosen_remote(root, remote)
    remote_url = gitrepo.remotes(root)[name]
    parsed = parse_remote(remote_url)
    relative = notebook.resolve().relative_to(root).as_posix()
    link = launch_url(parsed, commit, relative, hub)
    warnings = _warnings(root, commit, name, [p for p in (notebook, capsule, binder) if p is not None and p.exists()])
    if urlsplit(remote_url).scheme not in ("https", "http", "git") and parsed.provider == "git":
        warnings.append(
            f"The remote {redact_url(remote_url, keep_user='git')} is reached over ssh; "
            f"the link uses {parsed.url}, which must be publicly clonable."
        )
    return BinderLink(link, badge(link, hub), parsed.provider, parsed.spec, commit, name, relative, warnings)


def _chosen_remote(root: Path, wanted: str | None) -> str:
    known = gitrepo.remotes(root)
    if wanted is not None:
        if wanted not in known:
            raise ShareError(f"The git repository {root} has no remote named {wanted}; `git remote -v` lists its remotes.")
        return wanted
    if not known:
        raise ShareError(
            f"The git repository {root} has no remote, so there is nothing a BinderHub could clone; "
            "add one with `git remote add origin URL`, push, and share again."
        )
    chosen = gitrepo.default_remote(root, sorted(known))
    if chosen is None:
        raise ShareError(
            f"The git repository {root} has several remotes and none is origin or the branch's upstream; "
            "set the upstream with `git push -u REMOTE BRANCH` and share again."
        )
    return chosen


def _warnings(root: Path, commit: str, remote: str, paths: list[Path]) -> list[str]:
    folders = {p.resolve().relative_to(root).as_posix() for p in paths if p.is_dir()}
    warnings = [
        f"{relative}{'/' if relative in folders else ''} has changes that are not committed, so the link would not "
        "reproduce them; commit and push them, then share again."
        for relative in gitrepo.uncommitted(root, [p.resolve() for p in paths])
    ]
    if not gitrepo.is_pushed(root, commit, remote):
        warnings.append(
            f"Commit {commit[:12]} is not on {remote} (as of the last fetch), so the link will not resolve yet; "
            f"push it with `git push {remote} HEAD`."
        )
    return warnings
