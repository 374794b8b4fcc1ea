"""Every command's options, described once: the CLI parser and the magic parser are both built from this table.

A flag a handler reads exists because the table says so (the ``launch --gpus`` crash was a
handler reading a flag one parser never defined). Each option also carries the words the
sidebar uses for it, so an error's advice can name it the way each front end shows it.

Standard library only: the magic imports this when a kernel loads the extension.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Option:
    dest: str
    flags: tuple[str, ...]
    help: str
    metavar: str | None = None
    action: str | None = None  # "store_true", or None for a value
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    sidebar: str = ""  # how the sidebar names it, in an advice ("the Base image setting")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help}
        if self.action:
            kwargs["action"] = self.action
        if self.action in (None, "append"):  # these take a value
            kwargs.update(metavar=self.metavar, default=self.default)
            if self.type is not None:
                kwargs["type"] = self.type
            if self.choices is not None:
                kwargs["choices"] = self.choices
        parser.add_argument(*self.flags, **kwargs)

    def cli_words(self) -> str:
        return f"{self.flags[0]} {self.metavar}" if self.metavar else self.flags[0]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line, for the list of commands
    description: str  # the --help text that teaches
    options: tuple[str, ...] = ()  # names in OPTIONS, shared by the CLI and the magic
    target: str | None = None  # the CLI's positional argument ("NOTEBOOK|CAPSULE"), None for none
    target_help: str = ""
    target_optional: bool = False
    python: bool = False  # takes --python (the magic always uses its own kernel's interpreter)
    cli_only: tuple[str, ...] = ()  # options that make sense only in a shell
    magic_only: tuple[str, ...] = ()  # options that need a live kernel
    magic: bool = True  # offered as %envcapsule <name>
    examples: tuple[str, ...] = field(default=())


def _size(text: str) -> int:
    from envcapsule.notebook_files.selection import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def memory_limit(text: str) -> str:
    """A container memory limit as the engine takes it (``4g``, ``512m``, bytes); ValueError with the sentence otherwise."""
    if not re.fullmatch(r"[1-9][0-9]*[bkmg]?", str(text).strip().lower()):
        raise ValueError(f"{text!r} is not a memory size such as 4g, 512m or 1073741824")
    return str(text).strip().lower()


def cpus_limit(text: str | float) -> float:
    """A number of CPUs above 0 (``2``, ``0.5``); ValueError with the sentence otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = 0.0
    if isinstance(text, bool) or not 0 < value <= 1024:
        raise ValueError(f"{text!r} is not a number of CPUs such as 2 or 0.5")
    return value


def _memory(text: str) -> str:
    try:
        return memory_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _cpus(text: str) -> float:
    try:
        return cpus_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


