"""The CUDA stack of a capsule: what was captured, what a host must offer, and the checks between them.

Every compatibility rule lives here and only here: the minimum host driver per CUDA
major, the nvidia/cuda base images, the PyTorch wheel indexes, and how a GPU's compute
capability is matched against the architectures a framework was built for. The probe
(stdlib only, any Python) gathers the raw facts; this module reads them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from envcapsule.contract import GPU_TRIAL_LABEL
from envcapsule.engine import engine_reason
from envcapsule.errors import GpuError
from envcapsule.facts import EnvironmentFacts

TORCH_INDEX_BASE = "https://download.pytorch.org/whl"
_TORCH_LOCAL = re.compile(r"^(cu\d+|cpu|rocm\d+(?:\.\d+)*|xpu)$")

# CUDA minor-version compatibility: any release of a major runs on this driver or newer (Linux).
MIN_DRIVER_BY_MAJOR: Mapping[int, str] = {11: "450.80.02", 12: "525.60.13", 13: "580"}

# The Linux driver each CUDA toolkit release (GA) needs natively, newest first (CUDA release notes, table 3).
TOOLKIT_DRIVERS: tuple[tuple[str, str], ...] = (
    ("13.0", "580.65.06"),
    ("12.9", "575.51.03"),
    ("12.8", "570.26"),
    ("12.6", "560.28.03"),
    ("12.5", "555.42.02"),
    ("12.4", "550.54.14"),
    ("12.3", "545.23.06"),
    ("12.2", "535.54.03"),
    ("12.1", "530.30.02"),
    ("12.0", "525.60.13"),
    ("11.8", "520.61.05"),
    ("11.7", "515.43.04"),
    ("11.6", "510.39.01"),
    ("11.5", "495.29.05"),
    ("11.4", "470.42.01"),
    ("11.3", "465.19.01"),
    ("11.2", "460.27.03"),
    ("11.1", "455.23"),
    ("11.0", "450.36.06"),
)


@dataclass(frozen=True)
class CudaImage:
    """One nvidia/cuda cuDNN runtime release: the newest patch of a CUDA minor, on these Ubuntu releases."""

    cuda: str
    release: str
    cudnn_tag: str
    ubuntu: tuple[str, ...]

    def tag(self, ubuntu: str) -> str:
        return f"nvidia/cuda:{self.release}-{self.cudnn_tag}-runtime-ubuntu{ubuntu}"


CUDA_BASE_IMAGES: tuple[CudaImage, ...] = (
    CudaImage("11.8", "11.8.0", "cudnn8", ("22.04",)),
    CudaImage("12.1", "12.1.1", "cudnn8", ("22.04",)),
    CudaImage("12.2", "12.2.2", "cudnn8", ("22.04",)),
    CudaImage("12.3", "12.3.2", "cudnn9", ("22.04",)),
    CudaImage("12.4", "12.4.1", "cudnn", ("22.04",)),
    CudaImage("12.5", "12.5.1", "cudnn", ("22.04",)),
    CudaImage("12.6", "12.6.3", "cudnn", ("22.04", "24.04")),
    CudaImage("12.8", "12.8.1", "cudnn", ("22.04", "24.04")),
    CudaImage("12.9", "12.9.1", "cudnn", ("22.04", "24.04")),
    CudaImage("13.0", "13.0.2", "cudnn", ("24.04",)),
)

_RUNTIME_WHEEL = re.compile(r"^nvidia-cuda-runtime(-cu\d+)?$")
_CUDNN_WHEEL = re.compile(r"^nvidia-cudnn(-cu\d+)?$")
_NCCL_WHEEL = re.compile(r"^nvidia-nccl(-cu\d+)?$")
_CONDA_RUNTIME = ("cuda-cudart", "cudatoolkit", "cuda-runtime", "cuda-version")
_ARCH = re.compile(r"^(sm|compute)_(\d+)([af]?)$")
NO_GPUS_ADVICE = "{advice:no_gpus}"  # the way out every GPU refusal ends with, worded by each front end
_NO_GPUS = f"or {NO_GPUS_ADVICE}"
_INSTALL_TOOLKIT = (
    "install the NVIDIA Container Toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker` and restart the engine"
)
# Docker's answer when it has no device driver for ``--gpus``: no nvidia runtime, CDI device or NVIDIA hook.
_NO_DEVICE_DRIVER = "could not select device driver"


# --- the rules ---------------------------------------------------------------------------


def version_tuple(version: str) -> tuple[int, ...]:
    """``"550.54.15"`` -> ``(550, 54, 15)``; non-numeric parts end the tuple."""
    parts = []
    for part in version.strip().split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def driver_satisfies(host: str, minimum: str) -> bool:
    """Whether driver ``host`` is ``minimum`` or newer (``580`` means ``580.0.0``)."""
    have, need = version_tuple(host), version_tuple(minimum)
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))


def min_driver_for(cuda_version: str) -> str | None:
    """The oldest host driver that runs any CUDA release of this major; None for a major without a known floor."""
    major = version_tuple(cuda_version)[:1]
    return MIN_DRIVER_BY_MAJOR.get(major[0]) if major else None


def cuda_supported_by_driver(driver: str) -> str | None:
    """The newest CUDA release that driver ``driver`` runs natively."""
    return next((cuda for cuda, needed in TOOLKIT_DRIVERS if driver_satisfies(driver, needed)), None)


def _capability(text: str) -> tuple[int, int] | None:
    match = re.match(r"^(?:sm_)?(\d+)\.?(\d)?$", text.strip())
    if not match:
        return None
    if match.group(2) is not None:
        return int(match.group(1)), int(match.group(2))
    number = int(match.group(1))  # "90" as in sm_90
    return number // 10, number % 10


def _arch_entries(arch: str) -> list[tuple[str, tuple[int, int], str]]:
    """``sm_90`` / ``compute_90`` / ``sm_90a`` / TORCH_CUDA_ARCH_LIST's ``8.6+PTX`` -> (kind, (major, minor), suffix)."""
    text = arch.strip().lower()
    match = _ARCH.match(text)
    if match:
        number = int(match.group(2))
        return [(match.group(1), (number // 10, number % 10), match.group(3))]
    plain, _, ptx = text.partition("+")
    capability = _capability(plain)
    if capability is None:
        return []
    entries = [("sm", capability, "")]
    return entries + [("compute", capability, "")] if ptx == "ptx" else entries


def arch_supported(host_cc: str, captured_arch_list: Sequence[str]) -> bool:
    """Whether a GPU of compute capability ``host_cc`` (``"9.0"``) runs code built for ``captured_arch_list``.

    Machine code (``sm_XY``) runs on the same major with an equal or higher minor; ``sm_XYa``
    only on exactly X.Y; PTX (``compute_XY``) is compiled by the driver for X.Y or any newer GPU.
    An empty list says nothing, so nothing is refused.
    """
    host = _capability(host_cc)
    if not captured_arch_list or host is None:
        return True
    for arch in captured_arch_list:
        for kind, built, suffix in _arch_entries(arch):
            if suffix == "a":
                if host == built:
                    return True
            elif kind == "sm" and host[0] == built[0] and host[1] >= built[1]:
                return True
            elif kind == "compute" and host >= built:
                return True
    return False


def cuda_base_image(cuda_version: str, ubuntu_release: str | None = None) -> str | None:
    """The nvidia/cuda cuDNN runtime image for CUDA from system libraries, or None when the table has none.

    Within a major, the oldest release not older than the captured minor (minor-version
    compatibility); with only a major known, the newest. The images carry no Python (a
    standalone one is added), so the Ubuntu release is the captured host's when the image
    exists for it, else the newest: its glibc is the newest, which the most wheels accept.
    """
    wanted = version_tuple(cuda_version)
    if not wanted:
        return None
    same_major = [image for image in CUDA_BASE_IMAGES if version_tuple(image.cuda)[0] == wanted[0]]
    fitting = [image for image in same_major if len(wanted) < 2 or version_tuple(image.cuda)[:2] >= wanted[:2]]
    if not fitting:
        return None
    image = fitting[0] if len(wanted) >= 2 else fitting[-1]
    return image.tag(ubuntu_release if ubuntu_release in image.ubuntu else image.ubuntu[-1])


def cudnn_version_from_int(value: int) -> str:
    """cuDNN's integer version: 90100 -> 9.1.0 (cuDNN 9 counts minors by 100), 8902 -> 8.9.2."""
    if value >= 90000:
        return f"{value // 10000}.{value // 100 % 100}.{value % 100}"
    return f"{value // 1000}.{value // 100 % 10}.{value % 100}"


def torch_index_url(version: str) -> str | None:
    """The PyTorch index that serves a local build: ``2.5.1+cu124`` -> ``https://download.pytorch.org/whl/cu124``."""
    local = version.partition("+")[2].lower()
    return f"{TORCH_INDEX_BASE}/{local}" if _TORCH_LOCAL.match(local) else None


# --- the captured facts --------------------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    name: str | None
    memory_mib: int | None = None
    compute_capability: str | None = None

    def describe(self) -> str:
        capability = f", compute capability {self.compute_capability}" if self.compute_capability else ""
        return f"{self.name or 'an NVIDIA GPU'}{capability}"


@dataclass(frozen=True)
class CudaFacts:
    """A typed view of the probe's ``cuda`` section (or of a host's driver and GPUs alone)."""

    driver_version: str | None = None
    driver_cuda: str | None = None
    gpus: tuple[Gpu, ...] = ()
    frameworks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    wheels: Mapping[str, str] = field(default_factory=dict)
    conda: Mapping[str, str] = field(default_factory=dict)
    loaded_libraries: tuple[Mapping[str, Any], ...] = ()
    live_torch: Mapping[str, Any] | None = None

    @classmethod
    def from_probe(cls, data: Mapping[str, Any] | None) -> CudaFacts | None:
        if not data:
            return None
        driver = data.get("driver") or {}
        live = data.get("live_torch") or None
        gpus = list(data.get("gpus") or ()) or list((live or {}).get("devices") or ())
        return cls(
            driver_version=driver.get("version"),
            driver_cuda=driver.get("cuda"),
            gpus=tuple(Gpu(g.get("name"), g.get("memory_mib"), g.get("compute_capability")) for g in gpus),
            frameworks=dict(data.get("frameworks") or {}),
            wheels=dict(data.get("wheels") or {}),
            conda=dict(data.get("conda") or {}),
            loaded_libraries=tuple(data.get("loaded_libraries") or ()),
            live_torch=live,
        )

    def _framework(self, key: str) -> str | None:
        """``key`` of the first framework that knows it: live torch, then torch, TensorFlow, JAX, CuPy."""
        sources = [self.live_torch or {}, *(self.frameworks.get(n) or {} for n in ("torch", "tensorflow", "jax", "cupy"))]
        return next((str(source[key]) for source in sources if source.get(key)), None)

    def _wheel(self, pattern: re.Pattern[str]) -> str | None:
        return next((version for name, version in sorted(self.wheels.items()) if pattern.match(name)), None)

    def _library(self, name: str) -> str | None:
        versions = [str(lib["version"]) for lib in self.loaded_libraries if lib.get("name") == name and lib.get("version")]
        return max(versions, key=lambda v: len(version_tuple(v)), default=None)

    @property
    def cuda_version(self) -> str | None:
        """The CUDA release the environment's code was built for (major.minor, or a major alone)."""
        torch = self.frameworks.get("torch") or {}
        runtime = self._wheel(_RUNTIME_WHEEL)
        conda = next((self.conda[name] for name in _CONDA_RUNTIME if self.conda.get(name)), None)
        found = (
            (self.live_torch or {}).get("cuda")
            or torch.get("cuda")
            or (self.frameworks.get("tensorflow") or {}).get("cuda")
            or runtime
            or conda
            or self._framework("cuda")
            or self._library("libcudart")
        )
        return ".".join(str(found).split(".")[:2]) if found else None

    @property
    def source(self) -> str | None:
        """Where the CUDA libraries come from: ``pip-wheels`` (the host driver suffices), ``conda`` or ``system``."""
        if self.cuda_version is None:
            return None
        torch = self.frameworks.get("torch")
        if self._wheel(_RUNTIME_WHEEL) or (torch and torch.get("installer") != "conda"):
            return "pip-wheels"  # torch's CUDA wheels bring their own libraries, bundled or as nvidia-* wheels
        if any(self.conda.get(name) for name in _CONDA_RUNTIME):
            return "conda"
        return "system"

    @property
    def cudnn_version(self) -> str | None:
        live = (self.live_torch or {}).get("cudnn")
        if isinstance(live, int) and live:
            return cudnn_version_from_int(live)
        return (
            self._wheel(_CUDNN_WHEEL)
            or (self.frameworks.get("tensorflow") or {}).get("cudnn")
            or self.conda.get("cudnn")
            or self._library("libcudnn")
        )

    @property
    def nccl_version(self) -> str | None:
        return (
            (self.live_torch or {}).get("nccl") or self._wheel(_NCCL_WHEEL) or self.conda.get("nccl") or self._library("libnccl")
        )

    @property
    def arch_list(self) -> tuple[str, ...]:
        """The GPU architectures the framework was compiled for, when readable (``sm_80``, ``compute_90``)."""
        for source in (self.live_torch or {}, self.frameworks.get("torch") or {}, self.frameworks.get("tensorflow") or {}):
            if source.get("arch_list"):
                return tuple(str(arch) for arch in source["arch_list"])
        return ()

    @property
    def supported_cuda(self) -> str | None:
        """The newest CUDA the driver seen runs natively."""
        if self.driver_cuda:
            return self.driver_cuda
        return cuda_supported_by_driver(self.driver_version) if self.driver_version else None


def cuda_section(facts: EnvironmentFacts) -> dict[str, Any]:
    """The ``[cuda]`` table of capsule.toml; empty when no CUDA stack was seen."""
    cuda = CudaFacts.from_probe(facts.cuda)
    if cuda is None:
        return {}
    version = cuda.cuda_version
    gpus = [{k: v for k, v in vars(gpu).items() if v is not None} for gpu in cuda.gpus]
    section = {
        "version": version,
        "source": cuda.source,
        "cudnn": cuda.cudnn_version,
        "nccl": cuda.nccl_version,
        "min_driver": min_driver_for(version) if version else None,
        "arch_list": list(cuda.arch_list) or None,
        "frameworks": {name: str(f.get("version")) for name, f in sorted(cuda.frameworks.items())} or None,
        "driver_seen": cuda.driver_version,
        "driver_cuda_seen": cuda.supported_cuda,
        "gpus_seen": gpus or None,
    }
    return {key: value for key, value in section.items() if value is not None}


def is_cuda_capsule(manifest: Mapping[str, Any]) -> bool:
    return bool((manifest.get("cuda") or {}).get("version"))


def host_gpus(environ: Mapping[str, str] | None = None, root: str = "/") -> CudaFacts:
    """This machine's NVIDIA driver and GPUs (NVML, /proc, nvidia-smi), read as the probe reads them."""
    from envcapsule.probe import describe_gpu_host

    return CudaFacts.from_probe(describe_gpu_host(environ, root)) or CudaFacts()


# --- checks at launch and in doctor -------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of doctor's table; a failed check says what is wrong (``detail``) and what to do (``advice``)."""

    name: str
    ok: bool
    detail: str
    advice: str = ""

    def sentence(self, frontend: str = "cli") -> str:
        """The check's sentence with its advice worded for ``frontend`` (cli, magic or sidebar)."""
        from envcapsule.commands import render_advice

        return render_advice(self.unrendered(), frontend)

    def unrendered(self) -> str:
        text = self.detail[:1].upper() + self.detail[1:]
        return f"{text}; {self.advice}." if self.advice else f"{text}."


RUNTIME_CHECK = "NVIDIA runtime"

# The NVIDIA Container Toolkit's hook serves ``--gpus`` without a registered runtime, and `docker info` does not show it.
ENGINE_DECIDES = Check(
    RUNTIME_CHECK,
    True,
    "no nvidia runtime or CDI devices are registered; the engine may still use the NVIDIA hook, "
    "which Docker checks when the container starts",
)

NO_GPU_ENGINE = Check(
    RUNTIME_CHECK,
    False,
    "the Docker engine cannot give containers GPUs (no nvidia runtime, NVIDIA CDI device or NVIDIA hook)",
    f"{_INSTALL_TOOLKIT}, {_NO_GPUS}",
)


def runtime_check(client: Any) -> Check:
    """Whether the engine gives containers GPUs, as far as `docker info` tells; ``ENGINE_DECIDES`` when it cannot tell.

    Only a container start settles the undecided case, so it never refuses a launch by itself.
    """
    return registered_gpu_support(client) or ENGINE_DECIDES


def registered_gpu_support(client: Any) -> Check | None:
    """The check when `docker info` settles it (an nvidia runtime, NVIDIA CDI devices, or no answer); else None."""
    try:
        info = client.info()
    except Exception as error:  # any engine failure: the check reports it instead of crashing doctor
        return Check(RUNTIME_CHECK, False, f"the Docker engine did not describe itself ({error})", "check it with `docker info`")
    runtimes = info.get("Runtimes") or {}
    devices = [str(d.get("ID", "")) for d in info.get("DiscoveredDevices") or () if isinstance(d, Mapping)]
    nvidia_cdi = [device for device in devices if device.startswith("nvidia.com/gpu")]
    if "nvidia" in runtimes:
        return Check(RUNTIME_CHECK, True, "the engine has the nvidia runtime")
    if nvidia_cdi:
        return Check(RUNTIME_CHECK, True, f"the engine sees {len(nvidia_cdi)} NVIDIA CDI device(s)")
    return None


def gpu_refusal(explanation: str) -> GpuError | None:
    """GpuError when a Docker error says the engine has no way to give containers GPUs; None for any other error."""
    return GpuError(NO_GPU_ENGINE.unrendered()) if _NO_DEVICE_DRIVER in explanation else None


def gpu_trial(client: Any, image: str) -> Check:
    """Docker's own answer: start a throwaway container from local ``image`` with every GPU.

    It runs `true` without a network, under the trial label, and is removed whatever happens
    (auto-removal misses a container that never started). Each request is bounded by the
    client's timeout, and creating a container never pulls.
    """
    from docker.types import DeviceRequest

    name = f"envcapsule-gpu-trial-{secrets.token_hex(3)}"
    container = None
    try:
        container = client.containers.create(
            image,
            ["true"],
            entrypoint=[],
            name=name,
            labels={GPU_TRIAL_LABEL: "true"},
            network_disabled=True,
            auto_remove=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])],
        )
        container.start()
    except Exception as error:  # any engine failure is the trial's answer, never a crash of doctor
        explanation = engine_reason(error, whole=True)
        if _NO_DEVICE_DRIVER in explanation:
            return NO_GPU_ENGINE
        return Check(
            RUNTIME_CHECK,
            False,
            f"a trial container from {image} with every GPU did not start ({explanation})",
            f"check the NVIDIA Container Toolkit's setup, {_NO_GPUS}",
        )
    finally:
        _remove_trial(client, container, name)
    return Check(RUNTIME_CHECK, True, f"the engine gives containers GPUs (NVIDIA hook; a trial container from {image} started)")


