"""`envcapsule share --ci github|gitlab` typed at a shell: the workflow it writes validates against check-jsonschema's vendored schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.shell import TINY_NOTEBOOK, envcapsule, ok

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "analysis dir").mkdir(parents=True)
    (root / "analysis dir" / "study $HOME.ipynb").write_text(json.dumps(TINY_NOTEBOOK))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _validates(path: Path, schema: str) -> None:
    checked = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("provider", "written", "schema"),
    [
        ("github", ".github/workflows/envcapsule-verify.yml", "vendor.github-workflows"),
        ("gitlab", ".gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_share_ci_writes_a_job_that_validates_and_verifies_the_notebook(
    repository: Path, provider: str, written: str, schema: str
) -> None:
    import yaml

    notebook = repository / "analysis dir" / "study $HOME.ipynb"
    shown = ok(envcapsule("share", notebook, "--ci", provider))
    path = repository / written
    assert shown.stdout.startswith(f"Written: {path} (builds the image and verifies analysis dir/study $HOME.ipynb on each push")
    _validates(path, schema)

    text = path.read_text()
    job = yaml.safe_load(text)
    # The path travels as a variable, so `$HOME` in its name is never expanded by a shell.
    variables = job["jobs"]["verify"]["env"] if provider == "github" else job["envcapsule-verify"]["variables"]
    assert variables["NOTEBOOK"] == "analysis dir/study $HOME.ipynb"
    assert 'verify "$NOTEBOOK" --junit envcapsule-verify.xml' in text and "study" not in text.split("NOTEBOOK:")[0]
    again = ok(envcapsule("share", notebook, "--ci", provider, "--json")).json()
    assert again["changed"] is False and again["backup"] is None


def test_a_workflow_envcapsule_did_not_write_is_replaced_only_with_force(repository: Path) -> None:
    notebook = repository / "analysis dir" / "study $HOME.ipynb"
    own = repository / ".gitlab-ci.yml"
    own.write_text("test:\n  script: [make test]\n")
    refused = envcapsule("share", notebook, "--ci", "gitlab")
    assert refused.code == 1
    assert refused.stderr.strip() == (
        f"error: {own} exists and envcapsule did not write it, so it was left as it is; "
        "pass `--force` to replace it (it is kept as a .bak file beside it)."
    )
    assert own.read_text() == "test:\n  script: [make test]\n"

    replaced = ok(envcapsule("share", notebook, "--ci", "gitlab", "--force", "--json")).json()
    assert replaced["backup"] == f"{own}.bak"
    assert Path(replaced["backup"]).read_text() == "test:\n  script: [make test]\n"
    _validates(own, "vendor.gitlab-ci")


def test_share_ci_outside_a_repository_says_how_to_make_one(tmp_path: Path) -> None:
    notebook = tmp_path / "alone.ipynb"
    notebook.write_text(json.dumps(TINY_NOTEBOOK))
    failed = envcapsule("share", notebook, "--ci", "github", "--json")
    assert failed.code == 1 and failed.json()["code"] == "share"
    assert "is not in a git repository" in failed.json()["error"]
