"""build(): capsule -> image, through the Docker Engine API, with the engine's progress streamed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from envcapsule import grammar
from envcapsule.atomic import atomic_writer, write_json
from envcapsule.capsule import Capsule, read_capsule, require_writable, sha256_bytes
from envcapsule.contract import (
    BASE_IMAGE_LABEL,
    PLATFORM_LABEL,
    SBOM_SHA256_LABEL,
    SERVER_LOCK_LABEL,
    SERVER_PROFILE_LABEL,
    SYSTEM_PACKAGES_LABEL,
)
from envcapsule.errors import BuildError, EnvcapsuleError
from envcapsule.image.base import BaseImage, BaseImageError, check_base_image, default_base_image
from envcapsule.image.base_lock import BasePin, pinned_reference, read_pin, write_pin
from envcapsule.image.context import kernel_layers, write_context, write_server_context
from envcapsule.image.dockerfile import ImageSpec, Segments, host_layer_copy, render_server_dockerfile
from envcapsule.image.files import build_target, install_plan
from envcapsule.image.installer import PIP_FALLBACK_NOTICE, Installer, host_installer
from envcapsule.image.layer_locks import holding, layer_key
from envcapsule.image.prebuilt import PREBUILT_FORMAT, InstalledTrees, host_install
from envcapsule.image.server_env import SERVER_PROFILES, ServerLock
from envcapsule.image.server_lockfile import capsule_server_lock, write_server_lockfile
from envcapsule.image.wheelcache import WheelCache
from envcapsule.platforms import platform_of
from envcapsule.progress import NullProgress, Progress
from envcapsule.sbom import build_sbom, write_sbom
from envcapsule.system.layer import SystemLayer, prepare_system_layer

BUILD_RECORD = "build.json"
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


@dataclass
class BuildStep:
    number: int
    instruction: str
    cached: bool = False
    image_id: str = ""  # the engine's short id of the step's result


@dataclass(frozen=True)
class SharedServer:
    """The shared images of one base and server lock: the server builder stage, and the image's start."""

    builder_id: str
    start_id: str
    steps: list[BuildStep]
    known: bool = False  # both images were found as an earlier build recorded them: no server build ran


SHARED_REPOSITORY = "envcapsule/server"  # tags that keep the shared images from being pruned with the capsules' images
_RESULT = re.compile(r"^ ---> ([0-9a-f]{12})$")


@dataclass
class BuildResult:
    image: str
    image_id: str
    capsule_hash: str
    base_image: str
    base_image_id: str
    base_image_digest: str | None
    python_in_base: str
    server_lock_sha256: str
    python_build: str | None = None  # the standalone CPython added to a base image that had none
    reused: bool = False
    steps: list[BuildStep] = field(default_factory=list)
    installer: str = "pip"  # what the builder stages were given to install with: uv, or pip alone
    kernel_install: str = "stages"  # where the kernel's wheels were installed: in builder stages, or on the host
    server_image_id: str = ""  # the server stage, built on its own before the capsule's build
    server_steps: list[BuildStep] = field(default_factory=list)
    server_reused: bool = False  # the shared server images an earlier build made were used without a server build
    warnings: list[str] = field(default_factory=list)
    system_packages: list[str] = field(default_factory=list)  # what the system layer installed (name=version offline)
    system_install: str | None = None  # offline (checked .deb files) or by-name (the base's repository)
    platform: str = "linux/amd64"  # what the image runs on (its OCI platform)
    emulated: bool = False  # built under emulation on an engine of another architecture
    sbom_sha256: str = ""  # of the image's /opt/envcapsule/sbom.cdx.json, the capsule's sbom.cdx.json
    base_image_ref: str = ""  # what FROM named: the base's pinned digest, or its name
    server: str = "full"  # the server environment's profile: full (verify, hubs, Binder) or minimal (JupyterLab alone)

    @property
    def cached_steps(self) -> list[int]:
        return [s.number for s in self.steps if s.cached]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def image_tag(capsule: Capsule, platform: str = "linux/amd64", server: str = "full") -> str:
    stem = Path(capsule.notebooks[0]).stem if capsule.notebooks else capsule.folder.name.removesuffix(".capsule")
    repository = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._") or "capsule"
    # The environment's hash, then the notebook files' own: a changed CSV is a new image of the same environment.
    files = f"-{capsule.files_hash[:8]}" if capsule.files_hash else ""
    arch = "" if platform == "linux/amd64" else "-" + platform.split("/")[1]
    slim = "" if server == "full" else f"-{server}"
    return f"envcapsule/{repository}:{capsule.capsule_hash[:12]}{files}{arch}{slim}"


