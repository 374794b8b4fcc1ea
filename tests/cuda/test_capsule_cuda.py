"""CUDA in the capsule: the [cuda] table, the PyTorch index in the lockfiles, and the image labels."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import envcapsule.cuda
from envcapsule import _toml as tomllib
from envcapsule.capsule import read_capsule
from envcapsule.cuda import CudaFacts, cuda_section
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.image.base import BaseImage
from envcapsule.image.build import image_spec
from envcapsule.image.files import InstallPlan
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex

pytestmark = pytest.mark.usefixtures("no_pip_environment")

FIXTURES = Path(__file__).parent / "fixtures"
TORCH_WHEEL = "torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl"
TORCH_ARM64_WHEEL = "torch-2.5.1+cu124-cp311-cp311-manylinux_2_28_aarch64.whl"


def test_the_representative_h100_facts_give_this_cuda_table() -> None:
    # A hand-written, representative probe report of an H100 host running PyPI's torch 2.5.1
    # (CUDA 12.4) - not a capture. It pins what every later release reads from such a report.
    report = json.loads((FIXTURES / "h100_torch_cu124_probe.json").read_text())
    facts = EnvironmentFacts.from_probe(report)

    assert cuda_section(facts) == {
        "version": "12.4",
        "source": "pip-wheels",
        "cudnn": "9.1.0",
        "nccl": "2.21.5",
        "min_driver": "525.60.13",
        "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
        "frameworks": {"torch": "2.5.1"},
        "driver_seen": "550.54.15",
        "driver_cuda_seen": "12.4",
        "gpus_seen": [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "compute_capability": "9.0"}] * 2,
    }
    assert facts.to_dict()["cuda"] == report["cuda"]  # facts.json keeps the probe's section as it was


def test_no_cuda_stack_is_an_empty_table() -> None:
    assert cuda_section(EnvironmentFacts.from_probe(base_report(None))) == {}


def base_report(cuda: dict[str, Any] | None) -> dict[str, Any]:
    report = json.loads((FIXTURES / "h100_torch_cu124_probe.json").read_text())
    report["cuda"] = cuda
    return report


@pytest.mark.parametrize(
    ("cuda", "version", "source"),
    [
        # torch's CUDA wheels bring their libraries: the host driver is all they need.
        ({"frameworks": {"torch": {"cuda": "11.8", "installer": "pip", "bundled_cuda": True}}}, "11.8", "pip-wheels"),
        (
            {
                "frameworks": {"torch": {"cuda": "12.1", "installer": "conda"}},
                "conda": {"pytorch-cuda": "12.1", "cuda-cudart": "12.1.105"},
            },
            "12.1",
            "conda",
        ),
        ({"frameworks": {"tensorflow": {"cuda": "12.3", "cudnn": "8"}}}, "12.3", "system"),
        (
            {"frameworks": {"tensorflow": {"cuda": "12.3"}}, "wheels": {"nvidia-cuda-runtime-cu12": "12.3.101"}},
            "12.3",
            "pip-wheels",
        ),
        ({"frameworks": {"jax": {"cuda": "12"}}, "wheels": {"nvidia-cuda-runtime-cu12": "12.6.77"}}, "12.6", "pip-wheels"),
        ({"frameworks": {"cupy": {"cuda": "12"}}}, "12", "system"),
        (
            {
                "loaded_libraries": [
                    {"name": "libcudart", "version": "12.2.140", "path": "/usr/local/cuda/lib64/libcudart.so.12.2.140"}
                ]
            },
            "12.2",
            "system",
        ),
        ({"driver": {"version": "550.54.15"}, "gpus": [{"name": "NVIDIA L4", "compute_capability": "8.9"}]}, None, None),
    ],
)
def test_where_cuda_comes_from(cuda: dict[str, Any], version: str | None, source: str | None) -> None:
    facts = CudaFacts.from_probe(cuda)

    assert facts is not None and (facts.cuda_version, facts.source) == (version, source)


# --- a snapshot of a torch +cu124 environment ------------------------------------------------------


@pytest.fixture()
def pypi() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        served.add_file("torch", "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl", content=b"the PyPI build")
        yield served


@pytest.fixture()
def torch_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A stand-in for download.pytorch.org/whl on 127.0.0.1: a Simple API page for torch under cu124/."""
    served = tmp_path / "served"
    (served / "files").mkdir(parents=True)
    links = []
    for filename, content in ((TORCH_WHEEL, b"the cu124 build"), (TORCH_ARM64_WHEEL, b"the cu124 build for arm64")):
        (served / "files" / filename).write_bytes(content)
        links.append((filename, hashlib.sha256(content).hexdigest()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/whl"
    page = served / "whl" / "cu124" / "torch"
    page.mkdir(parents=True)
    files = f"http://127.0.0.1:{server.server_address[1]}/files"
    anchors = "".join(f'<a href="{files}/{quote(name)}#sha256={sha256}">{name}</a>' for name, sha256 in links)
    page.joinpath("index.html").write_text(f"<html><body>{anchors}</body></html>")
    monkeypatch.setattr(envcapsule.cuda, "TORCH_INDEX_BASE", base)
    try:
        yield f"{base}/cu124"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def torch_facts(index_url: str) -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(
            Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),
            Distribution("torch", "2.5.1+cu124", wheel_tags=("cp311-cp311-linux_x86_64",)),
        ),
        pip_config=PipConfig(index_url=index_url),
        cuda={
            "driver": {"version": "550.54.15", "cuda": None, "source": "/proc/driver/nvidia/version"},
            "gpus": [],
            "frameworks": {
                "torch": {"package": "torch", "version": "2.5.1+cu124", "installer": "pip", "cuda": "12.4", "local": "cu124"}
            },
        },
    )


