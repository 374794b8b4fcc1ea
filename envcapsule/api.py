"""The workflows every front end calls: the CLI, the ``%envcapsule`` magic and the server extension only parse,
call one of these, and render what it returns.

Each workflow takes keyword-only arguments, ``client=None`` (an engine client to lend, else
one is connected and closed) and ``progress=None`` (anything with ``step``/``advance``/``log``),
and returns a frozen result with ``to_json()``. The rules that used to be decided in each
front end live here once:

- a *target* is a notebook (its capsule is used, or made first) or a capsule folder;
  :func:`launch` also takes an image reference;
- a build uses the base image given, else the configured default
  (``ENVCAPSULE_BASE_IMAGE`` or the config file), else the one the capsule implies;
- every verify that ran in an image is recorded beside the capsule, whoever asked for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from envcapsule import config
from envcapsule.capsule import MANIFEST, read_capsule
from envcapsule.capture import find_kernel_python, probe_interpreter
from envcapsule.cuda import Check, gpu_request_for
from envcapsule.doctor import doctor as run_checks
from envcapsule.drift import Drift
from envcapsule.drift import diff as compare
from envcapsule.engine import engine_client
from envcapsule.errors import CapsuleError, ShareError, UsageError
from envcapsule.facts import EnvironmentFacts
from envcapsule.image.build import BuildResult, check_server_profile, write_build_context
from envcapsule.image.build import build as build_image
from envcapsule.paths import default_capsule_dir
from envcapsule.progress import NullProgress, Progress
from envcapsule.run import list_running
from envcapsule.run import stop as stop_containers
from envcapsule.run.launch import launch as start
from envcapsule.run.launched import Launched
from envcapsule.run.usage import Usage, usage_of
from envcapsule.sbom import SbomResult, make_sbom
from envcapsule.share import export_archive, is_digest_ref, pull_by_digest, share_binder
from envcapsule.share import import_archive as restore
from envcapsule.share import push as push_image
from envcapsule.share.archive import ArchiveExport
from envcapsule.share.archive_import import ImportResult
from envcapsule.share.binder_share import ShareResult
from envcapsule.share.ci import CiWorkflow, write_workflow
from envcapsule.share.kubernetes import JupyterHubProfile, jupyterhub_profile, write_profile
from envcapsule.snapshot import SnapshotResult, ensure_capsule
from envcapsule.snapshot import snapshot as take
from envcapsule.status import CapsuleStatus, capsule_status, record_verify
from envcapsule.verify.check import VerifyReport
from envcapsule.verify.check import verify as check

if TYPE_CHECKING:
    from docker import DockerClient


# --- results that had no type of their own ------------------------------------------------------


@dataclass(frozen=True)
class ContextResult:
    """``build(..., context=DIR)``: the build context was written for ``docker build``, nothing was built."""

    context: Path
    dockerfile: Path

    def to_json(self) -> dict[str, Any]:
        return {"context": str(self.context), "dockerfile": str(self.dockerfile)}


@dataclass(frozen=True)
class PushResult:
    ref: str  # REGISTRY/NAMESPACE/NAME@sha256:...
    capsule: Path

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "capsule": str(self.capsule), "launch_command": f"envcapsule launch {self.ref}"}


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [vars(check) for check in self.checks]}


@dataclass(frozen=True)
class Running:
    """The containers that serve a capsule's notebook now, with what each uses (by container id)."""

    containers: tuple[Launched, ...]
    usage: Mapping[str, Usage] = field(default_factory=dict)

    def to_json(self) -> list[dict[str, Any]]:
        return [{**item.to_json(), "usage": _usage_json(self.usage.get(item.container))} for item in self.containers]


def _usage_json(usage: Usage | None) -> dict[str, Any] | None:
    return usage.to_json() if usage is not None else None


@dataclass(frozen=True)
class Stopped:
    containers: tuple[str, ...]  # the ids stopped and removed

    def to_json(self) -> dict[str, Any]:
        return {"stopped": list(self.containers)}


# --- helpers ----------------------------------------------------------------------------------


def capsule_for(
    target: str | Path,
    *,
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    progress: Progress | None = None,
) -> Path:
    """The capsule folder of ``target``: the folder itself, or the notebook's capsule (snapshotted first if it has none)."""
    path = Path(target).expanduser().absolute()
    if path.is_file() and path.suffix != ".ipynb" and path.name != MANIFEST:
        raise CapsuleError(f"{path} is neither a notebook nor a capsule folder", "pass an .ipynb file or a .capsule folder")
    if path.name == MANIFEST:
        path = path.parent
    return ensure_capsule(path, python=python, facts=facts, progress=progress)