def build(
    capsule_dir: Path,
    *,
    base_image: str | None = None,
    no_cache: bool = False,
    update_server: bool = False,
    client: Any = None,
    progress: Progress | None = None,
    context_dir: Path | None = None,
    platform: str | None = None,
    server: str = "full",
) -> BuildResult:
    """Build (or find) the capsule's image for ``platform`` (default: the engine's, when targeted); record the result.

    The base is the one pinned in image.lock while the build names the same base, and the
    server environment the one in server.pylock.toml; the first build writes both, and
    ``update_server`` locks the server environment again. ``server="minimal"`` installs
    JupyterLab alone as the server environment (server-minimal.pylock.toml; the tag ends in
    ``-minimal``): an image to launch, which `envcapsule verify` and JupyterHub cannot use.
    """
    from envcapsule.engine import engine_client

    check_server_profile(server)
    capsule = read_capsule(capsule_dir)  # refuses hand-edited lockfiles
    with engine_client(client) as engine:
        return _build(
            capsule, engine, base_image, no_cache, update_server, progress or NullProgress(), context_dir, platform, server
        )


def check_server_profile(server: str) -> None:
    if server not in SERVER_PROFILES:
        raise EnvcapsuleError(
            f"{server[:40]!r} is not a server environment; pass --server full (the default: JupyterLab, Notebook, "
            "jupyterhub-singleuser, nbval) or --server minimal (JupyterLab alone)."
        )