OPTIONS: dict[str, Option] = {
    option.dest: option
    for option in (
        Option("out", ("--out",), "capsule folder (default: <notebook stem>.capsule beside it)", metavar="DIR"),
        Option("strict", ("--strict",), "fail if any distribution cannot be locked to an exact file", action="store_true"),
        Option(
            "offline",
            ("--offline",),
            "use only cached index data; files not in the cache are marked unresolved",
            action="store_true",
        ),
        Option(
            "system_python_packages",
            ("--system-python-packages",),
            "how Python packages from the system's package manager (dist-packages) travel: as those system "
            "packages in the image (system, the default) or as the PyPI files of the same versions (pypi)",
            metavar="system|pypi",
            default="system",
            choices=("system", "pypi"),
        ),
        Option(
            "include_tooling",
            ("--include-tooling",),
            "keep the distributions installed only because envcapsule is (left out by default)",
            action="store_true",
        ),
        Option(
            "include",
            ("--include",),
            "also carry the files beside the notebook that match PATTERN (gitignore syntax; repeatable)",
            metavar="PATTERN",
            action="append",
            sidebar="the Include files setting",
        ),
        Option(
            "exclude",
            ("--exclude",),
            "leave out the files beside the notebook that match PATTERN (gitignore syntax; repeatable; wins over --include)",
            metavar="PATTERN",
            action="append",
            sidebar="the Exclude files setting",
        ),
        Option(
            "max_files_size",
            ("--max-files-size",),
            "size budget for the notebook's files, such as 500MB (default 100MB); past it the largest are left out",
            metavar="SIZE",
            type=_size,
            sidebar="the Files size budget setting",
        ),
        Option(
            "minimal",
            ("--minimal",),
            "only the distributions the live kernel imported, with their dependencies (in a kernel)",
            action="store_true",
        ),
        Option(
            "base_image",
            ("--base-image",),
            "base image (default: ENVCAPSULE_BASE_IMAGE, the config file, else python:<captured version>-slim-<codename>)",
            metavar="IMAGE",
            sidebar="the base image setting",
        ),
        Option(
            "facts",
            ("--facts",),
            "lock the facts `envcapsule inspect --json` wrote on another machine, instead of probing an interpreter here",
            metavar="FILE",
        ),
        Option(
            "platforms",
            ("--platform",),
            "the Linux platforms the image is built for, comma-separated (default linux/amd64,linux/arm64)",
            metavar="PLATFORM[,PLATFORM]",
            sidebar="the Platforms setting",
        ),
        Option(
            "platform",
            ("--platform",),
            "build for linux/amd64 or linux/arm64 (default: the engine's own, when the capsule targets it)",
            metavar="PLATFORM",
            sidebar="the Platform setting",
        ),
        Option("no_cache", ("--no-cache",), "rebuild every layer, even if the image exists", action="store_true"),
        Option(
            "update_server",
            ("--update-server",),
            "resolve the server environment (JupyterLab, Notebook, nbval) again and rewrite server.pylock.toml",
            action="store_true",
        ),
        Option(
            "server",
            ("--server",),
            "the server environment: full (default: JupyterLab, Notebook, jupyterhub-singleuser, nbval for verify)"
            " or minimal (JupyterLab alone, for an image that is only launched; its tag ends in -minimal)",
            metavar="full|minimal",
            choices=("full", "minimal"),
            default="full",
        ),
        Option(
            "context",
            ("--context",),
            "only write the build context (Dockerfile + wheels) to DIR, to build by hand",
            metavar="DIR",
        ),
        Option("port", ("--port",), "host port on 127.0.0.1 (default: a free one)", metavar="N", type=int),
        Option(
            "mount",
            ("--mount",),
            "bind the notebook's folder read-write at ~/work, so work is kept (default: the copy in the image)",
            action="store_true",
            sidebar="Launch with the folder mounted",
        ),
        Option(
            "gpus",
            ("--gpus",),
            "GPUs for a CUDA capsule: all (default, after the driver checks), none for the CPU, a count, or device=ID,...",
            metavar="all|none|N|device=ID,...",
            sidebar="Launch on CPU",
        ),
        Option(
            "memory",
            ("--memory",),
            "memory limit for the container, such as 4g or 512m (default: none)",
            metavar="SIZE",
            type=_memory,
            sidebar="the Memory limit setting",
        ),
        Option(
            "cpus",
            ("--cpus",),
            "how many CPUs the container may use, such as 2 or 0.5 (default: all)",
            metavar="N",
            type=_cpus,
            sidebar="the CPUs setting",
        ),
        Option("no_browser", ("--no-browser",), "print the URL without opening a browser", action="store_true"),
        Option(
            "launch_timeout",
            ("--timeout",),
            "seconds to wait for Jupyter to answer (default 60)",
            metavar="S",
            type=float,
            default=60.0,
        ),
        Option(
            "sanitize",
            ("--sanitize",),
            "extra nbval sanitizers: a file of `regex:` / `replace:` line pairs, applied after the defaults",
            metavar="FILE",
        ),
        Option(
            "no_default_sanitizers",
            ("--no-default-sanitizers",),
            "compare with only the --sanitize file's rules, without the defaults (addresses, temporary paths, run times)",
            action="store_true",
        ),
        Option(
            "junit",
            ("--junit", "--junit-xml"),
            "also write the report as JUnit XML to FILE (one test case per cell), for CI systems",
            metavar="FILE",
        ),
        Option(
            "cell_timeout",
            ("--timeout",),
            "seconds one cell may run (default 120)",
            metavar="S",
            type=float,
            default=120.0,
        ),
        Option("hub", ("--hub",), "the BinderHub (default https://mybinder.org)", metavar="URL", default="https://mybinder.org"),
        Option(
            "force",
            ("--force",),
            "replace what envcapsule did not write (a binder/ folder, a profile file, a different capsule of the same name)",
            action="store_true",
        ),
        Option(
            "registry",
            ("--registry",),
            "the registry location REGISTRY/NAMESPACE (push: where to; share: which push), e.g. ghcr.io/alice or 127.0.0.1:5000/lab",
            metavar="REGISTRY/NAMESPACE",
            sidebar="the registry setting",
        ),
        Option("output", ("-o", "--output"), "the archive to write", metavar="FILE.tar"),
        Option(
            "profile_output",
            ("-o", "--output"),
            "with --jupyterhub, write the profile to FILE as Helm values (default: print it)",
            metavar="FILE",
        ),
        Option("sbom_output", ("-o", "--output"), "also write the SBOM to FILE (default: print it)", metavar="FILE"),
        Option(
            "sbom_format",
            ("--format",),
            "the SBOM's format: cyclonedx-json (CycloneDX 1.6, the default) or spdx-json (SPDX 2.3)",
            metavar="FORMAT",
            choices=("cyclonedx-json", "spdx-json"),
            default="cyclonedx-json",
        ),
        Option(
            "ci",
            ("--ci",),
            "write a CI job that verifies the notebook on each push (see the kinds above)",
            metavar="github|gitlab",
            choices=("github", "gitlab"),
        ),
        Option("capsule", ("--capsule",), "capsule folder (default: <notebook stem>.capsule)", metavar="DIR"),
        Option("all", ("--all",), "every envcapsule container", action="store_true"),
    )
}

