"""The Dockerfile of a capsule, rendered from small named pieces.

Layout of the build context (made by ``envcapsule.image.context``)::

    Dockerfile
    installer/      the install script and the host's uv binary, used by the builder stages only
    server/         requirements.txt + the server environment's wheels
    kernel-large/   large framework wheels (torch, CUDA, ...) + requirements.txt, or, installed on the host, their files
    kernel-rest/    every other locked wheel + requirements.txt, or their installed files
    kernelspecs/    python3/ (and the notebook's own kernel name) with kernel.json pointing at the kernel environment
    python/         a standalone CPython, only when the base image has no Python
    entrypoint      a shell script that execs its arguments
    files/          the notebook's files (data, local modules), copied into $HOME in a layer of their own
    home/           the notebook and its capsule, copied into $HOME
    sbom/           sbom.cdx.json, the capsule's SBOM, for /opt/envcapsule/sbom.cdx.json

The server stages and the image's start (base, user jovyan, server environment) depend only on
the base and the server lock: ``envcapsule build`` builds them on their own first and the
capsule's Dockerfile then names those two images by id, so its context holds no installer/,
server/ or python/ (``envcapsule build --context`` and ``--no-cache`` write the whole file instead).

The kernel's wheels are installed on the host where it can install for the image
(``envcapsule.image.prebuilt``: once per wheel, kept in the host cache) and each layer's files
are copied straight into the kernel environment; elsewhere, and always for the server
environment, installs happen in builder stages from files the host already fetched,
hash-checked and with no index (uv where it runs on the base, else pip:
``envcapsule.image.installer``). Either way the final image gets only installed
environments, so no wheel, no index URL and no credential ever lands in one of its layers. Only classic Dockerfile
syntax is used, so any Docker-API engine builds it, BuildKit or not.

No value from a capsule is spliced into this text unchecked (DESIGN §7): an ``ImageSpec``
refuses names, hashes, paths and image references outside their grammar when it is made,
and free text (environment values, labels) goes only into double-quoted ``ENV`` and
``LABEL`` words, escaped so that it can neither end the word nor expand a variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from envcapsule import grammar
from envcapsule.contract import (
    CONDA_INSTALLER_PREFIX,
    ENTRYPOINT,
    HOME,
    KERNEL_PREFIX,
    NB_UID,
    PORT,
    PYTHON_PREFIX,
    ROOT,
    SERVER_PREFIX,
)
from envcapsule.image.installer import INSTALLER_DIR, install_command

KERNEL_LAYERS = ("kernel-large", "kernel-rest")
_LABEL_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*")
_BUILD_ARG = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")  # a FROM that names a build argument (binder/Dockerfile)


@dataclass(frozen=True)
class ImageSpec:
    """Everything the Dockerfile depends on; the same spec always renders the same text."""

    base_image: str
    capsule_hash: str
    notebook: str | None
    capsule_dir: str
    python_version: str
    created: str
    kernel_layers: Sequence[str] = KERNEL_LAYERS
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    conda: bool = False  # the kernel environment is a conda environment (see render_conda_dockerfile)
    standalone_python: str | None = None  # the key of the CPython build in python/, when the base has no Python
    notebook_files: bool = False  # files/ holds the notebook's files, for $HOME
    system_packages: str | None = None  # "offline": system/debs/ holds checked .deb files; "by-name": system/apt.txt names them
    system_site: bool = False  # system-site/ holds a .pth that shows the kernel the system's Python packages
    system_libraries: bool = False  # system-lib/ holds libraries no package owns, at their paths in the image
    sbom: bool = False  # sbom/ holds the image's SBOM, for /opt/envcapsule
    # The shared images of this base and server lock, built on their own (``render_server_dockerfile``):
    # the server builder stage and the image's start (base, user, server environment). Given, the
    # capsule's Dockerfile starts from them by id and its context carries no server inputs.
    server_image: str | None = None
    start_image: str | None = None
    # "stages": builder stages install each kernel layer; "host": its folder holds the files installed on
    # the host (``envcapsule.image.prebuilt``), copied straight into the kernel environment.
    kernel_install: str = "stages"

    def __post_init__(self) -> None:
        if not _BUILD_ARG.fullmatch(self.base_image):
            grammar.image_reference("base image", self.base_image)
        grammar.sha256("capsule hash", self.capsule_hash)
        if self.notebook is not None:
            grammar.relative_path("notebook", self.notebook)
        grammar.file_name("capsule folder name", self.capsule_dir)
        grammar.matching("interpreter version", self.python_version, grammar.PYTHON_VERSION, "a Python version")
        grammar.text("created time", self.created)
        for layer in self.kernel_layers:
            grammar.word("kernel layer", layer)
        for key, value in self.environment.items():
            grammar.env_name(f"environment key {key!r}", key)
            grammar.text(f"environment.{key}", value)
        for key, value in self.labels.items():
            grammar.matching("label name", key, _LABEL_KEY, "a label name")
            grammar.text(f"label {key}", value)
        if self.standalone_python is not None:
            grammar.word("standalone Python build", self.standalone_python)
        if self.system_packages not in (None, "offline", "by-name"):
            raise grammar.refused("system packages", self.system_packages, "offline or by-name")
        for what, image_id in (("server image", self.server_image), ("start image", self.start_image)):
            if image_id is not None:
                grammar.sha256(what, image_id.removeprefix("sha256:"))
        if self.kernel_install not in ("stages", "host"):
            raise grammar.refused("kernel install", self.kernel_install, "stages or host")
        if (self.server_image is None) != (self.start_image is None):
            raise ValueError("an image spec names both shared images or neither")

    @property
    def start(self) -> str:
        """What every stage starts from: the base image, or the base with the standalone CPython added."""
        return "python" if self.standalone_python else self.base_image


def render_dockerfile(spec: ImageSpec) -> str:
    if spec.conda:
        return render_conda_dockerfile(spec)
    host = spec.kernel_install == "host"
    pieces = [
        header(spec),
        *([] if host and spec.server_image else builder_stages(spec)),
        *([] if host else (kernel_stage(layer) for layer in spec.kernel_layers)),
        image_start(spec),
        system_layer(spec),
        system_libraries_layer(spec),
        capsule_environment_layer(spec),
        *kernel_in_image(spec),
        system_site_layer(spec),
        *image_end(spec),
    ]
    return "\n\n".join(piece for piece in pieces if piece) + "\n"


def builder_stages(spec: ImageSpec) -> list[str]:
    """The stage named ``server`` that kernel stages start from: built here, or the shared one by id."""
    if spec.server_image is not None:
        return [
            f"# The server builder stage, shared by every capsule with this base and server lock.\nFROM {spec.server_image} AS server"
        ]
    return [python_stage(spec), server_stage(spec)]


def image_start(spec: ImageSpec) -> str:
    """Base, user jovyan and the server environment: the same layers for every capsule with this base and server lock."""
    if spec.start_image is not None:
        return (
            "# The image: the shared start (base, user, server environment), then the capsule - from stable to volatile.\n"
            f"FROM {spec.start_image}"
        )
    return "\n".join([final_base(spec), user_layer(), base_environment_layer(), server_copy()])


_KERNEL_VENV = f"RUN python3 -m venv --without-pip {KERNEL_PREFIX}"


def kernel_in_image(spec: ImageSpec) -> list[str]:
    """The kernel environment: each builder stage's install copied in, or the host's installed files copied straight in."""
    if spec.kernel_install == "host":
        return [
            "# The kernel environment: the locked wheels installed on the host (hash-checked, no index), layer by layer.\n"
            + _KERNEL_VENV,
            *(host_layer_copy(layer) for layer in spec.kernel_layers),
        ]
    return [*(kernel_copy(layer) for layer in spec.kernel_layers), "" if spec.kernel_layers else _KERNEL_VENV]


def host_layer_copy(layer: str) -> str:
    return f"COPY {layer}/ {KERNEL_PREFIX}/"


@dataclass(frozen=True)
class Segments:
    """The Dockerfile of a host-installed kernel cut where each kernel layer starts, to build one part at a time.

    Each part starts ``FROM`` the image the part before made, so a kernel layer the engine
    already holds on the same parent is reused without its files being sent again. Together the
    parts are exactly the instructions of ``render_dockerfile``.
    """

    spec: ImageSpec

    def __post_init__(self) -> None:
        if self.spec.kernel_install != "host" or self.spec.start_image is None:
            raise ValueError("only a host-installed kernel on the shared start is built in parts")

    def start(self) -> str:
        spec = self.spec
        pieces = [
            f"FROM {spec.start_image}",
            system_layer(spec),
            system_libraries_layer(spec),
            capsule_environment_layer(spec),
            _KERNEL_VENV,
        ]
        return "\n\n".join(piece for piece in pieces if piece) + "\n"

    def layer(self, parent: str, layer: str) -> str:
        grammar.sha256("parent image", parent.removeprefix("sha256:"))
        if layer not in self.spec.kernel_layers:
            raise ValueError(f"{layer} is not a kernel layer of this image")
        return f"FROM {parent}\n{host_layer_copy(layer)}\n"

    def end(self, parent: str) -> str:
        grammar.sha256("parent image", parent.removeprefix("sha256:"))
        pieces = [f"FROM {parent}", system_site_layer(self.spec), *image_end(self.spec)]
        return "\n\n".join(piece for piece in pieces if piece) + "\n"


def image_end(spec: ImageSpec) -> list[str]:
    """Kernelspecs, the notebook's files, the notebook, the SBOM, the runtime settings and the labels."""
    return [kernelspec_layer(), files_layer(spec), notebook_layer(), sbom_layer(spec), runtime_layer(), labels_layer(spec)]