def _build(
    capsule: Capsule,
    client: Any,
    base_image: str | None,
    no_cache: bool,
    update_server: bool,
    progress: Progress,
    context_dir: Path | None,
    platform: str | None = None,
    server_profile: str = "full",
) -> BuildResult:
    from envcapsule.image.emulation import build_platform, check_emulation

    native = engine_platform(client)
    platform = build_platform(capsule, platform, native)
    target = build_target(capsule, platform)
    tag = image_tag(capsule, platform, server_profile)
    base_name = chosen_base_image(capsule, base_image)
    untrusted: list[str] = []
    if not no_cache and not update_server and context_dir is None:
        existing = _existing(client, tag, capsule, base_image, untrusted, platform, server_profile)
        if existing is not None:
            _pin_reused(capsule, existing)
            return existing

    require_writable(capsule.folder, "a build writes its Dockerfile and build.json")
    interpreter = capsule.manifest["interpreter"]
    emulated = platform != native
    if emulated:
        progress.step(f"Building for {platform} under emulation (QEMU) on this {native} engine: slow, but the real thing")
    progress.step(f"Checking the base image {base_name}")
    base = check_emulation(
        lambda: _pinned_base(client, capsule, base_name, interpreter["version"], progress, platform), native, platform
    )
    plan = install_plan(capsule, platform)
    root = _cache_root()
    cache = WheelCache(root / "wheels")
    server_environment = capsule_server_lock(
        capsule, cache, root / "server-env", progress, update=update_server, machine=target.machine, profile=server_profile
    )
    server = server_environment.lock
    installer = host_installer(target.machine)
    notices = [] if installer.uv else [f"The build installs with pip, since {installer.reason}."]
    python_version = base.python_version or str(interpreter["version"])
    host, why_not = host_install(installer.uv, python_version, target.machine, bool(capsule.manifest.get("conda")))
    trees = InstalledTrees(root / "installed", host) if host is not None else None
    # What is installed now is read again first: a cached file that changed is fetched again, never installed.
    cache.drop_changed(trees.missing(plan.files) if trees is not None else plan.files)
    if not all(cache.has(f) for f in plan.files):
        with _fetcher(capsule) as fetcher:
            cache.ensure(capsule, plan.files, fetcher, progress)
    if trees is not None:
        try:
            trees.ensure(plan.files, cache, progress)
        except BuildError as error:
            trees, why_not = None, str(error).rstrip(".")
    if trees is None:
        progress.step(f"Installing the kernel's wheels in builder stages, since {why_not[0].lower()}{why_not[1:]}")
    system = prepare_system_layer(
        capsule, client, base.reference or base.name, base.image_id, root / "debs", progress, foreign=emulated
    )
    conda = None
    if capsule.manifest.get("conda"):
        from envcapsule.conda.image import prepare_conda_build

        conda = prepare_conda_build(capsule, cache, root / "conda-installer", base.python_version, progress)

    sbom = build_sbom(
        capsule,
        {"base_image": base.name, "base_image_digest": base.digest, "base_image_id": base.image_id},
        [(f.filename, f.sha256) for f in server.files],
    )
    spec = image_spec(capsule, base, plan, server.sha256, system, sha256_bytes(sbom.encode()), platform, server_profile)
    spec = replace(spec, kernel_install="stages" if trees is None else "host")
    server_key = layer_key(base.image_id, server.sha256, render_server_dockerfile(spec))
    server_image_id = ""
    server_steps: list[BuildStep] = []
    server_reused = False
    if context_dir is None and not no_cache:
        with holding({server_key: True}):
            shared = _known_server(client, root / "layers", server_key)
            if shared is None:
                progress.step(f"Building the server environment, shared by capsules with the same server lock ({installer.name})")
                shared = _build_server_stage(
                    client, spec, server, cache, base, installer, progress, notices, platform, server_key, root / "layers"
                )
            else:
                progress.step(f"Starting from the shared server environment ({SHARED_REPOSITORY}:{server_key[:12]})")
        spec = replace(spec, server_image=shared.builder_id, start_image=shared.start_id)
        server_image_id, server_steps, server_reused = shared.start_id, shared.steps, shared.known
    kernel_keys = {layer_key(server_key, name, *(f.sha256 for f in files)): True for name, files in kernel_layers(plan).items()}
    scratch = Path(tempfile.mkdtemp(prefix="envcapsule-context-")) if context_dir is None else context_dir
    try:
        in_parts = spec.kernel_install == "host" and spec.start_image is not None and _gnu_tar() and trees is not None
        dockerfile = write_context(
            scratch, capsule, spec, plan, server, cache, conda, base.standalone, installer, system, sbom, trees, not in_parts
        )
        shutil.copyfile(dockerfile, capsule.folder / "Dockerfile")
        if context_dir is not None:
            raise _ContextWritten(tag)
        with holding({server_key: no_cache, **kernel_keys}):  # the server stage shared, unless this build redoes it
            if in_parts and trees is not None:
                layers = kernel_layers(plan)
                memo = LayerMemo(root / "layers", f"{python_version}:{PREBUILT_FORMAT}")
                image_id, steps = _build_in_parts(
                    client, scratch, Segments(spec), layers, memo, trees, tag, progress, notices, platform
                )
            else:
                image_id, steps = _run_build(client, scratch, tag, no_cache, progress, notices, platform)
    finally:
        if context_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    result = BuildResult(
        image=tag,
        image_id=image_id,
        capsule_hash=capsule.capsule_hash,
        base_image=base.name,
        base_image_id=base.image_id,
        base_image_digest=base.digest,
        python_in_base=base.python_version,
        server_lock_sha256=server.sha256,
        python_build=base.standalone.key if base.standalone else None,
        steps=steps,
        installer=installer.name,
        kernel_install=spec.kernel_install,
        server_image_id=server_image_id,
        server_steps=server_steps,
        server_reused=server_reused,
        warnings=[
            *untrusted,
            *base.warnings,
            *(system.plan.warnings if system else ()),
            *plan.skipped,
            *dict.fromkeys(notices),
            *filter(None, [server_environment.note]),
        ],
        system_packages=system.plan.label.split() if system else [],
        system_install=system.mode if system else None,
        platform=platform,
        emulated=emulated,
        sbom_sha256=sha256_bytes(sbom.encode()),
        base_image_ref=base.reference or base.name,
        server=server_profile,
    )
    # The pins and the SBOM describe the image just made; each is written whole, after it exists.
    write_pin(capsule.folder, BasePin(base.name, base.image_id, base.digest))
    if server_environment.write:
        write_server_lockfile(
            capsule.folder, server, interpreter["version"], capsule.manifest["platform"]["machine"], server_profile
        )
    write_sbom(capsule.folder, sbom)
    _record(capsule.folder, result)
    return result


