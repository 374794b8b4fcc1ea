"""GPU launch and doctor against a fake engine and a fake host: the device request, --gpus none, clear refusals."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from docker.errors import APIError, ImageNotFound, NotFound
from docker.types import DeviceRequest

from envcapsule.capsule import read_capsule
from envcapsule.cuda import (
    ENGINE_DECIDES,
    GPU_TRIAL_LABEL,
    Check,
    CudaFacts,
    Gpu,
    GpuError,
    gpu_checks,
    gpu_request_for,
    runtime_check,
)
from envcapsule.doctor import doctor
from envcapsule.engine import EngineError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.image.base import default_base_image
from envcapsule.image.build import image_tag
from envcapsule.run import LaunchError, launch
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex
from tests.run.fake_engine import IMAGE, FakeEngine, FakeJupyter

CUDA_CAPSULE = {
    "interpreter": {"version": "3.11.2"},
    "cuda": {"version": "12.4", "source": "pip-wheels", "min_driver": "525.60.13", "arch_list": ["sm_80", "sm_86", "sm_90"]},
}
CPU_CAPSULE = {"interpreter": {"version": "3.11.2"}}
H100_HOST = CudaFacts(driver_version="550.54.15", gpus=(Gpu("NVIDIA H100 80GB HBM3", 81559, "9.0"),) * 2)
NVIDIA_INFO = {"Runtimes": {"runc": {"path": "runc"}, "nvidia": {"path": "nvidia-container-runtime"}}, "DockerRootDir": "/"}

DOCTOR = importlib.import_module("envcapsule.doctor")  # the module; `envcapsule.doctor` is the workflow


class GpuEngine(FakeEngine):
    """The run/ tests' fake engine, plus what the GPU checks ask: ``info()`` and ``version()``."""

    def __init__(self, jupyter: FakeJupyter, info: dict[str, Any] | None = None) -> None:
        super().__init__(jupyter)
        self.engine_info = dict(NVIDIA_INFO if info is None else info)

    def info(self) -> dict[str, Any]:
        return self.engine_info

    def version(self) -> dict[str, Any]:
        return {"Platform": {"Name": "Docker Engine - Community"}, "Version": "27.3.1", "ApiVersion": "1.47"}

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg-runtime")))


@pytest.fixture
def jupyter() -> Iterator[FakeJupyter]:
    with FakeJupyter().serving() as server:
        yield server


@pytest.fixture
def engine(jupyter: FakeJupyter) -> GpuEngine:
    return GpuEngine(jupyter)


# --- the device request -----------------------------------------------------------------------


def test_a_cuda_capsule_is_launched_with_every_gpu(engine: GpuEngine) -> None:
    gpus = gpu_request_for(CUDA_CAPSULE, engine, "all", host=H100_HOST)

    launched = launch(engine, IMAGE, gpus=gpus)

    assert gpus == ["all"]
    assert engine.created[-1]["device_requests"] == [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    assert launched.url.startswith("http://127.0.0.1:")


def test_gpus_unset_means_all_for_a_cuda_capsule(engine: GpuEngine) -> None:
    assert gpu_request_for(CUDA_CAPSULE, engine, None, host=H100_HOST) == ["all"]


@pytest.mark.parametrize(
    ("option", "request_ids"), [("2", ["0", "1"]), (1, ["0"]), ("device=1", ["1"]), ("device=0,1", ["0", "1"])]
)
def test_a_number_or_ids_select_gpus(engine: GpuEngine, option: str | int, request_ids: list[str]) -> None:
    gpus = gpu_request_for(CUDA_CAPSULE, engine, option, host=H100_HOST)
    launch(engine, IMAGE, gpus=gpus)

    assert gpus == request_ids
    assert engine.created[-1]["device_requests"] == [DeviceRequest(device_ids=request_ids, capabilities=[["gpu"]])]


@pytest.mark.parametrize("option", ["none", "None", "0"])
def test_gpus_none_runs_on_the_cpu_without_any_check(jupyter: FakeJupyter, option: str) -> None:
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {}}})  # no NVIDIA runtime, and an old driver below
    old_host = CudaFacts(driver_version="470.82.01")

    gpus = gpu_request_for(CUDA_CAPSULE, engine, option, host=old_host)
    launch(engine, IMAGE, gpus=gpus)

    assert gpus is None
    assert "device_requests" not in engine.created[-1]