_NOTEBOOK_OR_CAPSULE = "NOTEBOOK|CAPSULE"

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "snapshot",
            "capture a notebook's environment into a capsule folder",
            "Write <notebook stem>.capsule/ beside the notebook: capsule.toml, pylock.toml (PEP 751),\n"
            "requirements.txt with --hash on every line, the facts the probe saw, and a copy of the\n"
            "notebook. The kernel's interpreter comes from --python, else from the notebook's\n"
            "kernelspec. The folder is written atomically: a failed snapshot leaves the previous one.\n\n"
            "The files beside the notebook travel too (copied into $HOME at the same paths): the files\n"
            "git tracks, or the folder's files, minus hidden files, caches, virtual environments,\n"
            "capsules and what .envcapsuleignore names; --include and --exclude adjust that, and past\n"
            "--max-files-size the largest are left out and named.\n\n"
            "What the wheels do not bundle is recorded as system packages ([system] and apt.txt): the\n"
            "dpkg/rpm owners of the native libraries the extension modules link against, and of the\n"
            "distribution's own Python packages the notebook reaches (never relocked as PyPI sdists;\n"
            "--system-python-packages=pypi locks the PyPI files of the same versions instead).",
            options=(
                "out",
                "strict",
                "offline",
                "include_tooling",
                "include",
                "exclude",
                "max_files_size",
                "system_python_packages",
                "platforms",
            ),
            magic_only=("minimal",),
            cli_only=("facts",),
            target="notebook",
            target_help="the .ipynb whose kernel environment is captured",
            python=True,
            examples=(
                "envcapsule snapshot analysis.ipynb --python .venv/bin/python",
                "envcapsule snapshot analysis.ipynb --facts facts.json --platform linux/amd64",
            ),
        ),
        Command(
            "build",
            "build a capsule into a container image",
            "Build the capsule into an image tagged envcapsule/<notebook stem>:<capsule hash[:12]>,\n"
            "through the Docker Engine API. Every locked file is fetched once into a host cache\n"
            "(checked against its sha256) and installed in the image with no index and no network;\n"
            "the image runs as jovyan (uid 1000), serves JupyterLab on port 8888, and keeps the\n"
            "kernel environment apart from the server environment. Building a capsule whose image\n"
            "exists returns at once. The Dockerfile is written into the capsule folder.\n\n"
            "Where no registry can be reached, make a base image locally (for example with\n"
            "debootstrap and `docker import`) and name it once: ENVCAPSULE_BASE_IMAGE=NAME, or\n"
            'base_image = "NAME" in ~/.config/envcapsule/config.toml.\n\n'
            "The first build pins the base image in image.lock (its RepoDigest, or its image ID when it\n"
            "was made here) and the server environment in server.pylock.toml; later builds, on any host,\n"
            "use exactly those, and --update-server locks the server environment again. The image carries\n"
            "the capsule's SBOM at /opt/envcapsule/sbom.cdx.json, its sha256 in the envcapsule.sbom-sha256 label.\n\n"
            "--server minimal makes a slimmer image to launch or ship: JupyterLab alone as its server\n"
            "environment (pinned in server-minimal.pylock.toml), without Notebook, jupyterhub-singleuser\n"
            "and nbval, so JupyterHub, Binder and `envcapsule verify` need the default (full) image.",
            options=("base_image", "no_cache", "platform", "update_server", "server"),
            target=_NOTEBOOK_OR_CAPSULE,
            target_help="a notebook (its capsule is used or made) or a capsule folder",
            python=True,
            cli_only=("context",),
            examples=(
                "envcapsule build analysis.ipynb",
                "envcapsule build analysis.capsule --base-image mirror/python:3.11",
                "envcapsule build analysis.capsule --platform linux/arm64",
                "envcapsule build analysis.ipynb --update-server",
                "envcapsule build analysis.ipynb --server minimal",
            ),
        ),
        Command(
            "launch",
            "start the notebook in its capsule's image and print its URL",
            "Start the notebook inside its capsule's image (building it first if needed), wait until\n"
            "Jupyter answers, then print and open http://127.0.0.1:PORT/lab/tree/<notebook>?token=...\n"
            "The port is published on 127.0.0.1 only, the token is random, and the container runs as\n"
            "uid 1000 with every capability dropped. An image reference (a tag, or REF@sha256:... from\n"
            "`envcapsule push`) is run as it is. `envcapsule stop NAME` stops it.",
            options=("base_image", "port", "mount", "gpus", "memory", "cpus", "launch_timeout"),
            target="NOTEBOOK|CAPSULE|IMAGE",
            target_help="a notebook or capsule (built first if needed), or an image reference",
            python=True,
            cli_only=("no_browser",),
            examples=("envcapsule launch analysis.ipynb", "envcapsule launch analysis.ipynb --mount --gpus none"),
        ),
        Command(
            "verify",
            "re-execute the notebook in its capsule's image and compare every cell's outputs",
            "Re-execute the notebook inside its capsule's image (built first if needed; no host mounts)\n"
            "and compare each cell's outputs with the stored ones using nbval's rules. The default sanitizers\n"
            "replace only what cannot reproduce: memory addresses in reprs, temporary paths, and date-times\n"
            "inside the run's own execution window. Exits 0 only when every checked cell reproduced; the\n"
            "report says under what conditions it ran (exact_conditions), and is recorded in verify.json.",
            options=("sanitize", "no_default_sanitizers", "cell_timeout", "base_image"),
            cli_only=("junit",),
            target="notebook",
            target_help="the notebook whose stored outputs are checked",
            examples=("envcapsule verify analysis.ipynb", "envcapsule verify analysis.ipynb --junit verify.xml --json"),
        ),
        Command(
            "status",
            "the capsule at a glance: none / up to date / drifted, image, containers, last verify",
            "Say whether the notebook has a capsule and whether its kernel environment still matches\n"
            "it, whether the image is built, which containers serve it, and the last verify result.\n"
            "Exits 0 when the capsule is up to date, 1 when it drifted or there is none.",
            target="notebook",
            target_help="the notebook",
            python=True,
        ),
        Command(
            "diff",
            "compare the live kernel environment with the notebook's capsule",
            "List distributions added, removed and changed since the snapshot, and interpreter or\n"
            "platform changes. Exits 0 only when the live environment is identical to the capsule,\n"
            "1 when it drifted.",
            target="notebook",
            target_help="the notebook whose capsule is compared",
            python=True,
            cli_only=("capsule",),
        ),
        Command(
            "share",
            "share the capsule: binder/ for mybinder.org, or a JupyterHub on Kubernetes profile pinned by digest",
            "Kinds of sharing:\n"
            "  --binder      write binder/ at the root of the notebook's git repository (a Dockerfile\n"
            "                that installs the exact lock with hashes, requirements.txt, runtime.txt)\n"
            "                and print the mybinder link pinned to the current commit and a badge\n"
            "  --jupyterhub  print (or write with -o) a KubeSpawner profile for Zero to JupyterHub's\n"
            "                singleuser.profileList: the image `envcapsule push` recorded, by digest,\n"
            "                run with jupyterhub-singleuser as uid 1000, opening the notebook\n"
            "  --ci PROVIDER write a CI job (github: .github/workflows/envcapsule-verify.yml, gitlab:\n"
            "                .gitlab-ci.yml) that builds the image and runs `envcapsule verify` on each\n"
            "                push, failing when a cell no longer reproduces, with a JUnit report\n"
            "  registry      `envcapsule push NOTEBOOK --registry REGISTRY/NAMESPACE`\n"
            "  air-gapped    `envcapsule export NOTEBOOK -o FILE.tar`, then `envcapsule import FILE.tar`\n"
            "--binder warns when changes are uncommitted or unpushed.",
            options=("hub", "force"),
            target="notebook",
            target_help="the notebook to share (its capsule is used or made)",
            python=True,
            cli_only=("binder", "jupyterhub", "ci", "registry", "profile_output"),
            examples=(
                "envcapsule share analysis.ipynb --binder",
                "envcapsule share analysis.ipynb --jupyterhub --registry ghcr.io/team -o analysis-profile.yaml",
                "envcapsule share analysis.ipynb --ci github",
            ),
        ),
        Command(
            "push",
            "push the capsule's image to a registry and record its digest",
            "Push the built image (built first if needed) to REGISTRY/NAMESPACE with the credentials\n"
            "of your Docker configuration (envcapsule stores none), record the digest in the capsule\n"
            "folder and print REGISTRY/NAMESPACE/NAME@sha256:...; `envcapsule launch REF` runs it on\n"
            "any host.",
            options=("registry", "base_image"),
            target=_NOTEBOOK_OR_CAPSULE,
            target_help="a notebook or a capsule folder",
            magic=False,
        ),
        Command(
            "export",
            "write the image, the capsule and the notebook into one tar for an air-gapped host",
            "Build the image if needed, then write one tar holding the image, the capsule folder and\n"
            "the notebook, with a manifest of their sha256. Carry it to a host without a registry and\n"
            "run `envcapsule import FILE.tar` there.",
            options=("output", "base_image"),
            target=_NOTEBOOK_OR_CAPSULE,
            target_help="a notebook or a capsule folder",
            magic=False,
        ),
        Command(
            "import",
            "load an archive made by `envcapsule export` and restore its capsule and notebook here",
            "Check the archive's manifest and every sha256, load its image into the engine, and\n"
            "restore the capsule folder and the notebook into the current folder. A different capsule\n"
            "of the same name is never replaced without --force.",
            options=("force",),
            target="archive",
            target_help="FILE.tar written by `envcapsule export`",
            magic=False,
        ),
        Command(
            "doctor",
            "check that this host can build and run a capsule: engine, driver, GPUs, disk, images",
            "Print a table of checks for a capsule, GPU or not: the Docker engine, the NVIDIA runtime,\n"
            "driver and GPUs for CUDA capsules, free disk, and whether the image and its base are here.\n"
            "Exits 1 if any check fails.",
            target=_NOTEBOOK_OR_CAPSULE,
            target_help="a notebook with a capsule, or a capsule folder",
        ),
        Command(
            "ps",
            "list the running containers that serve a capsule's notebook, with their URLs",
            "List the containers `envcapsule launch` started that are running now, with their image\n"
            "and URL (the token is shown; it is yours). Containers of a running verify are not listed.",
        ),
        Command(
            "stop",
            "stop and remove envcapsule containers (never others)",
            "Stop and remove the named containers, or every envcapsule container with --all. Each id\n"
            "is checked first: a container envcapsule did not start is never touched, and if one id is\n"
            "wrong nothing is stopped.",
            options=("all",),
            target="ids",
            target_help="container ids or names, as `envcapsule ps` shows them",
        ),
        Command(
            "sbom",
            "print or write the capsule's software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON)",
            "Make the capsule's SBOM from its lockfiles and facts: every Python distribution (purl\n"
            "pkg:pypi/..., version, sha256 of the exact file, licence from its metadata), every conda\n"
            "record (pkg:conda/...) and system package (pkg:deb/...), the base image once built\n"
            "(pkg:oci/...@sha256:...) and the server environment as one component of its own. It is\n"
            "validated against the CycloneDX 1.6 schema, written as sbom.cdx.json in the capsule folder,\n"
            "and printed, or written to FILE with -o. --format spdx-json prints or writes the same contents\n"
            "as SPDX 2.3 JSON instead, validated with spdx-tools (the capsule keeps its sbom.cdx.json).\n"
            "A notebook without a capsule is snapshotted first. Each image carries the capsule's\n"
            "sbom.cdx.json at /opt/envcapsule/sbom.cdx.json, its sha256 in the envcapsule.sbom-sha256 label.",
            options=("sbom_format",),
            target=_NOTEBOOK_OR_CAPSULE,
            target_help="a notebook (its capsule is used or made) or a capsule folder",
            python=True,
            cli_only=("sbom_output",),
            examples=(
                "envcapsule sbom analysis.ipynb -o analysis.cdx.json",
                "envcapsule sbom analysis.ipynb --format spdx-json -o analysis.spdx.json",
            ),
        ),
        Command(
            "inspect",
            "print what the probe sees in an environment, writing nothing",
            "Run the probe under the kernel's interpreter and print its facts; nothing is written.\n"
            "With --json the facts are a file another machine can lock: `envcapsule inspect --json > facts.json`\n"
            "here, then `envcapsule snapshot NOTEBOOK --facts facts.json` there (the file is hashed, so an\n"
            "edited one is refused).",
            target="notebook",
            target_help="a notebook whose kernel is inspected (default: this Python)",
            target_optional=True,
            python=True,
            magic=False,
        ),
    )
}

