"""The probe's CUDA section, read from fixture trees through the root seam; torch is never imported."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import envcapsule.probe
from envcapsule.cuda import host_gpus
from envcapsule.probe import (
    collect,
    describe_gpu_host,
    live_torch_facts,
    loaded_cuda_libraries,
    nvml_facts,
    parse_nvidia_smi,
    parse_nvrm_version,
    read_driver_version,
)
from tests.conftest import require

NVRM = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
OPEN_NVRM = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  "
    "(dvs-builder@U16-I2-C04-35-2)  Sun Jul 27 07:09:16 UTC 2025\nGCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n"
)
TORCH_VERSION_PY = """from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']
__version__ = '2.5.1+cu124'
debug = False
cuda: Optional[str] = '12.4'
git_version = 'a8d6afb511a69687bbb2b7e88a3cf67917e1697e'
hip: Optional[str] = None
"""
MAPS = """\
55d0c7a00000-55d0c7a2c000 r--p 00000000 103:02 1835123                   /usr/bin/python3.11
7f3a10000000-7f3a10021000 rw-p 00000000 00:00 0
7f3a20000000-7f3a20080000 r--p 00000000 103:02 2231001                   {site}/nvidia/cuda_runtime/lib/libcudart.so.12
7f3a20080000-7f3a20100000 r-xp 00080000 103:02 2231001                   {site}/nvidia/cuda_runtime/lib/libcudart.so.12
7f3a30000000-7f3a30100000 r-xp 00000000 103:02 2231002                   {site}/nvidia/cudnn/lib/libcudnn.so.9
7f3a38000000-7f3a38100000 r-xp 00000000 103:02 2231004                   {site}/nvidia/cudnn/lib/libcudnn_graph.so.9
7f3a40000000-7f3a40100000 r-xp 00000000 103:02 2231003                   /usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15
7f3a50000000-7f3a50100000 r-xp 00000000 103:02 2231005                   /usr/local/lib/libcudart_static_helper.txt
7ffd5c9e0000-7ffd5ca01000 rw-p 00000000 00:00 0                          [stack]
"""


def make_dist_info(
    site: Path, name: str, version: str, *, tags: list[str] | None = None, top_level: list[str] | None = None
) -> Path:
    """A ``name-version.dist-info`` folder as pip leaves it."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / "INSTALLER").write_text("pip\n")
    if tags:
        (folder / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: false\n" + "".join(f"Tag: {t}\n" for t in tags))
    if top_level:
        (folder / "top_level.txt").write_text("\n".join(top_level) + "\n")
    return folder


def fake_root(tmp_path: Path, *, nvrm: str | None = NVRM, maps: str | None = None) -> Path:
    root = tmp_path / "root"
    (root / "proc/self").mkdir(parents=True)
    if nvrm is not None:
        (root / "proc/driver/nvidia").mkdir(parents=True)
        (root / "proc/driver/nvidia/version").write_text(nvrm)
    if maps is not None:
        (root / "proc/self/maps").write_text(maps)
    return root


def torch_site(tmp_path: Path, version: str = "2.5.1+cu124", version_py: str | None = TORCH_VERSION_PY) -> Path:
    """A site-packages with torch and the nvidia-* wheels it pulls in; its torch/__init__.py refuses to be imported."""
    site = tmp_path / "site"
    make_dist_info(site, "torch", version, tags=["cp311-cp311-linux_x86_64"], top_level=["torch"])
    package = site / "torch"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('the probe imported torch')\n")
    if version_py is not None:
        (package / "version.py").write_text(version_py)
    for name, wheel_version in (
        ("nvidia-cuda-runtime-cu12", "12.4.127"),
        ("nvidia-cudnn-cu12", "9.1.0.70"),
        ("nvidia-nccl-cu12", "2.21.5"),
        ("nvidia-ml-py", "12.560.30"),  # NVML bindings, not a CUDA library
    ):
        make_dist_info(site, name, wheel_version, tags=["py3-none-manylinux2014_x86_64"])
    make_dist_info(site, "numpy", "2.1.3", tags=["cp311-cp311-manylinux_2_17_x86_64"])
    return site


def probe_cuda(site: Path, root: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    facts = collect(paths=[str(site)], environ=environ if environ is not None else {"PATH": ""}, root=str(root))
    return facts["cuda"]


# --- the driver ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (NVRM, "550.54.15"),
        (OPEN_NVRM, "580.65.06"),
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  535.129.03  Release Build  (x)  Thu Oct 19 2023\n",
            "535.129.03",
        ),
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.82.01  Wed Oct 27 04:07:33 UTC 2021\n", "470.82.01"),
        ("garbage", None),
    ],
)
def test_the_driver_version_is_read_from_the_nvrm_line(text: str, version: str | None) -> None:
    assert parse_nvrm_version(text) == version