def test_a_capsule_without_cuda_gets_no_gpus(engine: GpuEngine) -> None:
    assert gpu_request_for(CPU_CAPSULE, engine, "all", host=H100_HOST) is None
    assert gpu_request_for({**CPU_CAPSULE, "cuda": {"driver_seen": "550.54.15"}}, engine, None, host=H100_HOST) is None


# --- refusals -----------------------------------------------------------------------------------


def refusal(engine: Any, host: CudaFacts, option: str | int | None = "all", manifest: dict[str, Any] = CUDA_CAPSULE) -> str:
    with pytest.raises(GpuError) as raised:
        gpu_request_for(manifest, engine, option, host=host)
    message = str(raised.value)
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert "`--gpus none`" in message
    return message


def test_a_driver_too_old_for_the_cuda_major_is_refused(engine: GpuEngine) -> None:
    message = refusal(engine, CudaFacts(driver_version="470.82.01", gpus=H100_HOST.gpus))

    assert message == (
        "The host's NVIDIA driver 470.82.01 is older than 525.60.13, the minimum for the capsule's CUDA 12.4; "
        "update the driver, or pass `--gpus none` to run on the CPU."
    )


def test_a_host_without_a_driver_is_refused(engine: GpuEngine) -> None:
    message = refusal(engine, CudaFacts())

    assert message.startswith("No NVIDIA driver was found on this host")
    assert "install NVIDIA driver 525.60.13 or newer" in message


def test_cdi_devices_stand_in_for_the_nvidia_runtime(jupyter: FakeJupyter) -> None:
    engine = GpuEngine(
        jupyter, info={"Runtimes": {"runc": {}}, "DiscoveredDevices": [{"Source": "cdi", "ID": "nvidia.com/gpu=all"}]}
    )

    assert runtime_check(engine) == Check("NVIDIA runtime", True, "the engine sees 1 NVIDIA CDI device(s)")
    assert gpu_request_for(CUDA_CAPSULE, engine, "all", host=H100_HOST) == ["all"]


def test_the_nvidia_runtime_settles_the_runtime_check(engine: GpuEngine) -> None:
    assert runtime_check(engine) == Check("NVIDIA runtime", True, "the engine has the nvidia runtime")


def test_an_engine_that_does_not_describe_itself_fails_the_runtime_check(engine: GpuEngine) -> None:
    def broken_info() -> dict[str, Any]:
        raise APIError("500 Server Error", explanation="engine is shutting down")

    engine.info = broken_info  # type: ignore[method-assign]

    check = runtime_check(engine)

    assert not check.ok and check.detail.startswith("the Docker engine did not describe itself")


def test_without_a_registered_runtime_docker_decides_at_start(jupyter: FakeJupyter) -> None:
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {"path": "runc"}}})  # the NVIDIA hook is invisible here

    check = runtime_check(engine)
    gpus = gpu_request_for(CUDA_CAPSULE, engine, "all", host=H100_HOST)
    launch(engine, IMAGE, gpus=gpus)

    assert check == ENGINE_DECIDES and check.ok
    assert check.sentence() == (
        "No nvidia runtime or CDI devices are registered; the engine may still use the NVIDIA hook, "
        "which Docker checks when the container starts."
    )
    assert engine.created[-1]["device_requests"] == [DeviceRequest(count=-1, capabilities=[["gpu"]])]


NO_DEVICE_DRIVER = APIError("500 Server Error", explanation='could not select device driver "" with capabilities: [[gpu]]')
NO_GPU_SENTENCE = (
    "The Docker engine cannot give containers GPUs (no nvidia runtime, NVIDIA CDI device or NVIDIA hook); "
    "install the NVIDIA Container Toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker` and restart the engine, "
    "or pass `--gpus none` to run on the CPU."
)


def test_dockers_refusal_at_start_is_one_gpu_sentence_and_leaves_nothing_behind(jupyter: FakeJupyter) -> None:
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {}}})
    engine.next_container = {"start_error": NO_DEVICE_DRIVER}

    with pytest.raises(GpuError) as raised:
        launch(engine, IMAGE, gpus=gpu_request_for(CUDA_CAPSULE, engine, "all", host=H100_HOST))

    assert str(raised.value) == NO_GPU_SENTENCE
    assert raised.value.__cause__ is NO_DEVICE_DRIVER
    assert len(engine.created) == 1 and engine.containers_by_id == {}