def _pin_reused(capsule: Capsule, existing: BuildResult) -> None:
    """An image built before the capsule had an image.lock pins the base its build.json records."""
    import os

    if not grammar.IMAGE_REFERENCE.fullmatch(existing.base_image) or not grammar.SHA256.fullmatch(
        existing.base_image_id.removeprefix("sha256:")
    ):
        return
    if existing.base_image_digest is not None and not grammar.IMAGE_REFERENCE.fullmatch(existing.base_image_digest):
        return
    if not os.access(capsule.folder, os.W_OK):
        return
    if read_pin(capsule.folder) is None:
        write_pin(capsule.folder, BasePin(existing.base_image, existing.base_image_id, existing.base_image_digest))


def _pinned_base(
    client: Any, capsule: Capsule, name: str, python_version: str, progress: Progress, platform: str = "linux/amd64"
) -> BaseImage:
    """The base named ``name``, as image.lock pins it when it pins that name (a lock for another name is replaced)."""
    pin = read_pin(capsule.folder)
    reference = pinned_reference(client, pin) if pin is not None and pin.name == name else name
    base = check_base_image(client, reference, python_version, progress, platform)
    digest = pin.digest if pin is not None and pin.name == name and pin.digest else base.digest
    return replace(base, name=name, reference=reference, digest=digest)


class _ContextWritten(Exception):
    """Raised internally when only the build context was asked for."""


def write_build_context(capsule_dir: Path, destination: Path, *, base_image: str | None = None, client: Any = None) -> Path:
    """Write the build context to ``destination`` to build by hand with ``docker build``."""
    if destination.exists() and any(destination.iterdir()):
        raise EnvcapsuleError(f"{destination} is not empty; pass --context with a new or empty folder.")
    try:
        build(capsule_dir, base_image=base_image, client=client, context_dir=destination)
    except _ContextWritten:
        pass
    return destination / "Dockerfile"


def chosen_base_image(capsule: Capsule, base_image: str | None) -> str:
    """The base image named with ``--base-image``, else the capsule's default, once it is a valid image reference."""
    name = base_image if base_image is not None else default_base_image(capsule.manifest)
    if not grammar.IMAGE_REFERENCE.fullmatch(name):
        raise BaseImageError(
            f"{name[:80]!r} is not an image reference; pass --base-image NAME[:TAG][@sha256:DIGEST], such as python:3.11-slim."
        )
    return name