def _remove_trial(client: Any, container: Any, name: str) -> None:
    """Remove the trial container (by its unique name if creation was interrupted before it answered)."""
    try:
        (container if container is not None else client.containers.get(name)).remove(force=True)
    except Exception:  # never created, auto-removed once `true` exited, or being removed now
        pass


def driver_check(host: CudaFacts, cuda_version: str | None, minimum: str | None) -> Check:
    name = "NVIDIA driver"
    need = f"CUDA {cuda_version}"
    if not host.driver_version:
        advice = f"install NVIDIA driver {minimum} or newer" if minimum else "install the NVIDIA driver"
        return Check(
            name,
            False,
            f"no NVIDIA driver was found on this host (no /proc/driver/nvidia/version, NVML or nvidia-smi), but the capsule needs {need}",
            f"{advice}, {_NO_GPUS}",
        )
    if minimum is None:
        return Check(name, True, f"{host.driver_version} (no known minimum for {need})")
    if driver_satisfies(host.driver_version, minimum):
        return Check(name, True, f"{host.driver_version} >= {minimum}, the minimum for {need}")
    return Check(
        name,
        False,
        f"the host's NVIDIA driver {host.driver_version} is older than {minimum}, the minimum for the capsule's {need}",
        f"update the driver, {_NO_GPUS}",
    )