def test_dockers_refusal_at_create_is_the_same_sentence(jupyter: FakeJupyter) -> None:
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {}}})

    def refuse(image: str, **options: Any) -> Any:
        raise NO_DEVICE_DRIVER

    engine.containers.create = refuse  # type: ignore[method-assign]

    with pytest.raises(GpuError, match=r"^The Docker engine cannot give containers GPUs"):
        launch(engine, IMAGE, gpus=["all"])


def test_other_start_errors_stay_launch_errors(jupyter: FakeJupyter) -> None:
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {}}})
    engine.next_container = {"start_error": APIError("500 Server Error", explanation="OCI runtime create failed: no such file")}

    with pytest.raises(LaunchError, match=r"OCI runtime create failed: no such file") as raised:
        launch(engine, IMAGE, gpus=["all"])

    assert not isinstance(raised.value, GpuError)
    assert engine.containers_by_id == {}


def test_a_gpu_the_frameworks_were_not_built_for_is_refused(engine: GpuEngine) -> None:
    k80 = CudaFacts(driver_version="550.54.15", gpus=(Gpu("Tesla K80", 11441, "3.7"),))

    message = refusal(engine, k80)

    assert "Tesla K80, compute capability 3.7" in message and "sm_80, sm_86, sm_90" in message


def test_more_gpus_than_the_host_has_are_refused(engine: GpuEngine) -> None:
    assert "asks for 4 GPUs, but this host has 2" in refusal(engine, H100_HOST, option="4")


def test_a_malformed_gpus_option_is_one_sentence(engine: GpuEngine) -> None:
    with pytest.raises(GpuError, match=r"^--gpus takes all, none, a number of GPUs or device=ID,\.\.\., not 'many'"):
        gpu_request_for(CUDA_CAPSULE, engine, "many", host=H100_HOST)


def test_checks_pass_on_a_mixed_host_when_one_gpu_fits(engine: GpuEngine) -> None:
    mixed = CudaFacts(driver_version="550.54.15", gpus=(Gpu("Tesla K80", None, "3.7"), Gpu("NVIDIA A100-SXM4-40GB", None, "8.0")))

    checks = gpu_checks(engine, CUDA_CAPSULE, host=mixed)

    assert [check.ok for check in checks] == [True, True, True]
    assert "but not Tesla K80" in checks[2].detail


def test_unknown_compute_capabilities_are_not_refused(engine: GpuEngine) -> None:
    driver_only = CudaFacts(driver_version="550.54.15")

    checks = gpu_checks(engine, CUDA_CAPSULE, host=driver_only)

    assert checks[2] == Check("GPU compute capability", True, checks[2].detail)
    assert "not checked" in checks[2].detail


# --- doctor -------------------------------------------------------------------------------------


class DoctorImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def get(self, name: str) -> object:
        if name not in self.present:
            raise ImageNotFound(f"No such image: {name}")
        return object()


class Usage(NamedTuple):
    total: int
    used: int
    free: int