def image_spec(
    capsule: Capsule,
    base: BaseImage,
    plan: Any,
    server_sha: str,
    system: SystemLayer | None = None,
    sbom_sha: str | None = None,
    platform: str = "linux/amd64",
    server_profile: str = "full",
) -> ImageSpec:
    python = capsule.manifest["interpreter"]["version"]
    labels = {
        **expected_labels(capsule),
        "envcapsule.notebook": capsule.notebooks[0] if capsule.notebooks else "",
        "envcapsule.capsule-dir": capsule.folder.name,
        "envcapsule.python": base.python_version or python,  # the image's Python; the capture's is in the capsule
        SERVER_LOCK_LABEL: server_sha,
        BASE_IMAGE_LABEL: base.name,
        PLATFORM_LABEL: platform,
        SERVER_PROFILE_LABEL: server_profile,
    }
    if sbom_sha is not None:
        labels[SBOM_SHA256_LABEL] = sbom_sha
    if base.standalone is not None:
        labels["envcapsule.python-build"] = base.standalone.key
    if system is not None and system.plan.names:
        labels[SYSTEM_PACKAGES_LABEL] = system.plan.label
    cuda = capsule.manifest.get("cuda") or {}
    if cuda.get("version"):
        labels["envcapsule.cuda"] = str(cuda["version"])
        labels["envcapsule.min-driver"] = str(cuda.get("min_driver", ""))
    conda = capsule.manifest.get("conda") or {}
    if conda:
        labels["envcapsule.conda-platform"] = str(conda.get("platform", ""))
    return ImageSpec(
        base_image=base.reference or base.name,
        capsule_hash=capsule.capsule_hash,
        notebook=capsule.notebooks[0] if capsule.notebooks else None,
        capsule_dir=capsule.folder.name,
        python_version=python,
        created=str(capsule.manifest.get("created", "")),
        kernel_layers=tuple(kernel_layers(plan)),
        environment=dict(capsule.manifest.get("environment", {})),
        labels=labels,
        conda=bool(conda),
        standalone_python=base.standalone.key if base.standalone else None,
        notebook_files=bool(capsule.files),
        system_packages=system.mode if system else None,
        system_site=bool(system and system.site_dirs),
        system_libraries=bool(system and system.libraries),
        sbom=sbom_sha is not None,
    )


def _build_server_stage(
    client: Any,
    spec: ImageSpec,
    server: ServerLock,
    cache: WheelCache,
    base: BaseImage,
    installer: Installer,
    progress: Progress,
    notices: list[str],
    platform: str,
    key: str,
    memo: Path,
) -> SharedServer:
    """The shared stages alone, from a context of their own; the capsule's build then starts from their images by id.

    Both images are tagged (``envcapsule/server:KEY`` and ``KEY-builder``) so that removing every
    capsule image, or pruning dangling ones, keeps them. The caller holds the server stage's layer
    lock (``envcapsule.image.layer_locks``): a build that waited for it finds the layers the other made.
    """
    scratch = Path(tempfile.mkdtemp(prefix="envcapsule-server-"))
    try:
        write_server_context(scratch, spec, server, cache, base.standalone, installer)
        start_id, steps = _run_build(client, scratch, f"{SHARED_REPOSITORY}:{key[:12]}", False, progress, notices, platform)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    starts = [index for index, step in enumerate(steps) if step.instruction.startswith("FROM ")]
    builder = steps[starts[-1] - 1].image_id if len(starts) > 1 else ""
    if not builder:
        raise BuildError("The engine did not say which image its server stage built; run the build again with --no-cache.")
    builder_id = client.images.get(builder).id
    client.api.tag(builder_id, SHARED_REPOSITORY, f"{key[:12]}-builder")
    with atomic_writer(memo / f"server-{key}", "w", encoding="utf-8") as stream:
        stream.write(f"{builder_id}\n{start_id}\n")
    return SharedServer(builder_id, start_id, steps)


