"""`share --jupyterhub`: a KubeSpawner profile for the pushed image, pinned by digest, and its refusals as one sentence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from envcapsule import api
from envcapsule.cli import main
from envcapsule.errors import ShareError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.share.kubernetes import HEADER, render_yaml
from envcapsule.share.registry import record_push
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex
from tests.share.conftest import write_notebook

DIGEST = "sha256:" + "5e" * 32
REF = f"registry.example.org/team/analysis@{DIGEST}"


def pushed(project: Path, ref: str = REF, registry: str = "registry.example.org/team") -> Path:
    capsule = project.with_name("analysis.capsule")
    record_push(capsule, {"ref": ref, "registry": registry, "digest": DIGEST, "image_id": "sha256:" + "1" * 64})
    return capsule


def test_the_profile_runs_the_pushed_digest_as_a_single_user_server(project: Path) -> None:
    capsule = pushed(project)
    profile = api.share(project, kind="jupyterhub")
    assert profile.ref == REF and profile.capsule == capsule and profile.written is None
    assert profile.entry["display_name"] == "analysis" and profile.entry["slug"] == "analysis"
    assert profile.entry["description"].startswith("analysis.ipynb in its captured environment (Python 3.11.2)")
    assert profile.entry["kubespawner_override"] == {
        "image": REF,
        "image_pull_policy": "IfNotPresent",
        "cmd": ["jupyterhub-singleuser"],
        "uid": 1000,
        "gid": 1000,
        "fs_gid": 1000,
        "allow_privilege_escalation": False,
        "default_url": "/lab/tree/analysis.ipynb",
    }
    assert profile.notes == ()
    text = profile.to_yaml()
    assert text.startswith(HEADER)
    assert yaml.safe_load(text) == {"singleuser": {"profileList": [profile.entry]}} == profile.to_json()["values"]


def test_the_profile_of_a_cuda_capsule_asks_for_a_gpu_and_names_the_driver(tmp_path: Path, index: FakeIndex) -> None:
    notebook = write_notebook(tmp_path / "train.ipynb")
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),),
        pip_config=PipConfig(index_url=index.url),
        cuda={"frameworks": {"tensorflow": {"package": "tensorflow", "version": "2.16.1", "cuda": "12.3", "cudnn": "8"}}},
    )
    capsule = snapshot(notebook, python=sys.executable, facts=facts).capsule
    record_push(capsule, {"ref": f"ghcr.io/team/train@{DIGEST}", "registry": "ghcr.io/team", "digest": DIGEST})

    profile = api.share(notebook, kind="jupyterhub")

    assert profile.entry["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert "one NVIDIA GPU, driver 525.60.13 or newer" in profile.entry["description"]
    assert profile.notes == (
        "GPU nodes need the NVIDIA device plugin and driver 525.60.13 or newer; with GPU feature discovery, "
        "pick them with a node_affinity_required on nvidia.com/cuda.driver.major Gt 524.",
    )
    assert "# GPU nodes need the NVIDIA device plugin and driver 525.60.13" in profile.to_yaml()


def test_without_a_push_it_says_to_push_first(project: Path) -> None:
    with pytest.raises(ShareError) as refused:
        api.share(project, kind="jupyterhub")
    assert str(refused.value) == (
        "The capsule analysis.capsule has no pushed image, and a profile names its image by digest; "
        "push it with `envcapsule push analysis.ipynb --registry REGISTRY/NAMESPACE` first."
    )


def test_without_a_capsule_it_says_to_snapshot_and_push(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "fresh.ipynb")
    with pytest.raises(ShareError, match=r"^fresh\.ipynb has no capsule.*`envcapsule push fresh\.ipynb --registry"):
        api.share(notebook, kind="jupyterhub")
    assert not (tmp_path / "fresh.capsule").exists()  # sharing a profile never snapshots


def test_several_pushes_need_a_registry_and_the_registry_chooses(project: Path) -> None:
    pushed(project)
    pushed(project, f"127.0.0.1:5000/lab/analysis@sha256:{'7' * 64}", registry="127.0.0.1:5000/lab")
    with pytest.raises(ShareError, match=r"pushed to 2 registries \(127\.0\.0\.1:5000/lab, registry\.example\.org/team\)"):
        api.share(project, kind="jupyterhub")
    assert api.share(project, kind="jupyterhub", registry="https://127.0.0.1:5000/lab/").ref.endswith("7" * 64)
    assert api.share(project, kind="jupyterhub", registry="registry.example.org/team").ref == REF
    with pytest.raises(ShareError, match=r"no image pushed to ghcr\.io/other \(pushed to: 127\.0\.0\.1:5000/lab, registry"):
        api.share(project, kind="jupyterhub", registry="ghcr.io/other")


@pytest.mark.parametrize(
    ("ref", "sentence"),
    [
        ("registry.example.org/team/analysis:latest", "which is not pinned by a digest, and profiles pin digests"),
        ("registry.example.org/team/analysis@sha256:1234", "which is not an image reference"),
        ('evil"\nimage: x@sha256:' + "0" * 64, "which is not an image reference"),
        ("Team/Analysis@" + DIGEST, "which is not an image reference"),
    ],
)
def test_a_ref_without_a_digest_or_outside_the_grammar_is_refused(project: Path, tmp_path: Path, ref: str, sentence: str) -> None:
    pushed(project, ref)
    output = tmp_path / "profile.yaml"
    with pytest.raises(ShareError, match=sentence):
        api.share(project, kind="jupyterhub", output=output)
    assert not output.exists()


def test_the_output_file_is_rewritten_only_when_envcapsule_wrote_it(project: Path, tmp_path: Path) -> None:
    pushed(project)
    output = tmp_path / "analysis-profile.yaml"
    written = api.share(project, kind="jupyterhub", output=output)
    assert written.written == output and output.read_text() == written.to_yaml()
    output.write_text(output.read_text().replace("IfNotPresent", "Always"))
    api.share(project, kind="jupyterhub", output=output)  # its own file: replaced without --force
    assert "IfNotPresent" in output.read_text()

    foreign = tmp_path / "config.yaml"
    foreign.write_text("hub:\n  config: {}\n")
    with pytest.raises(ShareError, match=r"config\.yaml exists and was not written by envcapsule; pass `--force` to replace it"):
        api.share(project, kind="jupyterhub", output=foreign)
    assert foreign.read_text() == "hub:\n  config: {}\n"
    api.share(project, kind="jupyterhub", output=foreign, force=True)
    assert yaml.safe_load(foreign.read_text())["singleuser"]["profileList"][0]["kubespawner_override"]["image"] == REF


def test_every_string_is_quoted_so_yaml_reads_back_the_same_values() -> None:
    values = {
        "a": ["x", 1, True],
        "b: c": {"d": 'quote " and # hash', "e": "line\nbreak", "f": "ünï", "g": {}},
        "h": [],
        "on": "off",
        "null": None,
    }
    assert yaml.safe_load(render_yaml(values)) == values
    assert "\nh: []\n" in render_yaml(values)  # keys that read back as themselves stay plain


def test_the_command_prints_the_profile_and_refuses_two_kinds(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed(project)
    assert main(["share", str(project), "--jupyterhub"]) == 0
    printed = capsys.readouterr().out
    assert yaml.safe_load(printed)["singleuser"]["profileList"][0]["kubespawner_override"]["image"] == REF

    assert main(["share", str(project), "--jupyterhub", "--json", "-o", str(tmp_path / "p.yaml")]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == str(tmp_path / "p.yaml")

    assert main(["share", str(project), "--jupyterhub", "--binder", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"].startswith("Say which kind of sharing: --binder writes binder/")