def header(spec: ImageSpec) -> str:
    return (
        f"# envcapsule image for {spec.notebook or 'a capsule'} (capsule {spec.capsule_hash[:12]}).\n"
        "# Rendered by `envcapsule build`, which also assembles the build context this file expects\n"
        "# (wheels from the host cache); `envcapsule build --context DIR` writes that context to build by hand."
    )


def python_stage(spec: ImageSpec) -> str:
    """The base image plus a standalone CPython, for bases without Python (``nvidia/cuda`` runtime images)."""
    if not spec.standalone_python:
        return ""
    return (
        f"# The interpreter: {spec.standalone_python} (python-build-standalone), since the base image has no Python.\n"
        f"FROM {spec.base_image} AS python\n"
        f"COPY python/ {PYTHON_PREFIX}/\n"
        f"ENV PATH={PYTHON_PREFIX}/bin:$PATH"
    )


def server_stage(spec: ImageSpec) -> str:
    return (
        "# The server environment: JupyterLab, Notebook, jupyterhub-singleuser and nbval, apart from the kernel.\n"
        f"FROM {spec.start} AS server\n"
        f"COPY installer/ {INSTALLER_DIR}/\n"
        "COPY server/ /tmp/envcapsule/server/\n"
        f"RUN python3 -m venv {SERVER_PREFIX} \\\n"
        f" && {install_command(f'{SERVER_PREFIX}/bin/python', '/tmp/envcapsule/server')}"
    )