def _known_server(client: Any, memo: Path, key: str) -> SharedServer | None:
    """The shared images an earlier build made for ``key``, while the engine still has both (image IDs are content hashes)."""
    import docker.errors

    try:
        ids = (memo / f"server-{key}").read_text(encoding="utf-8").split()
    except OSError:
        return None
    if len(ids) != 2 or not all(grammar.SHA256.fullmatch(i.removeprefix("sha256:")) for i in ids):
        return None
    try:
        found = [client.images.get(i).id for i in ids]
    except docker.errors.ImageNotFound:
        return None
    return SharedServer(found[0], found[1], [], known=True) if found == ids else None


def _run_build(
    client: Any,
    context: Path,
    tag: str | None,
    no_cache: bool,
    progress: Progress,
    notices: list[str],
    platform: str = "linux/amd64",
    names: Sequence[str] | None = None,
    dockerfile: str = "Dockerfile",
) -> tuple[str, list[BuildStep]]:
    """Build ``context`` (only ``names`` of it, when given, with ``dockerfile``); lines the install script writes
    for the user (the pip fallback) go to ``notices``."""
    steps: list[BuildStep] = []
    tail: list[str] = []
    image_id = ""
    options = {"tag": tag, "rm": True, "forcerm": True, "nocache": no_cache, "pull": False, "decode": True, "platform": platform}
    if dockerfile != "Dockerfile":
        options["dockerfile"] = dockerfile
    with context_archive(context, names) as archive:
        if archive is not None:
            stream = client.api.build(fileobj=archive, custom_context=True, **options)
        else:
            stream = client.api.build(path=str(context), **options)
        return _follow(client, stream, tag, steps, tail, image_id, progress, notices)


def _follow(
    client: Any,
    stream: Any,
    tag: str | None,
    steps: list[BuildStep],
    tail: list[str],
    image_id: str,
    progress: Progress,
    notices: list[str],
) -> tuple[str, list[BuildStep]]:
    try:
        for chunk in stream:
            if "error" in chunk:
                raise BuildError(_failure_sentence(steps, tail, str(chunk["error"]).strip()))
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            for line in str(chunk.get("stream", "")).splitlines():
                line = line.rstrip()
                if not line:
                    continue
                match = _STEP.match(line)
                if match:
                    steps.append(BuildStep(int(match.group(1)), match.group(3)))
                    progress.step(f"Step {match.group(1)}/{match.group(2)}: {match.group(3)[:70]}")
                    tail.clear()
                elif line.strip() == "---> Using cache" and steps:
                    steps[-1].cached = True
                elif _RESULT.match(line) and steps:
                    steps[-1].image_id = line.split()[-1]
                elif line.startswith("Successfully built ") and not image_id:
                    image_id = line.split()[-1]
                elif line == PIP_FALLBACK_NOTICE:
                    notices.append("The build installed with pip, since uv cannot run on the base image.")
                    progress.log(line)
                else:
                    tail = [*tail[-14:], line]
                    progress.log(line)
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # a Ctrl-C closes the stream, and the engine stops the build
    if not image_id and tag is not None:
        image_id = client.images.get(tag).id
    return image_id, steps


PART_DOCKERFILE = "part.Dockerfile"  # beside the whole Dockerfile in the context, one part at a time
_START_INPUTS = ("system", "system-lib")
_END_INPUTS = ("system-site", "kernelspecs", "entrypoint", "files", "home", "sbom")


class LayerMemo:
    """Which image a kernel layer made on which parent, so a layer the engine holds is reused without sending its files.

    An answer counts only while the engine still has that image with that parent: removing the
    capsule's image removes its layers, and the next build makes them again.
    """

    def __init__(self, root: Path, salt: str) -> None:
        self.root = root
        self.salt = salt

    def key(self, parent: str, layer: str, files: Sequence[Any]) -> str:
        return layer_key(self.salt, parent, layer, *sorted(f.sha256 for f in files))

    def get(self, client: Any, key: str, parent: str) -> str | None:
        import docker.errors

        try:
            image_id = (self.root / key).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not grammar.SHA256.fullmatch(image_id.removeprefix("sha256:")):
            return None
        try:
            image = client.images.get(image_id)
        except docker.errors.ImageNotFound:
            return None
        return image.id if (image.attrs or {}).get("Parent") == parent else None

    def put(self, key: str, image_id: str) -> None:
        with atomic_writer(self.root / key, "w", encoding="utf-8") as stream:
            stream.write(image_id + "\n")