def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "train.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_a_cu124_build_is_locked_on_the_pytorch_index(tmp_path: Path, pypi: FakeIndex, torch_index: str) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=torch_facts(pypi.url), platforms="linux/amd64")

    lock = tomllib.loads((result.capsule / "pylock.toml").read_text())
    torch = next(package for package in lock["packages"] if package["name"] == "torch")
    assert torch["version"] == "2.5.1+cu124"
    assert torch["index"] == torch_index
    assert torch["wheels"][0]["hashes"]["sha256"] == hashlib.sha256(b"the cu124 build").hexdigest()
    requirements = (result.capsule / "requirements.txt").read_text()
    assert f"--index-url {pypi.url}\n--extra-index-url {torch_index}\n" in requirements
    assert "torch==2.5.1+cu124 \\\n    --hash=sha256:" in requirements
    assert result.warnings == ()


def test_the_capsule_manifest_has_a_cuda_table(tmp_path: Path, pypi: FakeIndex, torch_index: str) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=torch_facts(pypi.url))

    manifest = read_capsule(result.capsule).manifest
    assert manifest["cuda"] == {
        "version": "12.4",
        "source": "pip-wheels",
        "min_driver": "525.60.13",
        "frameworks": {"torch": "2.5.1+cu124"},
        "driver_seen": "550.54.15",
        "driver_cuda_seen": "12.4",
    }
    assert json.loads((result.capsule / "facts.json").read_text())["cuda"]["frameworks"]["torch"]["local"] == "cu124"


def test_a_build_missing_from_the_pytorch_index_stays_unresolved(tmp_path: Path, pypi: FakeIndex, torch_index: str) -> None:
    facts = torch_facts(pypi.url)
    facts = EnvironmentFacts(
        **{**vars(facts), "distributions": (Distribution("torch", "2.4.0+cu124", wheel_tags=("cp311-cp311-linux_x86_64",)),)}
    )

    [entry] = snapshot(notebook(tmp_path), python=sys.executable, facts=facts).entries

    assert entry.kind == "unresolved" and "torch==2.4.0+cu124" in (entry.reason or "")


def test_image_labels_carry_the_cuda_version_and_minimum_driver(tmp_path: Path, pypi: FakeIndex, torch_index: str) -> None:
    capsule = read_capsule(snapshot(notebook(tmp_path), python=sys.executable, facts=torch_facts(pypi.url)).capsule)
    base = BaseImage("python:3.11.2-slim-bookworm", "sha256:" + "0" * 64, None, "3.11.2")

    labels = image_spec(capsule, base, InstallPlan(files=(), skipped=()), "f" * 64).labels

    assert labels["envcapsule.cuda"] == "12.4"
    assert labels["envcapsule.min-driver"] == "525.60.13"


def test_a_capsule_without_cuda_has_no_cuda_labels(tmp_path: Path, pypi: FakeIndex) -> None:
    facts = EnvironmentFacts(**{**vars(torch_facts(pypi.url)), "cuda": None, "distributions": ()})
    capsule = read_capsule(snapshot(notebook(tmp_path), python=sys.executable, facts=facts).capsule)
    base = BaseImage("python:3.11.2-slim-bookworm", "sha256:" + "0" * 64, None, "3.11.2")

    labels = image_spec(capsule, base, InstallPlan(files=(), skipped=()), "f" * 64).labels

    assert "cuda" not in capsule.manifest
    assert not any(key.startswith("envcapsule.cuda") or key == "envcapsule.min-driver" for key in labels)


def test_the_arm64_target_finds_the_framework_build_on_its_own_index(tmp_path: Path, pypi: FakeIndex, torch_index: str) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=torch_facts(pypi.url))
    lock = tomllib.loads((result.capsule / "pylock.toml").read_text())
    torch = next(package for package in lock["packages"] if package["name"] == "torch")
    arm64 = torch["wheels"][1]
    assert arm64["url"].startswith(torch_index.rsplit("/whl", 1)[0]) and "aarch64" in arm64["url"]
    assert arm64["hashes"]["sha256"] == hashlib.sha256(b"the cu124 build for arm64").hexdigest()
    assert result.warnings == ()
