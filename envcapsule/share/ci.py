"""``share --ci github|gitlab``: a CI job that builds the capsule's image and verifies the notebook on each push.

The job fails when a cell no longer reproduces (``envcapsule verify`` exits 1) and keeps the
JUnit report (``--junit``, one test case per cell) where the CI system shows it. The
notebook's path reaches the job as an environment variable, never inside a shell command.
A workflow file that envcapsule did not write is replaced only with ``force``, and kept
beside it as ``<name>.bak`` first.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.share import gitrepo
from envcapsule.share.errors import ShareError

PROVIDERS = ("github", "gitlab")
MARKER = "# Written by `envcapsule share --ci`"
REPORT = "envcapsule-verify.xml"
WORKFLOW_PATHS = {"github": ".github/workflows/envcapsule-verify.yml", "gitlab": ".gitlab-ci.yml"}


@dataclass(frozen=True)
class CiWorkflow:
    provider: str
    path: Path
    notebook: str  # relative to the repository root
    backup: Path | None  # the file that was there, kept when --force replaced it
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "path": str(self.path),
            "notebook": self.notebook,
            "backup": str(self.backup) if self.backup else None,
            "changed": self.changed,
        }


def render_workflow(provider: str, notebook: str) -> str:
    """The workflow text; ``notebook`` is a checked relative path, written as a quoted YAML scalar."""
    quoted = json.dumps(grammar.relative_path("notebook", notebook))  # a JSON string is a YAML double-quoted scalar
    if provider == "github":
        return _GITHUB.format(marker=MARKER, notebook=quoted, report=REPORT)
    if provider == "gitlab":
        return _GITLAB.format(marker=MARKER, notebook=quoted, report=REPORT)
    raise ShareError(f"share --ci knows {' and '.join(PROVIDERS)}, not {provider!r}", "pass --ci github or --ci gitlab")


def write_workflow(notebook: Path, provider: str, *, force: bool = False) -> CiWorkflow:
    root = gitrepo.repository_root(notebook)
    if root is None:
        raise ShareError(
            f"{notebook.name} is not in a git repository, and a CI job runs on a repository's pushes",
            f"run `git init` in {notebook.parent} and commit the notebook and its capsule folder",
        )
    relative = notebook.resolve().relative_to(root.resolve()).as_posix()
    text = render_workflow(provider, relative)
    path = root / WORKFLOW_PATHS[provider]
    existing = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    backup = None
    if existing is not None and not existing.startswith(MARKER):
        if not force:
            raise ShareError(
                f"{path} exists and envcapsule did not write it, so it was left as it is",
                "pass `--force` to replace it (it is kept as a .bak file beside it)",
            )
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    if existing != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    return CiWorkflow(provider, path, relative, backup, existing != text)


_GITHUB = """\
{marker}: on each push, build the capsule's image and re-execute
# the notebook in it; the job fails when a cell's outputs no longer reproduce.
name: envcapsule verify
on:
  push:
  pull_request:
jobs:
  verify:
    runs-on: ubuntu-latest
    env:
      NOTEBOOK: {notebook}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install envcapsule
        run: python -m pip install envcapsule
      - name: Build the capsule's image
        run: envcapsule build "$NOTEBOOK"
      - name: Verify that every cell reproduces
        run: envcapsule verify "$NOTEBOOK" --junit {report}
      - name: Keep the JUnit report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: envcapsule-verify
          path: {report}
"""

_GITLAB = """\
{marker}: on each push, build the capsule's image and re-execute
# the notebook in it; the job fails when a cell's outputs no longer reproduce.
envcapsule-verify:
  image: docker:27
  services:
    - docker:27-dind
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: ""
    NOTEBOOK: {notebook}
  before_script:
    - apk add --no-cache python3
    - python3 -m venv /opt/envcapsule-cli
    - /opt/envcapsule-cli/bin/pip install envcapsule
  script:
    - /opt/envcapsule-cli/bin/envcapsule build "$NOTEBOOK"
    - /opt/envcapsule-cli/bin/envcapsule verify "$NOTEBOOK" --junit {report}
  artifacts:
    when: always
    reports:
      junit: {report}
"""