def compute_check(host: CudaFacts, arch_list: Sequence[str]) -> Check:
    name = "GPU compute capability"
    known = [gpu for gpu in host.gpus if gpu.compute_capability]
    if not arch_list:
        return Check(name, True, "the capsule records no compiled architectures; not checked")
    if not known:
        return Check(name, True, "no GPU with a known compute capability was listed (NVML or nvidia-smi); not checked")
    fitting = [gpu for gpu in known if arch_supported(gpu.compute_capability or "", arch_list)]
    others = [gpu for gpu in known if gpu not in fitting]
    built = ", ".join(arch_list)
    if fitting and not others:
        return Check(name, True, f"{fitting[0].describe()} runs code built for {built}")
    if fitting:
        unusable = "; ".join(gpu.describe() for gpu in others)
        return Check(name, True, f"{fitting[0].describe()} fits, but not {unusable} (built for {built})")
    return Check(
        name,
        False,
        f"the host's GPU ({others[0].describe()}) is not among those the capsule's CUDA code was built for ({built})",
        f"run the capsule on a host with a supported GPU, {_NO_GPUS}",
    )


def gpu_checks(client: Any, capsule_manifest: Mapping[str, Any], *, host: CudaFacts | None = None) -> list[Check]:
    """The engine's NVIDIA runtime, the host driver against the capsule's minimum, the GPUs against its arch list."""
    return [runtime_check(client), *host_checks(host_gpus() if host is None else host, capsule_manifest)]