def is_local_target(target: str | Path) -> bool:
    """Whether ``target`` names a notebook or capsule here rather than an image reference.

    A missing path that is spelled as one (``./x``, ``/x``, ``~/x``, ``*.ipynb``, ``*.capsule``) is
    local too, so that it fails as a missing notebook instead of as an unknown image.
    """
    text = str(target)
    if Path(text).expanduser().exists() or isinstance(target, Path):
        return True
    return text.startswith(("/", "./", "../", "~")) or text.endswith((".ipynb", ".capsule", f".capsule{os.sep}"))


# --- the workflows ------------------------------------------------------------------------------


def snapshot(
    notebook: str | Path,
    *,
    python: str | Path | None = None,
    out: str | Path | None = None,
    strict: bool = False,
    offline: bool = False,
    include_tooling: bool = False,
    minimal: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_files_size: int | None = None,
    kernel_files: Sequence[Path] | None = None,
    facts: EnvironmentFacts | None = None,
    system_python_packages: str = "system",
    facts_file: str | Path | None = None,
    platforms: str | Sequence[str] | None = None,
    progress: Progress | None = None,
) -> SnapshotResult:
    """Capture a notebook's kernel environment and its files into ``<notebook stem>.capsule/`` beside it (or ``out``).

    The kernel's interpreter is ``python``, else the notebook's kernelspec's; ``facts`` (from a
    live kernel) replaces the probe. ``strict`` fails when anything cannot be locked to an
    exact file or cannot travel; ``offline`` uses only cached index data. The notebook's files
    are the folder's (git-tracked ones in a repository) or, from a live kernel, ``kernel_files``;
    ``include``/``exclude`` patterns (gitignore syntax) adjust them, and past ``max_files_size``
    bytes (default 100 MB) the largest are left out. The folder is written atomically.
    The system packages the environment needs (owners of the native libraries its wheels do
    not bundle, and of the distribution's own Python packages) go into ``[system]`` and
    ``apt.txt``; ``system_python_packages="pypi"`` locks the latter from PyPI instead.

    ``facts_file`` (``envcapsule inspect --json`` on another machine) is locked instead of an
    interpreter here; ``platforms`` (``linux/amd64``, ``linux/arm64``, or both, the default) are
    the platforms the image is built for, each with its own files in pylock.toml.
    """
    result = take(
        Path(notebook),
        python=python,
        out=Path(out) if out is not None else None,
        strict=strict,
        offline=offline,
        include_tooling=include_tooling,
        minimal=minimal,
        include=tuple(include),
        exclude=tuple(exclude),
        max_files_size=max_files_size,
        kernel_files=kernel_files,
        facts=facts,
        system_python_packages=system_python_packages,
        facts_file=facts_file,
        platforms=platforms,
        progress=progress,
    )
    make_sbom(result.capsule)
    return result


