"""binder/Dockerfile: the capsule's Dockerfile for a build that has the repository root as its context.

Binder cannot see the host's wheel cache, so where ``envcapsule build`` installs from files
the host already fetched, this file installs the same locked files from the package index:
every line of requirements.txt pins one file by sha256 and pip runs with
``--require-hashes --no-deps``, so the build installs exactly the capsule's lock or fails;
it never re-solves. Everything else - stages, user, environments, labels - is the same
named pieces that ``envcapsule.image.dockerfile`` renders for the capsule's own image.
"""

from __future__ import annotations

from dataclasses import dataclass

from envcapsule.image import dockerfile as pieces
from envcapsule.system.layer import PTH_FILE

BINDER_ENTRYPOINT = ("/bin/sh", pieces.ENTRYPOINT)  # no exec bit needed: a checkout may lose it
# Unset on Binder; elsewhere they point pip at a mirror or a wheel folder (the hashes still decide what installs).
# Declared in the builder stages only, so their values never reach the final image.
PIP_BUILD_ARGS = ("PIP_FIND_LINKS", "PIP_NO_INDEX")
KERNEL_LAYER = "kernel"


@dataclass(frozen=True)
class BinderPaths:
    """Paths relative to the repository root, which is the build context."""

    binder: str  # the binder folder, e.g. "binder"
    notebook: str  # e.g. "notebooks/analysis.ipynb"
    vendor: str | None  # the capsule's vendored wheels, e.g. "notebooks/analysis.capsule/vendor"


def render_binder_dockerfile(spec: pieces.ImageSpec, paths: BinderPaths) -> str:
    """``spec.base_image`` is the default of the BASE_IMAGE build argument."""
    staged = pieces.ImageSpec(
        base_image="${BASE_IMAGE}",
        capsule_hash=spec.capsule_hash,
        notebook=spec.notebook,
        capsule_dir=spec.capsule_dir,
        python_version=spec.python_version,
        created=spec.created,
        kernel_layers=(KERNEL_LAYER,),
        environment=spec.environment,
        labels=spec.labels,
        system_packages="by-name" if spec.system_packages else None,
        system_site=spec.system_site,
    )
    folder = paths.binder
    parts = [
        header(spec, paths),
        f"ARG BASE_IMAGE={spec.base_image}",
        pieces.index_server_stage(staged.base_image, f"{folder}/server-requirements.txt", PIP_BUILD_ARGS),
        pieces.index_kernel_stage(KERNEL_LAYER, f"{folder}/requirements.txt", paths.vendor, PIP_BUILD_ARGS),
        pieces.final_base(staged),
        pieces.system_layer(staged, f"{folder}/apt.txt"),
        pieces.user_layer(),
        pieces.environment_layer(staged),
        pieces.server_copy(),
        pieces.kernel_copy(KERNEL_LAYER),
        pieces.system_site_layer(staged, f"{folder}/{PTH_FILE}"),
        pieces.python3_kernelspec_layer(f"{folder}/kernel.json", f"{folder}/entrypoint"),
        "# The repository, as Binder users expect it: the notebook at $HOME/"
        + paths.notebook
        + ".\n"
        + pieces.notebook_layer("."),
        pieces.runtime_layer(BINDER_ENTRYPOINT),
        pieces.labels_layer(staged),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def header(spec: pieces.ImageSpec, paths: BinderPaths) -> str:
    return (
        f"# envcapsule binder image for {paths.notebook} (capsule {spec.capsule_hash[:12]}).\n"
        "# Written by `envcapsule share --binder`, which rewrites this folder; change the capsule, not these files.\n"
        "# Binder builds this file with the repository root as context and cannot see the host's wheel cache, so\n"
        f"# the locked files come from the package index: each line of {paths.binder}/requirements.txt pins one file by\n"
        "# sha256 (pip --require-hashes --no-deps), so the build installs exactly the capsule's lock or fails.\n"
        f"# Build it by hand from the repository root: docker build -f {paths.binder}/Dockerfile .\n"
        "# (--build-arg BASE_IMAGE=... for another base with the same Python; PIP_FIND_LINKS and PIP_NO_INDEX for a mirror)"
    )