# Flags that exist only on the command line and are not in OPTIONS because they choose a kind.
_CLI_ONLY_SWITCHES: dict[str, Option] = {
    "binder": Option(
        "binder", ("--binder",), "write binder/ and print the mybinder link (see the kinds above)", action="store_true"
    ),
    "jupyterhub": Option(
        "jupyterhub",
        ("--jupyterhub",),
        "print a KubeSpawner profile for the pushed image, pinned by digest (see the kinds above)",
        action="store_true",
    ),
}


def option(name: str) -> Option:
    return OPTIONS.get(name) or _CLI_ONLY_SWITCHES[name]


def add_options(parser: argparse.ArgumentParser, command: Command, *, cli: bool) -> None:
    """Add ``command``'s options to ``parser``; the CLI also gets its shell-only ones."""
    names = command.options + (command.cli_only if cli else command.magic_only)
    for name in names:
        option(name).add_to(parser)


# Whole phrases of advice that each front end words its own way; the CLI's is the default.
ADVICE: dict[str, dict[str, str]] = {
    "no_gpus": {"cli": "pass `--gpus none` to run on the CPU", "sidebar": "launch on the CPU instead"},
}

_REFERENCE = re.compile(r"\{(option|advice):([a-z_]+)\}")


def render_advice(text: str, frontend: str) -> str:
    """``text`` with each ``{option:NAME}`` and ``{advice:KEY}`` worded for ``frontend`` (cli, magic or sidebar)."""

    def words(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "advice":
            phrasings = ADVICE.get(name, {})
            return phrasings.get(frontend) or phrasings.get("cli", name)
        found = OPTIONS.get(name)
        if found is None:
            return name
        if frontend == "sidebar":
            return found.sidebar or f"the {name.replace('_', ' ')} setting"
        return f"`{found.cli_words()}`"

    return _REFERENCE.sub(words, text)
