"""The README's story typed at a shell on the real engine: status, build, launch, ps, verify, stop, doctor, export, import.

Human output is read as a user reads it; `--json` where a script would. The default base
image comes from ENVCAPSULE_BASE_IMAGE, as a site without a registry sets it once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.cli.shell import envcapsule, ok
from tests.integration.conftest import http_status
from tests.support import BASE_IMAGE

pytestmark = pytest.mark.integration


@pytest.fixture
def base_image_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)


def test_status_then_build_again_is_up_to_date(
    tiny_notebook: Path, tiny_kernel: Path, tiny_capsule: dict[str, Any], shared_cache: Path, base_image_default: None
) -> None:
    status = ok(envcapsule("status", tiny_notebook, "--python", tiny_kernel, "--json", cache=shared_cache)).json()
    assert (status["state"], status["image"], status["image_built"]) == ("up-to-date", tiny_capsule["image"], True)

    again = ok(envcapsule("build", tiny_notebook, cache=shared_cache))
    assert again.stdout.startswith(f"Image up to date: {tiny_capsule['image']}")


def test_launch_ps_verify_stop(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, tmp_path: Path, base_image_default: None
) -> None:
    launched = ok(envcapsule("launch", tiny_notebook, "--no-browser", cache=shared_cache))
    name = launched.stdout.split("Running: ", 1)[1].split(" ", 1)[0]
    try:
        url = next(line.split()[-1] for line in launched.stdout.splitlines() if line.strip().startswith("open"))
        assert http_status(url) == 200
        assert f"envcapsule stop {name}" in launched.stdout

        listed = ok(envcapsule("ps", cache=shared_cache))
        assert name in listed.stdout and url in listed.stdout  # off a terminal each URL stays whole on its line
        assert all(len(line) <= 80 or "http" in line for line in listed.stdout.splitlines())

        junit = tmp_path / "verify.xml"
        verified = envcapsule("verify", tiny_notebook, "--json", "--junit-xml", junit, cache=shared_cache)
        assert verified.code == 0, verified.stdout + verified.stderr
        assert verified.json()["reproduced"] is True
        suite = ElementTree.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        assert suite is not None and suite.get("failures") == "0" and len(suite.findall("testcase")) == 1
        # The verify's own container served no one: ps still lists only the launched one.
        assert [item["name"] for item in ok(envcapsule("ps", "--json", cache=shared_cache)).json()] == [name]
        record = json.loads((tiny_notebook.with_name("tiny.capsule") / "verify.json").read_text())
        assert record["reproduced"] is True
    finally:
        stopped = ok(envcapsule("stop", name, cache=shared_cache))
    assert stopped.stdout.strip() == "Stopped and removed 1 container(s)."
    assert name not in ok(envcapsule("ps", cache=shared_cache)).stdout


def test_doctor_passes_for_a_built_capsule(tiny_notebook: Path, tiny_capsule: dict[str, Any], base_image_default: None) -> None:
    doctor = envcapsule("doctor", tiny_notebook, "--json")
    assert doctor.code == 0, doctor.stdout
    checks = {check["name"]: check for check in doctor.json()["checks"]}
    assert checks["image"]["detail"] == f"{tiny_capsule['image']} is built"
    assert checks["base image"]["detail"] == f"{BASE_IMAGE} is on this machine"


def test_export_then_import_elsewhere(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, tmp_path: Path, base_image_default: None
) -> None:
    archive = tmp_path / "tiny.tar"
    exported = ok(envcapsule("export", tiny_notebook, "-o", archive, cache=shared_cache))
    assert exported.stdout.strip() == f"Archive written: {archive} (load it elsewhere with: envcapsule import tiny.tar)"

    elsewhere = tmp_path / "colleague"
    elsewhere.mkdir()
    imported = ok(envcapsule("import", archive, "--json", cache=shared_cache, cwd=elsewhere)).json()
    assert imported["image"] == tiny_capsule["image"]
    assert (elsewhere / "tiny.capsule" / "capsule.toml").is_file()
    assert (elsewhere / "tiny.ipynb").read_bytes() == tiny_notebook.read_bytes()
    shutil.rmtree(elsewhere)


def test_the_readme_python_example_runs(
    tiny_notebook: Path, tiny_kernel: Path, tiny_capsule: dict[str, Any], shared_cache: Path
) -> None:
    """The README's "From Python" block, run as written, with this test's notebook, kernel and base image put in."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## From Python", 1)[1]
    script = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "envcapsule.verify(" in script
    script = (
        script.replace('"analysis.ipynb"', repr(str(tiny_notebook)))
        .replace('".venv/bin/python"', repr(str(tiny_kernel)))
        .replace('"mirror/python:3.11.2-slim-bookworm"', repr(BASE_IMAGE))
    )
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Reproduced 1 of 1 cells of tiny.ipynb in envcapsule/tiny:")


def test_push_then_launch_by_digest(
    tiny_notebook: Path,
    tiny_capsule: dict[str, Any],
    shared_cache: Path,
    registry: str,
    docker_client: Any,
    base_image_default: None,
) -> None:
    pushed = ok(envcapsule("push", tiny_notebook, "--registry", f"{registry}/team", cache=shared_cache))
    ref = pushed.stdout.split("Pushed: ", 1)[1].split()[0]
    assert ref.startswith(f"{registry}/team/tiny@sha256:")
    assert f"Launch it anywhere with: envcapsule launch {ref}" in pushed.stdout
    pushes = json.loads((tiny_notebook.with_name("tiny.capsule") / "push.json").read_text())["pushes"]
    assert ref in [push["ref"] for push in pushes]  # one record per registry location pushed to

    launched = ok(envcapsule("launch", ref, "--no-browser", "--json", cache=shared_cache)).json()
    try:
        assert launched["image"] == ref
        assert http_status(launched["url"]) == 200
    finally:
        ok(envcapsule("stop", launched["name"], cache=shared_cache))