def test_sysfs_is_the_fallback_when_proc_has_no_driver(tmp_path: Path) -> None:
    root = fake_root(tmp_path, nvrm=None)
    (root / "sys/module/nvidia").mkdir(parents=True)
    (root / "sys/module/nvidia/version").write_text("550.54.15\n")

    assert read_driver_version(str(root)) == {"version": "550.54.15", "cuda": None, "source": "/sys/module/nvidia/version"}


def test_no_driver_and_no_cuda_packages_is_a_null_section(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist_info(site, "numpy", "2.1.3")

    facts = collect(paths=[str(site)], environ={"PATH": ""}, root=str(fake_root(tmp_path, nvrm=None)))

    assert facts["cuda"] is None
    assert facts["distributions"][0]["name"] == "numpy"  # the rest of the schema is untouched


# --- frameworks, wheels and loaded libraries ------------------------------------------------


def test_a_torch_cu124_environment_is_described_from_files_alone(tmp_path: Path) -> None:
    site = torch_site(tmp_path)
    cuda = probe_cuda(site, fake_root(tmp_path, maps=MAPS.format(site=site)))

    assert cuda["driver"] == {"version": "550.54.15", "cuda": None, "source": "/proc/driver/nvidia/version"}
    assert cuda["frameworks"]["torch"] == {
        "package": "torch",
        "version": "2.5.1+cu124",
        "installer": "pip",
        "cuda": "12.4",
        "local": "cu124",
        "git_version": "a8d6afb511a69687bbb2b7e88a3cf67917e1697e",
        "arch_list": None,
        "bundled_cuda": False,
    }
    assert cuda["wheels"] == {
        "nvidia-cuda-runtime-cu12": "12.4.127",
        "nvidia-cudnn-cu12": "9.1.0.70",
        "nvidia-nccl-cu12": "2.21.5",
    }
    assert [(lib["name"], lib["version"]) for lib in cuda["loaded_libraries"]] == [
        ("libcudart", "12"),
        ("libcudnn", "9"),
        ("libcudnn", "9"),
        ("libcuda", "550.54.15"),
    ]
    assert cuda["live_torch"] is None and cuda["gpus"] == []


def test_a_cuda_13_build_with_unsuffixed_wheels(tmp_path: Path) -> None:
    site = torch_site(tmp_path, "2.9.0+cu130", version_py=None)  # no version.py: the local version still tells
    make_dist_info(site, "nvidia-cuda-runtime", "13.0.96", tags=["py3-none-manylinux_2_27_x86_64"])
    make_dist_info(site, "nvidia-cudnn-cu13", "9.13.0.50", tags=["py3-none-manylinux_2_27_x86_64"])

    cuda = probe_cuda(site, fake_root(tmp_path, nvrm=OPEN_NVRM))

    assert cuda["frameworks"]["torch"]["cuda"] == "13.0"
    assert cuda["wheels"]["nvidia-cuda-runtime"] == "13.0.96" and cuda["wheels"]["nvidia-cudnn-cu13"] == "9.13.0.50"
    assert cuda["driver"]["version"] == "580.65.06"


def test_a_cpu_torch_is_not_a_cuda_framework(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist_info(site, "torch", "2.5.1+cpu")
    (site / "torch").mkdir()
    (site / "torch/version.py").write_text(TORCH_VERSION_PY.replace("'12.4'", "None"))

    assert collect(paths=[str(site)], environ={"PATH": ""}, root=str(fake_root(tmp_path, nvrm=None)))["cuda"] is None


def test_jax_cupy_and_tensorflow_builds(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist_info(site, "jax-cuda12-plugin", "0.4.35")
    make_dist_info(site, "jax-cuda12-pjrt", "0.4.35")
    make_dist_info(site, "cupy-cuda12x", "13.3.0")
    make_dist_info(site, "tensorflow", "2.16.1")
    build_info = site / "tensorflow/python/platform"
    build_info.mkdir(parents=True)
    (build_info / "build_info.py").write_text(
        "# Generated by TensorFlow's build.\n"
        "build_info = {'cpu_compiler': '/usr/lib/llvm-17/bin/clang', 'cuda_compute_capabilities': "
        "['sm_50', 'sm_60', 'sm_70', 'sm_80', 'compute_90'], 'cuda_version': '12.3', 'cudnn_version': '8', "
        "'is_cuda_build': True, 'is_rocm_build': False, 'is_tensorrt_build': True}\n"
    )

    frameworks = probe_cuda(site, fake_root(tmp_path, nvrm=None))["frameworks"]

    assert frameworks["jax"] == {
        "package": "jax-cuda12-pjrt",
        "version": "0.4.35",
        "cuda": "12",
        "packages": {"jax-cuda12-plugin": "0.4.35", "jax-cuda12-pjrt": "0.4.35"},
    }
    assert frameworks["cupy"] == {"package": "cupy-cuda12x", "version": "13.3.0", "installer": "pip", "cuda": "12"}
    assert frameworks["tensorflow"]["cuda"] == "12.3" and frameworks["tensorflow"]["cudnn"] == "8"
    assert frameworks["tensorflow"]["arch_list"] == ["sm_50", "sm_60", "sm_70", "sm_80", "compute_90"]


def test_an_older_tensorflow_build_info_in_an_ordered_dict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist_info(site, "tensorflow-gpu", "2.4.0")
    (site / "tensorflow/python/platform").mkdir(parents=True)
    (site / "tensorflow/python/platform/build_info.py").write_text(
        "import collections\nbuild_info = collections.OrderedDict([('cuda_version', '11.0'), ('cudnn_version', '8'), ('is_cuda_build', True)])\n"
    )

    tensorflow = probe_cuda(site, fake_root(tmp_path, nvrm=None))["frameworks"]["tensorflow"]

    assert (tensorflow["package"], tensorflow["cuda"], tensorflow["cudnn"]) == ("tensorflow-gpu", "11.0", "8")


def test_conda_cuda_packages_are_read_from_conda_meta(tmp_path: Path) -> None:
    prefix = tmp_path / "conda"
    (prefix / "conda-meta").mkdir(parents=True)
    for record in ("cuda-cudart-12.4.127-h99ab3db_0.json", "cudnn-9.1.1.17-cuda12_0.json", "numpy-2.1.3-py311_0.json", "history"):
        (prefix / "conda-meta" / record).write_text("{}")

    assert envcapsule.probe.conda_cuda_packages(str(prefix)) == {"cuda-cudart": "12.4.127", "cudnn": "9.1.1.17"}


def test_loaded_libraries_come_from_the_maps_text() -> None:
    maps = (
        MAPS.format(site="/env/site-packages")
        + "7f3a60000000-7f3a60100000 r-xp 0 103:02 9 /opt/nccl/libnccl.so.2.21.5 (deleted)\n"
    )

    libraries = loaded_cuda_libraries(maps)

    assert {lib["file"] for lib in libraries} == {
        "libcudart.so.12",
        "libcudnn.so.9",
        "libcudnn_graph.so.9",
        "libcuda.so.550.54.15",
        "libnccl.so.2.21.5",
    }
    assert next(lib for lib in libraries if lib["name"] == "libnccl")["path"] == "/opt/nccl/libnccl.so.2.21.5"


# --- GPUs: nvidia-smi and a live torch ------------------------------------------------------


@pytest.fixture()
def posix_shell() -> None:
    require(sys.platform != "win32", "a shell script stands in for nvidia-smi")


def fake_nvidia_smi(folder: Path, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


@pytest.mark.usefixtures("posix_shell")
def test_gpus_come_from_nvidia_smi_when_it_is_on_path(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0, 550.54.15"\necho "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0, 550.54.15"\n',
    )
    cuda = probe_cuda(torch_site(tmp_path), fake_root(tmp_path, nvrm=None), environ={"PATH": str(smi)})

    assert cuda["gpu_source"] == "nvidia-smi"
    assert cuda["gpus"] == [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "compute_capability": "9.0"}] * 2
    assert cuda["driver"] == {"version": "550.54.15", "cuda": None, "source": "nvidia-smi"}


@pytest.mark.usefixtures("posix_shell")
def test_a_driver_without_compute_cap_is_asked_again_without_it(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        'case "$1" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; exit 2;; esac\n'
        'echo "Tesla V100-SXM2-16GB, 16160 MiB, 470.82.01"\n',
    )
    cuda = probe_cuda(torch_site(tmp_path), fake_root(tmp_path), environ={"PATH": str(smi)})

    assert cuda["gpus"] == [{"name": "Tesla V100-SXM2-16GB", "memory_mib": 16160, "compute_capability": None}]
    assert cuda["driver"]["version"] == "550.54.15"  # /proc wins over nvidia-smi


def test_nvidia_smi_output_with_missing_values() -> None:
    text = "NVIDIA A100-SXM4-40GB, 40960 MiB, 8.0, 535.183.01\nGPU, with a comma, [N/A], [N/A], 535.183.01\n\n"

    assert parse_nvidia_smi(text) == [
        {"name": "NVIDIA A100-SXM4-40GB", "memory_mib": 40960, "compute_capability": "8.0", "driver_version": "535.183.01"},
        {"name": "GPU, with a comma", "memory_mib": None, "compute_capability": None, "driver_version": "535.183.01"},
    ]


class Untouchable:
    """Any attribute read fails the test: the probe must not go past is_initialized()."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the probe read torch.{name} before CUDA was initialised")


def fake_torch(initialized: bool) -> SimpleNamespace:
    properties = SimpleNamespace(name="NVIDIA H100 80GB HBM3", total_memory=84934656000, major=9, minor=0)
    cuda = SimpleNamespace(
        is_initialized=lambda: initialized,
        get_arch_list=lambda: ["sm_80", "sm_90"],
        device_count=lambda: 1,
        get_device_properties=lambda index: properties,
        nccl=SimpleNamespace(version=lambda: (2, 21, 5)),
    )
    return SimpleNamespace(
        cuda=cuda, version=SimpleNamespace(cuda="12.4"), backends=SimpleNamespace(cudnn=SimpleNamespace(version=lambda: 90100))
    )


def test_a_live_torch_is_read_only_once_cuda_is_initialised() -> None:
    assert live_torch_facts({}) is None
    assert (
        live_torch_facts({"torch": SimpleNamespace(cuda=SimpleNamespace(is_initialized=lambda: False), version=Untouchable())})
        is None
    )

    assert live_torch_facts({"torch": fake_torch(initialized=True)}) == {
        "cuda": "12.4",
        "cudnn": 90100,
        "nccl": "2.21.5",
        "arch_list": ["sm_80", "sm_90"],
        "devices": [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81000, "compute_capability": "9.0"}],
    }


def test_a_live_torch_that_raises_never_breaks_the_probe() -> None:
    broken = fake_torch(initialized=True)
    broken.cuda.get_arch_list = lambda: 1 / 0
    broken.cuda.device_count = lambda: 1 / 0

    facts = live_torch_facts({"torch": broken})

    assert facts is not None and facts["arch_list"] is None and facts["devices"] == [] and facts["cuda"] == "12.4"


# --- the probe as a script: torch is never imported ---------------------------------------------


def test_the_probe_never_imports_torch(tmp_path: Path) -> None:
    site = torch_site(tmp_path)
    root = fake_root(tmp_path, maps=MAPS.format(site=site))
    script = (
        "import json, runpy, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "facts = runpy.run_path(sys.argv[1], run_name='probe_check')['collect'](root=sys.argv[3])\n"
        "print(json.dumps({'cuda': facts['cuda'], 'problems': facts['problems'], 'torch': 'torch' in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, envcapsule.probe.__file__, str(site), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.devnull},
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["torch"] is False
    assert report["cuda"]["frameworks"]["torch"]["cuda"] == "12.4"
    assert report["cuda"]["driver"]["version"] == "550.54.15"
    assert report["problems"] == []


# --- NVML, when nvidia-ml-py is installed ---------------------------------------------------------


def fake_pynvml(calls: list[str]) -> ModuleType:
    module = ModuleType("pynvml")
    module.__spec__ = ModuleSpec("pynvml", None)
    handles = {0: "gpu0", 1: "gpu1"}

    def capability(handle: str) -> tuple[int, int]:
        if handle == "gpu1":
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return (9, 0)

    module.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    module.nvmlSystemGetDriverVersion = lambda: b"550.54.15"  # type: ignore[attr-defined]
    module.nvmlSystemGetCudaDriverVersion_v2 = lambda: 12040  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = handles.__getitem__  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda handle: "NVIDIA H100 80GB HBM3"  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda handle: SimpleNamespace(total=85520809984)  # type: ignore[attr-defined]
    module.nvmlDeviceGetCudaComputeCapability = capability  # type: ignore[attr-defined]
    return module


def test_nvml_gives_the_driver_its_cuda_version_and_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(calls))

    host = describe_gpu_host({"PATH": ""}, root="/")

    assert host["driver"] == {"version": "550.54.15", "cuda": "12.4", "source": "nvml"}
    assert host["gpus"] == [
        {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "compute_capability": "9.0"},
        {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "compute_capability": None},  # one failed call, one unknown
    ]
    assert host["gpu_source"] == "nvml" and calls == ["init", "shutdown"]


def test_a_broken_nvml_never_breaks_the_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = fake_pynvml([])
    module.nvmlInit = lambda: 1 / 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", module)

    assert nvml_facts() is None


def test_host_gpus_reads_the_host_as_the_probe_does(tmp_path: Path) -> None:
    host = host_gpus({"PATH": ""}, root=str(fake_root(tmp_path)))

    assert (host.driver_version, host.gpus, host.supported_cuda) == ("550.54.15", (), "12.4")