def _build_in_parts(
    client: Any,
    context: Path,
    parts: Segments,
    layers: dict[str, Any],
    memo: LayerMemo,
    trees: InstalledTrees,
    tag: str,
    progress: Progress,
    notices: list[str],
    platform: str,
) -> tuple[str, list[BuildStep]]:
    """The capsule's image one part at a time: its start, each kernel layer (reused when the engine holds it), its end.

    Each part is its own small build whose context holds only that part's folders, so a kernel
    layer made before on the same parent costs no transfer at all.
    """
    steps: list[BuildStep] = []

    def part(text: str, names: Sequence[str], part_tag: str | None) -> str:
        (context / PART_DOCKERFILE).write_text(text, encoding="utf-8")
        present = [PART_DOCKERFILE, *(name for name in names if (context / name).exists())]
        image_id, made = _run_build(client, context, part_tag, False, progress, notices, platform, present, PART_DOCKERFILE)
        for step in made:
            if not steps or not step.instruction.startswith("FROM "):  # a later part's FROM is the part before
                steps.append(replace(step, number=len(steps) + 1))
        return image_id if image_id.startswith("sha256:") else client.images.get(image_id).id

    parent = part(parts.start(), _START_INPUTS, None)
    for layer, files in layers.items():
        key = memo.key(parent, layer, files)
        known = memo.get(client, key, parent)
        if known is not None:
            progress.step(f"{layer}: the engine holds this layer already, on the same image")
            steps.append(
                BuildStep(len(steps) + 1, host_layer_copy(layer), cached=True, image_id=known.removeprefix("sha256:")[:12])
            )
            parent = known
            continue
        trees.place(files, context / layer)  # only the layers this build sends
        parent = part(parts.layer(parent, layer), (layer,), None)
        memo.put(key, parent)
    return part(parts.end(parent), _END_INPUTS, tag), steps


@contextmanager
def context_archive(folder: Path, names: Sequence[str] | None = None) -> Iterator[BinaryIO | None]:
    """The build context as one tar file made by GNU tar, several times faster than docker-py's own; None without GNU tar.

    Every file is stored whole (``--hard-dereference``: a file linked from the host cache is never a tar
    hard link, whose checksum would differ) and owned by 0:0, so the archive is the same on every host.
    """
    if not _gnu_tar():
        yield None
        return
    with tempfile.TemporaryFile(prefix="envcapsule-context-") as archive:
        names = sorted(os.listdir(folder)) if names is None else list(names)
        command = ["tar", "--create", "--file", "-", "--directory", str(folder), "--hard-dereference"]
        done = subprocess.run(
            [*command, "--owner=0", "--group=0", "--numeric-owner", "--", *names], stdout=archive, stderr=subprocess.PIPE
        )
        if done.returncode != 0:
            raise BuildError(f"Packing the build context failed: {done.stderr.decode(errors='replace').strip()[-300:]}.")
        archive.seek(0)
        yield archive


@cache
def _gnu_tar() -> bool:
    found = shutil.which("tar")
    if found is None:
        return False
    done = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and "GNU tar" in done.stdout


def _failure_sentence(steps: list[BuildStep], tail: list[str], error: str) -> str:
    where = f"step {steps[-1].number} ({steps[-1].instruction[:60]})" if steps else "the build"
    last = "\n".join(f"    {line}" for line in tail[-10:])
    return (
        f"The image build failed at {where}: {error}. Its last lines:\n{last}"
        if last
        else f"The image build failed at {where}: {error}."
    )