@pytest.fixture(autouse=True)
def free_disk(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Free space as doctor sees it, by folder (100 GiB unless a test says otherwise)."""
    free: dict[str, int] = {}
    monkeypatch.setattr(DOCTOR.shutil, "disk_usage", lambda path: Usage(0, 0, free.get(str(path), 100 * 2**30)))
    return free


@pytest.fixture()
def index() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


def make_capsule(tmp_path: Path, index_url: str, cuda: dict[str, Any] | None) -> Path:
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", distro_id="debian", distro_codename="bookworm"),
        distributions=(Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),),
        pip_config=PipConfig(index_url=index_url),
        cuda=cuda,
    )
    return snapshot(path, python=sys.executable, facts=facts).capsule


def test_doctor_on_a_cpu_capsule(tmp_path: Path, engine: GpuEngine, index: FakeIndex) -> None:
    engine.images = DoctorImages({"python:3.11.2-slim-bookworm"})  # type: ignore[assignment]
    capsule = make_capsule(tmp_path, index.url, None)

    checks = {check.name: check for check in doctor(capsule, engine)}

    assert list(checks) == ["capsule", "engine", "GPUs", "disk (engine)", "disk (cache)", "image", "base image"]
    assert all(check.ok for check in checks.values())
    assert checks["engine"].detail == "Docker Engine - Community 27.3.1 (API 1.47)"
    assert checks["GPUs"].detail == "not needed: the capsule does not use CUDA"
    assert "is not built yet" in checks["image"].detail
    assert checks["base image"].detail == "python:3.11.2-slim-bookworm is on this machine"


def test_doctor_on_a_system_cuda_capsule_with_an_old_driver(tmp_path: Path, engine: GpuEngine, index: FakeIndex) -> None:
    engine.images = DoctorImages(set())  # type: ignore[assignment]
    cuda = {"frameworks": {"tensorflow": {"package": "tensorflow", "version": "2.16.1", "cuda": "12.3", "cudnn": "8"}}}
    capsule = make_capsule(tmp_path, index.url, cuda)

    checks = {check.name: check for check in doctor(capsule, engine, host=CudaFacts(driver_version="470.82.01"))}

    assert checks["capsule"].detail.endswith("Python 3.11.2, CUDA 12.3 from system")
    assert checks["NVIDIA runtime"].ok
    assert not checks["NVIDIA driver"].ok and "older than 525.60.13" in checks["NVIDIA driver"].detail
    assert (
        checks["base image"].sentence()
        == "Nvidia/cuda:12.3.2-cudnn9-runtime-ubuntu22.04 is not on this machine, and a build must pull it from a registry; "
        "check that the registry can be reached, or make a base image here and name it with ENVCAPSULE_BASE_IMAGE."
    )
    assert not checks["base image"].ok


def test_doctor_without_an_engine_still_checks_the_host(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine(timeout: float = 10) -> Any:
        raise EngineError("No Docker engine was found (no /var/run/docker.sock and DOCKER_HOST is not set); install Docker.")

    monkeypatch.setattr(DOCTOR, "connect", no_engine)
    capsule = make_capsule(tmp_path, index.url, {"frameworks": {"torch": {"cuda": "12.4", "installer": "pip"}}})

    checks = {check.name: check for check in doctor(capsule, host=H100_HOST)}

    assert not checks["engine"].ok and checks["engine"].detail.startswith("No Docker engine was found")
    assert not checks["NVIDIA runtime"].ok and checks["NVIDIA driver"].ok
    assert checks["disk (cache)"].ok
    assert "image" not in checks


def test_doctor_reports_a_damaged_capsule(tmp_path: Path, engine: GpuEngine, index: FakeIndex) -> None:
    engine.images = DoctorImages(set())  # type: ignore[assignment]
    capsule = make_capsule(tmp_path, index.url, None)
    (capsule / "requirements.txt").write_text("six==1.17.0\n")

    checks = doctor(capsule, engine)

    assert checks[0].name == "capsule" and not checks[0].ok and "changed after the snapshot" in checks[0].detail


def test_doctor_warns_when_the_engine_storage_is_nearly_full(
    tmp_path: Path, engine: GpuEngine, index: FakeIndex, free_disk: dict[str, int]
) -> None:
    engine.images = DoctorImages(set())  # type: ignore[assignment]
    engine.engine_info["DockerRootDir"] = str(tmp_path)
    free_disk[str(tmp_path)] = 2**29
    capsule = make_capsule(tmp_path, index.url, None)

    disk = next(check for check in doctor(capsule, engine) if check.name == "disk (engine)")

    assert not disk.ok
    assert disk.detail == f"0.5 GiB free in {tmp_path}; the image needs about 2.0 GiB"
    assert disk.advice == f"free some space in {tmp_path} (e.g. `docker system prune`)"


# --- doctor's GPU trial ----------------------------------------------------------------------------


class TrialContainer:
    def __init__(self, containers: TrialContainers, name: str) -> None:
        self.containers = containers
        self.name = name

    def start(self) -> None:
        if self.containers.start_error is not None:
            raise self.containers.start_error
        self.containers.alive.discard(self.name)  # `true` exits at once and the engine auto-removes it

    def remove(self, force: bool = False) -> None:
        if self.name not in self.containers.alive:
            raise NotFound(f"No such container: {self.name}")
        self.containers.alive.discard(self.name)


class TrialContainers:
    """The engine's containers as doctor's GPU trial meets them: each start fails with ``start_error``, or runs."""

    def __init__(self, start_error: Exception | None = None) -> None:
        self.start_error = start_error
        self.created: list[dict[str, Any]] = []
        self.alive: set[str] = set()

    def create(self, image: str, command: list[str], **options: Any) -> TrialContainer:
        self.created.append({"image": image, "command": command, **options})
        self.alive.add(options["name"])
        return TrialContainer(self, options["name"])

    def get(self, name: str) -> TrialContainer:
        if name not in self.alive:
            raise NotFound(f"No such container: {name}")
        return TrialContainer(self, name)


PIP_CUDA = {"frameworks": {"torch": {"cuda": "12.4", "installer": "pip"}}}


def hook_engine(jupyter: FakeJupyter, trial: TrialContainers, present: set[str]) -> GpuEngine:
    """An engine that registers no nvidia runtime or CDI device, with ``present`` images."""
    engine = GpuEngine(jupyter, info={"Runtimes": {"runc": {}}, "DockerRootDir": "/"})
    engine.containers = trial  # type: ignore[assignment]
    engine.images = DoctorImages(present)  # type: ignore[assignment]
    return engine


def runtime_row(capsule: Path, engine: GpuEngine) -> Check:
    return next(check for check in doctor(capsule, engine, host=H100_HOST) if check.name == "NVIDIA runtime")


def test_doctor_tries_the_base_image_with_every_gpu_when_docker_info_cannot_tell(
    tmp_path: Path, jupyter: FakeJupyter, index: FakeIndex
) -> None:
    capsule = make_capsule(tmp_path, index.url, PIP_CUDA)
    base = default_base_image(read_capsule(capsule).manifest)
    trial = TrialContainers(start_error=NO_DEVICE_DRIVER)

    check = runtime_row(capsule, hook_engine(jupyter, trial, {base}))

    assert not check.ok and check.sentence() == NO_GPU_SENTENCE
    [created] = trial.created
    assert created["image"] == base and created["command"] == ["true"] and created["entrypoint"] == []
    assert created["device_requests"] == [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    assert created["labels"] == {GPU_TRIAL_LABEL: "true"}
    assert created["network_disabled"] and created["auto_remove"]
    assert trial.alive == set()  # the container that never started was removed too


def test_doctor_prefers_the_built_image_and_reports_the_nvidia_hook(
    tmp_path: Path, jupyter: FakeJupyter, index: FakeIndex
) -> None:
    capsule = make_capsule(tmp_path, index.url, PIP_CUDA)
    tag = image_tag(read_capsule(capsule))
    trial = TrialContainers()

    check = runtime_row(capsule, hook_engine(jupyter, trial, {tag, default_base_image(read_capsule(capsule).manifest)}))

    assert check.ok and check.detail.startswith("the engine gives containers GPUs (NVIDIA hook")
    assert [created["image"] for created in trial.created] == [tag]
    assert trial.alive == set()


def test_doctor_reports_other_trial_failures_with_dockers_words(tmp_path: Path, jupyter: FakeJupyter, index: FakeIndex) -> None:
    capsule = make_capsule(tmp_path, index.url, PIP_CUDA)
    hook_failed = APIError("500 Server Error", explanation="nvidia-container-cli: initialization error: driver not loaded")
    trial = TrialContainers(start_error=hook_failed)

    check = runtime_row(capsule, hook_engine(jupyter, trial, {default_base_image(read_capsule(capsule).manifest)}))

    assert not check.ok
    assert "did not start (nvidia-container-cli: initialization error: driver not loaded)" in check.detail
    assert check.sentence().endswith("or pass `--gpus none` to run on the CPU.")
    assert trial.alive == set()


def test_doctor_without_a_local_image_leaves_the_answer_to_docker(tmp_path: Path, jupyter: FakeJupyter, index: FakeIndex) -> None:
    capsule = make_capsule(tmp_path, index.url, PIP_CUDA)
    trial = TrialContainers(start_error=NO_DEVICE_DRIVER)

    check = runtime_row(capsule, hook_engine(jupyter, trial, set()))

    assert check == ENGINE_DECIDES
    assert trial.created == []  # nothing pulled, nothing started


def test_doctor_tries_nothing_when_the_nvidia_runtime_is_registered(tmp_path: Path, engine: GpuEngine, index: FakeIndex) -> None:
    capsule = make_capsule(tmp_path, index.url, PIP_CUDA)
    engine.images = DoctorImages({image_tag(read_capsule(capsule))})  # type: ignore[assignment]

    check = runtime_row(capsule, engine)

    assert check == Check("NVIDIA runtime", True, "the engine has the nvidia runtime")
    assert engine.created == []