def build(
    target: str | Path,
    *,
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    base_image: str | None = None,
    no_cache: bool = False,
    platform: str | None = None,
    update_server: bool = False,
    server: str = "full",
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the capsule of ``target`` (a notebook or a capsule folder) into ``envcapsule/<stem>:<hash[:12]>``.

    A notebook without a capsule is snapshotted first. An image already built for this
    capsule is reused at once unless ``no_cache`` or ``update_server``. The first build pins
    the base image (image.lock) and the server environment (server.pylock.toml) in the
    capsule; later builds use them, and ``update_server`` locks the server environment again.
    ``platform`` (``linux/amd64`` or ``linux/arm64``) defaults to the engine's own when the
    capsule targets it; another architecture builds under emulation (QEMU), and its tag ends in
    ``-<arch>``. The image carries the capsule's SBOM at /opt/envcapsule/sbom.cdx.json.
    ``server="minimal"`` installs JupyterLab alone as the server environment (tag ``...-minimal``).
    """
    check_server_profile(server)
    base_image = config.default_base_image(base_image)  # a broken config file stops here, before any work
    capsule = capsule_for(target, python=python, facts=facts, progress=progress)
    with engine_client(client) as engine:
        built = build_image(
            capsule,
            base_image=base_image,
            no_cache=no_cache,
            platform=platform,
            update_server=update_server,
            server=server,
            client=engine,
            progress=progress,
        )
    if built.reused:
        make_sbom(capsule)  # a new build wrote the SBOM its image carries
    return built


def write_context(
    target: str | Path,
    directory: str | Path,
    *,
    python: str | Path | None = None,
    base_image: str | None = None,
    progress: Progress | None = None,
) -> ContextResult:
    """Write the build context (Dockerfile and every locked file) of ``target`` into ``directory``, to build by hand."""
    base_image = config.default_base_image(base_image)
    capsule = capsule_for(target, python=python, progress=progress)
    dockerfile = write_build_context(capsule, Path(directory).absolute(), base_image=base_image)
    return ContextResult(context=dockerfile.parent, dockerfile=dockerfile)


def launch(
    target: str | Path,
    *,
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    base_image: str | None = None,
    port: int | None = None,
    mount: bool = False,
    gpus: str | int | None = None,
    memory: str | None = None,
    cpus: float | None = None,
    timeout: float = 60.0,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> Launched:
    """Run ``target`` in a locked-down container and return once Jupyter answers.

    ``target`` is a notebook or capsule (built first if needed) or an image reference (a tag,
    or ``REF@sha256:…`` pulled by digest). ``mount`` binds the notebook's folder at ``~/work``;
    ``gpus`` is ``all`` (default for CUDA capsules, after host checks), ``none``, a count or
    ``device=ID,...``; ``memory`` (``4g``) and ``cpus`` (``2``) limit the container.
    """
    base_image = config.default_base_image(base_image)
    memory, cpus = _limits(memory, cpus)  # refused before any work
    if not is_local_target(target):
        if mount:
            raise UsageError(
                f"--mount binds a notebook's folder, and {target} is an image reference with none",
                "launch the notebook or its capsule folder to mount it",
            )
        with engine_client(client) as engine:
            return _launch_image(
                str(target).strip(), engine, port=port, gpus=gpus, memory=memory, cpus=cpus, timeout=timeout, progress=progress
            )
    capsule = capsule_for(
        target, python=python, facts=facts, progress=progress
    )  # a missing notebook fails before the engine is asked
    with engine_client(client) as engine:
        built = build(capsule, base_image=base_image, client=engine, progress=progress)
        requested = gpu_request_for(read_capsule(capsule).manifest, engine, gpus)
        return start(
            engine,
            built.image,
            port=port,
            mount=capsule.parent if mount else None,
            gpus=requested,
            memory=memory,
            cpus=cpus,
            timeout=timeout,
            progress=progress,
        )


def _limits(memory: str | None, cpus: float | None) -> tuple[str | None, float | None]:
    from envcapsule.commands import cpus_limit, memory_limit

    try:
        return (memory_limit(memory) if memory is not None else None, cpus_limit(cpus) if cpus is not None else None)
    except ValueError as error:
        raise UsageError(str(error), "give the memory as {option:memory} and the CPUs as {option:cpus}") from None


def _launch_image(
    image: str,
    client: DockerClient,
    *,
    port: int | None,
    gpus: str | int | None,
    memory: str | None,
    cpus: float | None,
    timeout: float,
    progress: Progress | None,
) -> Launched:

    if is_digest_ref(image):
        pull_by_digest(image, client, progress or NullProgress())
    requested = None if gpus is None or str(gpus).strip().lower() in ("none", "0") else _gpus_for_image(gpus)
    return start(client, image, port=port, gpus=requested, memory=memory, cpus=cpus, timeout=timeout, progress=progress)


def _gpus_for_image(gpus: str | int) -> list[str]:
    option = str(gpus).strip().lower()
    if option == "all":
        return ["all"]
    if option.isdigit():
        return [str(index) for index in range(int(option))]
    if option.startswith("device="):
        return [device.strip() for device in option[len("device=") :].split(",") if device.strip()]
    raise UsageError(f"--gpus takes all, none, a number of GPUs or device=ID,..., not {gpus!r}", "pass one of those")


def verify(
    notebook: str | Path,
    *,
    sanitize: str | Path | None = None,
    default_sanitizers: bool = True,
    timeout: float = 120.0,
    base_image: str | None = None,
    record: bool = True,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-execute ``notebook`` in its capsule's image (built first if needed) and compare every cell's outputs.

    ``sanitize`` adds nbval-format rules after the defaults; ``default_sanitizers=False`` leaves only
    those. Whenever the check ran in an image its result is recorded in the capsule folder
    (``verify.json``), so ``status`` and the sidebar show it; ``record=False`` keeps it unrecorded.
    """
    path = Path(notebook).expanduser().absolute()
    report = check(
        path,
        sanitize=Path(sanitize) if sanitize is not None else None,
        default_sanitizers=default_sanitizers,
        timeout=timeout,
        base_image=config.default_base_image(base_image),  # read before the check starts any work
        client=client,
        progress=progress,
    )
    if record and report.image:
        record_verify(default_capsule_dir(path), report.to_json())
    return report


def diff(
    notebook: str | Path,
    *,
    python: str | Path | None = None,
    capsule: str | Path | None = None,
    live: EnvironmentFacts | None = None,
    kernel_files: Sequence[Path] | None = None,
) -> Drift:
    """What changed in the notebook's live kernel environment, and in the files beside it, since its capsule was made.

    ``kernel_files`` (from a live kernel) are the files it uses now, for a capsule made from one.
    """
    capsule_dir = Path(capsule) if capsule is not None else None
    return compare(Path(notebook), python=python, capsule_dir=capsule_dir, live=live, kernel_files=kernel_files)


def status(
    notebook: str | Path,
    *,
    python: str | Path | None = None,
    live: EnvironmentFacts | None = None,
    client: DockerClient | None = None,
    engine: bool = True,
) -> CapsuleStatus:
    """The capsule at a glance: none / up to date / drifted, its image, the containers serving it, the last verify.

    ``engine=False`` answers without asking the Docker engine (image and containers unknown).
    """
    return capsule_status(Path(notebook), python=python, live=live, client=client, engine=engine)


@overload
def share(
    notebook: str | Path,
    *,
    kind: Literal["binder"] = "binder",
    hub: str = ...,
    force: bool = ...,
    python: str | Path | None = ...,
    facts: EnvironmentFacts | None = ...,
    progress: Progress | None = ...,
) -> ShareResult: ...


@overload
def share(
    notebook: str | Path,
    *,
    kind: Literal["jupyterhub"],
    force: bool = ...,
    registry: str | None = ...,
    output: str | Path | None = ...,
) -> JupyterHubProfile: ...


def share(
    notebook: str | Path,
    *,
    kind: str = "binder",
    hub: str = "https://mybinder.org",
    force: bool = False,
    registry: str | None = None,
    output: str | Path | None = None,
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    progress: Progress | None = None,
) -> ShareResult | JupyterHubProfile:
    """Share the capsule of ``notebook`` as one ``kind``.

    ``binder``: write ``binder/`` at the root of the notebook's git repository and make the commit-pinned mybinder link.
    ``jupyterhub``: a KubeSpawner profile (``singleuser.profileList`` entry) for the image ``push`` recorded, pinned by
    digest, from the push to ``registry`` where there were several; written to ``output`` as Helm values when given.
    """
    path = Path(notebook).expanduser().absolute()
    if kind == "jupyterhub":
        folder = path if path.is_dir() else default_capsule_dir(path)
        if not (folder / MANIFEST).is_file():
            raise ShareError(
                f"{path.name} has no capsule, so no pushed image for a profile to name",
                f"snapshot and push it first with `envcapsule push {path.name} --registry REGISTRY/NAMESPACE`",
            )
        profile = jupyterhub_profile(folder, registry=registry)
        return write_profile(profile, Path(output).absolute(), force=force) if output is not None else profile
    if kind != "binder":
        raise UsageError(
            f"share knows two kinds, binder and jupyterhub, not {kind!r}", "use push for a registry or export for a file"
        )
    capsule = capsule_for(path, python=python, facts=facts, progress=progress)
    return share_binder(path, hub=hub, force=force, capsule_dir=capsule, progress=progress)


def share_ci(notebook: str | Path, *, provider: str, force: bool = False) -> CiWorkflow:
    """Write a CI job (``github`` or ``gitlab``) that builds the capsule's image and verifies ``notebook`` on each push.

    A workflow file envcapsule did not write is replaced only with ``force`` (kept as ``.bak``).
    """
    return write_workflow(Path(notebook).expanduser().absolute(), provider, force=force)


def push(
    target: str | Path,
    *,
    registry: str,
    base_image: str | None = None,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Build if needed, push the image to ``REGISTRY/NAMESPACE`` and record its digest in the capsule folder."""
    base_image = config.default_base_image(base_image)
    with engine_client(client) as engine:
        capsule = capsule_for(target, progress=progress)
        build(capsule, base_image=base_image, client=engine, progress=progress)
        return PushResult(ref=push_image(capsule, registry, engine, progress), capsule=capsule)


def export(
    target: str | Path,
    output: str | Path,
    *,
    base_image: str | None = None,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> ArchiveExport:
    """Build if needed, then write the image, the capsule and the notebook into one tar for an air-gapped host."""
    base_image = config.default_base_image(base_image)
    with engine_client(client) as engine:
        capsule = capsule_for(target, progress=progress)
        build(capsule, base_image=base_image, client=engine, progress=progress)
        return export_archive(capsule, Path(output).absolute(), engine, progress)


def import_archive(
    archive: str | Path,
    *,
    force: bool = False,
    destination: str | Path | None = None,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check an archive from :func:`export`, load its image and restore its capsule and notebook (here by default)."""
    with engine_client(client) as engine:
        return restore(
            Path(archive),
            engine,
            force=force,
            destination=Path(destination) if destination is not None else None,
            progress=progress,
        )


def doctor(target: str | Path, *, client: DockerClient | None = None) -> DoctorReport:
    """Can this host build and run the capsule of ``target``? Engine, GPUs, disk and images, one check each."""
    path = Path(target).expanduser().absolute()
    folder = path if path.is_dir() else default_capsule_dir(path)
    return DoctorReport(tuple(run_checks(folder, client)))


def ps(*, usage: bool = True, cpu_percent: bool = True, client: DockerClient | None = None) -> Running:
    """The containers :func:`launch` started that run now (a running verify's containers are not among them).

    With ``usage`` each one's CPU, memory and uptime are asked of the engine, all at once;
    ``cpu_percent=False`` answers sooner, without the CPU percentage (which needs two samples).
    """
    with engine_client(client) as engine:
        # A verify's container publishes no port and serves no one: it is not "running" for the user.
        running = tuple(item for item in list_running(engine) if item.port)
        ids = [item.container for item in running]
        return Running(running, usage_of(engine, ids, cpu_percent=cpu_percent) if usage else {})


def stop(ids: Sequence[str] = (), *, all: bool = False, client: DockerClient | None = None) -> Stopped:  # noqa: A002
    """Stop and remove envcapsule's containers by id or name, or ``all`` of them; never anyone else's."""
    if not ids and not all:
        raise UsageError("no container was named", "give their ids (see `envcapsule ps`) or {option:all}")
    with engine_client(client) as engine:
        return Stopped(tuple(stop_containers(engine, list(ids), all=all)))


def sbom(
    target: str | Path,
    *,
    output: str | Path | None = None,
    format: str = "cyclonedx-json",  # noqa: A002
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    progress: Progress | None = None,
) -> SbomResult:
    """The capsule's CycloneDX 1.6 SBOM, validated, written as ``sbom.cdx.json`` in the capsule folder and to ``output``.

    It lists every locked Python distribution (purl, version, sha256 of the exact file, licence),
    conda record and system package, the base image once built, and the server environment as
    one component of its own. ``format="spdx-json"`` gives ``output`` and the result's document
    as SPDX 2.3 JSON instead (spdx-tools). A notebook without a capsule is snapshotted first.
    """
    capsule = capsule_for(target, python=python, facts=facts, progress=progress)
    return make_sbom(capsule, output=Path(output).absolute() if output is not None else None, format=format)


def inspect(notebook: str | Path | None = None, *, python: str | Path | None = None) -> EnvironmentFacts:
    """What the probe sees in the kernel's environment (this Python when neither is given); nothing is written."""
    if notebook is None and python is None:
        python = sys.executable
    return probe_interpreter(find_kernel_python(Path(notebook) if notebook is not None else None, python))


__all__ = [
    "ContextResult",
    "DoctorReport",
    "PushResult",
    "Running",
    "SbomResult",
    "Stopped",
    "build",
    "capsule_for",
    "diff",
    "doctor",
    "export",
    "import_archive",
    "inspect",
    "launch",
    "ps",
    "push",
    "sbom",
    "share",
    "share_ci",
    "snapshot",
    "status",
    "stop",
    "verify",
    "write_context",
]