def render_server_dockerfile(spec: ImageSpec) -> str:
    """The shared stages alone, the same text as in ``render_dockerfile``, so each shares the other's cache.

    Its image is the start of every capsule's image with this base and server lock; its server
    stage is the builder stage their kernel stages start from.
    """
    inline = replace(spec, server_image=None, start_image=None)
    pieces = [
        "# The server environment of envcapsule images, shared by every capsule with the same base and server lock.",
        *builder_stages(inline),
        image_start(inline),
    ]
    return "\n\n".join(piece for piece in pieces if piece) + "\n"


def kernel_stage(layer: str) -> str:
    """A builder stage that installs one part of the lock into its own copy of the kernel environment."""
    return (
        f"# Locked distributions ({layer}): hash-checked, no index, no dependency resolution.\n"
        f"FROM server AS {layer}\n"
        f"COPY {layer}/ /tmp/envcapsule/{layer}/\n"
        f"RUN python3 -m venv --without-pip {KERNEL_PREFIX} \\\n"
        f" && {install_command(f'{KERNEL_PREFIX}/bin/python', f'/tmp/envcapsule/{layer}')}"
    )


def final_base(spec: ImageSpec) -> str:
    return f"# The image: base, user, environments, notebook, labels - from stable to volatile.\nFROM {spec.start}"