def host_checks(host: CudaFacts, capsule_manifest: Mapping[str, Any]) -> list[Check]:
    """The host driver against the capsule's minimum, and the host's GPUs against its arch list."""
    cuda = capsule_manifest.get("cuda") or {}
    version = cuda.get("version")
    minimum = cuda.get("min_driver") or (min_driver_for(str(version)) if version else None)
    return [driver_check(host, version, minimum), compute_check(host, cuda.get("arch_list") or ())]


def gpu_request_for(
    capsule_manifest: Mapping[str, Any], client: Any, gpus_option: str | int | None, *, host: CudaFacts | None = None
) -> list[str] | None:
    """The ``gpus`` argument of ``envcapsule.run.launch`` for ``--gpus all|none|N|device=ID,...``.

    ``gpus_option`` None (the flag not given) means all. The result is None (no GPUs) for
    ``none`` and for a capsule without CUDA; otherwise the host is checked first, and
    GpuError says in one sentence why it cannot give the container a usable GPU. An engine
    that `docker info` cannot vouch for is left to Docker: launch reports its refusal alike.
    """
    option = "all" if gpus_option is None else str(gpus_option).strip().lower()
    if option in ("none", "0") or not is_cuda_capsule(capsule_manifest):
        return None
    if option == "all":
        request: list[str] = ["all"]
    elif option.isdigit():
        request = [str(index) for index in range(int(option))]
    elif option.startswith("device=") and option[len("device=") :].strip(","):
        request = [device.strip() for device in option[len("device=") :].split(",") if device.strip()]
    else:
        raise GpuError(f"--gpus takes all, none, a number of GPUs or device=ID,..., not {gpus_option!r}; pass one of those.")
    host = host_gpus() if host is None else host
    failed = next((check for check in gpu_checks(client, capsule_manifest, host=host) if not check.ok), None)
    if failed is not None:
        raise GpuError(failed.unrendered())
    if option.isdigit() and host.gpus and int(option) > len(host.gpus):
        raise GpuError(f"--gpus {option} asks for {option} GPUs, but this host has {len(host.gpus)}; ask for fewer, {_NO_GPUS}.")
    return request