def expected_labels(capsule: Capsule) -> dict[str, str]:
    """The labels an image must carry to be this capsule's: trusted by content, whatever its tag says."""
    lockfiles = {record.path: record.sha256 for record in capsule.lockfiles}
    expected = {
        "envcapsule.capsule-hash": capsule.capsule_hash,
        "envcapsule.pylock-sha256": lockfiles.get("pylock.toml", ""),
        "envcapsule.requirements-sha256": lockfiles.get("requirements.txt", ""),
    }
    if capsule.files_hash:
        expected["envcapsule.files-hash"] = capsule.files_hash
    conda = capsule.manifest.get("conda") or {}
    if conda:
        expected["envcapsule.conda-lock-sha256"] = lockfiles.get(str(conda.get("lockfile")), "")
    return expected


def _existing(
    client: Any,
    tag: str,
    capsule: Capsule,
    base_image: str | None,
    untrusted: list[str],
    platform: str = "linux/amd64",
    server: str = "full",
) -> BuildResult | None:
    """The image under ``tag`` when its labels show it is this capsule's (and built on ``base_image``, when one is named)."""
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = image.labels or {}
    mismatched = image_platform(image) != platform or labels.get(SERVER_PROFILE_LABEL, "full") != server
    if mismatched or any(labels.get(key) != value for key, value in expected_labels(capsule).items()):
        untrusted.append(f"The image tagged {tag} did not carry this capsule's hash and lockfile hashes, so it was built again.")
        return None
    record = _read_record(capsule.folder)
    if record and (record.get("image_id") != image.id or record.get("platform", "linux/amd64") != platform):
        record = None
    built_on = labels.get(BASE_IMAGE_LABEL) or (record or {}).get("base_image")
    if base_image is not None and built_on != base_image:
        return None  # --base-image asks for another base than the one this image was built on
    if record:
        record["reused"] = True
        record["steps"] = [BuildStep(**s) for s in record.get("steps", [])]
        record["server_steps"] = [BuildStep(**s) for s in record.get("server_steps", [])]
        return BuildResult(**record)
    return BuildResult(
        image=tag,
        image_id=image.id,
        capsule_hash=capsule.capsule_hash,
        base_image=built_on or "",
        base_image_id="",
        base_image_digest=None,
        python_in_base=labels.get("envcapsule.python", ""),
        server_lock_sha256=labels.get(SERVER_LOCK_LABEL, ""),
        reused=True,
        platform=platform,
        server=server,
    )


def image_platform(image: Any) -> str:
    """The platform an image runs on, from its label (envcapsule images) or its config's OS and architecture."""
    attrs = image.attrs or {}
    labelled = (image.labels or {}).get(PLATFORM_LABEL)
    return str(labelled or f"{attrs.get('Os') or 'linux'}/{attrs.get('Architecture') or 'amd64'}")


def engine_platform(client: Any) -> str:
    """The platform the engine runs natively: ``linux/amd64`` on most hosts."""
    try:
        version = client.version()
    except Exception:  # noqa: BLE001 - an engine that cannot say is taken as the common case
        return "linux/amd64"
    return platform_of(str(version.get("Os") or "linux"), str(version.get("Arch") or "amd64"))


def _fetcher(capsule: Capsule) -> Any:
    """An index client configured like the kernel's pip (credentials included, never written)."""
    from envcapsule.facts import EnvironmentFacts
    from envcapsule.lock.index import IndexClient
    from envcapsule.lock.pipconfig import lookup_config

    facts = EnvironmentFacts.from_probe(capsule.facts())
    config = lookup_config(facts.pip_config)
    return IndexClient(config.index_urls, config.find_links, cert=config.cert, trusted_hosts=config.trusted_hosts)


def _cache_root() -> Path:
    from envcapsule.paths import cache_root

    return cache_root()


def _record(folder: Path, result: BuildResult) -> None:
    write_json(folder / BUILD_RECORD, result.to_json())


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / BUILD_RECORD).read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