def system_layer(spec: ImageSpec, apt_txt: str = "system/apt.txt") -> str:
    """The system packages, right after the base: exact .deb files installed offline, or names from the base's repository.

    The package names never reach this text: they are in files of the build context.
    """
    if spec.system_packages == "offline":
        return (
            "# System packages: the .deb files the host fetched and checked against the repository's index, installed offline.\n"
            "COPY system/ /tmp/envcapsule/system/\n"
            "RUN DEBIAN_FRONTEND=noninteractive dpkg --install /tmp/envcapsule/system/debs/*.deb \\\n"
            " && rm -rf /tmp/envcapsule/system"
        )
    if spec.system_packages == "by-name":
        return (
            "# System packages, by name from the base image's own repository (no exact .deb files from a host cache here).\n"
            f"COPY {apt_txt} /tmp/envcapsule/system/apt.txt\n"
            "RUN export DEBIAN_FRONTEND=noninteractive \\\n"
            " && apt-get update \\\n"
            " && xargs --arg-file=/tmp/envcapsule/system/apt.txt apt-get install --yes --no-install-recommends \\\n"
            " && rm -rf /var/lib/apt/lists/* /tmp/envcapsule/system"
        )
    return ""


def system_libraries_layer(spec: ImageSpec) -> str:
    """Libraries built from source that no package owns, back at their paths under /usr/local or /opt."""
    if not spec.system_libraries:
        return ""
    return "# Libraries no system package owns, carried in the capsule.\nCOPY system-lib/ /\nRUN ldconfig"


def system_site_layer(spec: ImageSpec, source: str = "system-site/") -> str:
    """A .pth in the kernel environment naming the system's site folders, as ``--system-site-packages`` did on the host."""
    if not spec.system_site:
        return ""
    minor = ".".join(spec.python_version.split(".")[:2])
    return f"COPY {source} {KERNEL_PREFIX}/lib/python{minor}/site-packages/"


def user_layer() -> str:
    """User jovyan with uid 1000; a base that already gives uid 1000 to someone (ubuntu:24.04's ``ubuntu``) renames them."""
    return (
        "RUN if ! id -u jovyan >/dev/null 2>&1; then \\\n"
        f"      taken=$(getent passwd {NB_UID} | cut -d: -f1); \\\n"
        '      if [ -n "$taken" ]; then \\\n'
        f'        usermod --login jovyan --home {HOME} --move-home "$taken" \\\n'
        f"        && group=$(getent group {NB_UID} | cut -d: -f1) \\\n"
        '        && if [ -n "$group" ] && [ "$group" != jovyan ]; then groupmod --new-name jovyan "$group"; fi; \\\n'
        f"      else useradd --create-home --uid {NB_UID} --shell /bin/bash jovyan; fi; \\\n"
        "    fi \\\n"
        f" && mkdir -p {HOME} && chown {NB_UID}:{NB_UID} {HOME}"
    )


def environment_layer(spec: ImageSpec) -> str:
    """HOME, PATH and the capsule's environment in one ``ENV`` (binder/Dockerfile)."""
    return _env({**_BASE_ENVIRONMENT, **{key: quoted(value) for key, value in spec.environment.items()}})


# The base's PATH is kept ($PATH): nvidia/cuda images, for one, put their tools on it.
_BASE_ENVIRONMENT = {"HOME": json.dumps(HOME), "PATH": json.dumps(f"{SERVER_PREFIX}/bin:$PATH")}


def base_environment_layer() -> str:
    return _env(_BASE_ENVIRONMENT)


def capsule_environment_layer(spec: ImageSpec) -> str:
    """The captured environment variables, after the shared start, so they never split it."""
    return _env({key: quoted(value) for key, value in spec.environment.items()}) if spec.environment else ""


def _env(values: Mapping[str, str]) -> str:
    return "ENV " + " \\\n    ".join(f"{key}={value}" for key, value in values.items())


def quoted(value: str) -> str:
    """``value`` as one double-quoted Dockerfile word, taken literally: ``\\``, ``"`` and ``$`` are escaped.

    Line breaks cannot be quoted in a Dockerfile, so the spec refuses them before this is reached.
    """
    grammar.text("quoted value", value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def server_copy() -> str:
    return f"COPY --from=server {SERVER_PREFIX} {SERVER_PREFIX}"


def kernel_copy(layer: str) -> str:
    # Each stage's kernel environment holds only its own files, so the copies stack without duplication.
    return f"COPY --from={layer} {KERNEL_PREFIX} {KERNEL_PREFIX}"


def kernelspec_layer(kernelspecs: str = "kernelspecs/", entrypoint: str = "entrypoint") -> str:
    """python3 and the notebook's own kernel name, both starting the kernel environment (folders of the context)."""
    return f"COPY {kernelspecs} {SERVER_PREFIX}/share/jupyter/kernels/\nCOPY {entrypoint} {ENTRYPOINT}"


def python3_kernelspec_layer(kernel_json: str, entrypoint: str) -> str:
    """One kernel.json as the python3 kernelspec (binder/ carries only that one)."""
    return f"COPY {kernel_json} {SERVER_PREFIX}/share/jupyter/kernels/python3/\nCOPY {entrypoint} {ENTRYPOINT}"


def files_layer(spec: ImageSpec, source: str = "files/") -> str:
    """The notebook's files at their paths under $HOME, after the environments: a changed CSV rebuilds only from here."""
    if not spec.notebook_files:
        return ""
    return f"# The notebook's files (data, local modules), at the paths they had beside it.\nCOPY --chown={NB_UID}:{NB_UID} {source} {HOME}/"


def notebook_layer(source: str = "home/") -> str:
    return f"COPY --chown={NB_UID}:{NB_UID} {source} {HOME}/"


def sbom_layer(spec: ImageSpec, source: str = "sbom/") -> str:
    """The SBOM last among the files: it names the base's digest and every locked file, so it changes with any of them."""
    if not spec.sbom:
        return ""
    return f"# The image's SBOM (CycloneDX 1.6), the capsule's sbom.cdx.json; its sha256 is a label.\nCOPY {source} {ROOT}/"


def runtime_layer(entrypoint: Sequence[str] = (ENTRYPOINT,)) -> str:
    command = ["jupyter", "lab", "--ip=0.0.0.0", f"--port={PORT}", "--no-browser"]
    return f"USER jovyan\nWORKDIR {HOME}\nEXPOSE {PORT}\nENTRYPOINT {json.dumps(list(entrypoint))}\nCMD {json.dumps(command)}"


# Variants for builds that cannot see the host's wheel cache (Binder): the same environments,
# installed from the package index, every file pinned by sha256 and no dependency resolution.


def index_server_stage(base_image: str, requirements: str, build_args: Sequence[str] = ()) -> str:
    """``build_args`` are declared in the stage, so ``--build-arg`` can reach pip (PIP_FIND_LINKS, PIP_NO_INDEX, ...)."""
    return (
        "# The server environment: JupyterLab, Notebook, jupyterhub-singleuser and nbval, apart from the kernel.\n"
        f"FROM {base_image} AS server\n"
        f"{_declared(build_args)}"
        f"COPY {requirements} /tmp/envcapsule/server/requirements.txt\n"
        f"RUN python3 -m venv {SERVER_PREFIX} \\\n"
        f" && {SERVER_PREFIX}/bin/python -m pip install --no-cache-dir --no-deps --require-hashes"
        " --disable-pip-version-check -r /tmp/envcapsule/server/requirements.txt"
    )


def index_kernel_stage(layer: str, requirements: str, vendor: str | None = None, build_args: Sequence[str] = ()) -> str:
    """Like ``kernel_stage``, from the index; ``vendor`` is a folder of wheels the requirements name as ``./vendor/...``."""
    vendor_copy = f"COPY {vendor}/ /tmp/envcapsule/{layer}/vendor/\n" if vendor else ""
    return (
        f"# Locked distributions ({layer}): hash-checked, no dependency resolution.\n"
        f"FROM server AS {layer}\n"
        f"{_declared(build_args)}"
        f"COPY {requirements} /tmp/envcapsule/{layer}/requirements.txt\n"
        f"{vendor_copy}"
        f"RUN python3 -m venv --without-pip {KERNEL_PREFIX} \\\n"
        f" && cd /tmp/envcapsule/{layer} \\\n"
        f" && {SERVER_PREFIX}/bin/python -m pip --python {KERNEL_PREFIX}/bin/python install --no-cache-dir --no-deps"
        " --require-hashes --disable-pip-version-check -r requirements.txt"
    )


def _declared(build_args: Sequence[str]) -> str:
    return "".join(f"ARG {name}\n" for name in build_args)


def labels_layer(spec: ImageSpec) -> str:
    labels = {
        "org.opencontainers.image.title": spec.notebook or "envcapsule capsule",
        "org.opencontainers.image.created": spec.created,
        "org.opencontainers.image.version": spec.capsule_hash[:12],
        **spec.labels,
    }
    return "LABEL " + " \\\n      ".join(f"{key}={quoted(value)}" for key, value in labels.items())


# A conda capsule's kernel environment is the captured conda environment: py-rattler, in a builder
# environment of its own, installs the locked packages from files the host fetched (conda/pkgs/),
# and the pip layers go on top of that prefix into a separate root each, so every stage's copy
# holds only its own files.


def render_conda_dockerfile(spec: ImageSpec) -> str:
    pieces = [
        header(spec),
        *builder_stages(spec),
        conda_installer_stage(),
        conda_stage(),
        *(conda_pip_stage(layer) for layer in spec.kernel_layers),
        image_start(spec),
        system_layer(spec),
        system_libraries_layer(spec),
        capsule_environment_layer(spec),
        conda_copy(),
        *(conda_pip_copy(layer) for layer in spec.kernel_layers),
        *image_end(spec),
    ]
    return "\n\n".join(piece for piece in pieces if piece) + "\n"


def conda_installer_stage() -> str:
    return (
        "# The conda installer: py-rattler in an environment of its own, used only while building.\n"
        "FROM server AS conda-installer\n"
        "COPY conda-installer/ /tmp/envcapsule/conda-installer/\n"
        f"RUN python3 -m venv {CONDA_INSTALLER_PREFIX} \\\n"
        f" && {CONDA_INSTALLER_PREFIX}/bin/python -m pip install --no-index --no-deps --require-hashes"
        " --disable-pip-version-check --find-links /tmp/envcapsule/conda-installer -r /tmp/envcapsule/conda-installer/requirements.txt"
    )


def conda_stage() -> str:
    return (
        "# The conda environment: every locked package from its hash-checked file, no channel, no solver.\n"
        "FROM conda-installer AS conda\n"
        "COPY conda/ /tmp/envcapsule/conda/\n"
        f"RUN {CONDA_INSTALLER_PREFIX}/bin/python /tmp/envcapsule/conda/install.py /tmp/envcapsule/conda {KERNEL_PREFIX}"
    )


def conda_pip_root(layer: str) -> str:
    return f"/tmp/envcapsule/{layer}-root"


def conda_pip_stage(layer: str) -> str:
    """Like ``kernel_stage``, into the conda prefix, with the installed files gathered under a root of their own."""
    return (
        f"# Locked pip distributions ({layer}) on the conda environment: hash-checked, no index, no dependency resolution.\n"
        f"FROM server AS {layer}\n"
        f"COPY --from=conda {KERNEL_PREFIX} {KERNEL_PREFIX}\n"
        f"COPY {layer}/ /tmp/envcapsule/{layer}/\n"
        f"RUN {SERVER_PREFIX}/bin/python -m pip --python {KERNEL_PREFIX}/bin/python install --root {conda_pip_root(layer)}"
        f" --no-index --no-deps --require-hashes --disable-pip-version-check --find-links /tmp/envcapsule/{layer}"
        f" -r /tmp/envcapsule/{layer}/requirements.txt"
    )


def conda_copy() -> str:
    return f"COPY --from=conda {KERNEL_PREFIX} {KERNEL_PREFIX}"


def conda_pip_copy(layer: str) -> str:
    return f"COPY --from={layer} {conda_pip_root(layer)}{KERNEL_PREFIX} {KERNEL_PREFIX}"


def kernelspec_json(display_name: str) -> str:
    spec = {
        "argv": [f"{KERNEL_PREFIX}/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True},
    }
    return json.dumps(spec, indent=1) + "\n"


ENTRYPOINT_SCRIPT = '#!/bin/sh\n# envcapsule images run their command as given (tini or --init reaps children).\nexec "$@"\n'
