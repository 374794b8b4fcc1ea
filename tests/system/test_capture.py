"""The [system] table of a capture: which packages go in, what they were recorded for, and what is left out."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from envcapsule.capture.imports import notebook_imports
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, Platform
from envcapsule.system.capture import HostSystem, SystemCapture, capture_system, host_system
from envcapsule.system.elf import ElfInfo, Resolver, host_resolver
from envcapsule.system.owners import HostPackage
from tests.support import require

LIBGL = Path("/usr/lib/x86_64-linux-gnu/libGL.so.1")
LIBZ = Path("/lib/x86_64-linux-gnu/libz.so.1")
YAML = HostPackage("python3-yaml", "6.0-3+b2", "amd64", "dpkg")
PYGMENTS = HostPackage("python3-pygments", "2.14.0+dfsg-1", "all", "dpkg")


class FixedResolver(Resolver):
    """Every needed library is found at /usr/lib/<name>, except those named missing."""

    def __init__(self, missing: tuple[str, ...] = ()) -> None:
        super().__init__()
        object.__setattr__(self, "_missing", missing)

    def resolve(self, name: str, elf: ElfInfo) -> str | None:
        return None if name in self._missing else f"/usr/lib/{name}"


def facts_with(tmp_path: Path) -> tuple[EnvironmentFacts, Distribution]:
    require(LIBGL.exists(), "Debian's libgl1")
    prefix = tmp_path / "env"
    site = prefix / "lib" / "python3.11" / "site-packages"
    (site / "glpkg-1.0.dist-info").mkdir(parents=True)
    (site / "glpkg").mkdir()
    shutil.copyfile(LIBGL, site / "glpkg" / "_gl.cpython-311-x86_64-linux-gnu.so")
    (site / "glpkg-1.0.dist-info" / "RECORD").write_text(
        "glpkg/_gl.cpython-311-x86_64-linux-gnu.so,sha256=x,1\nglpkg/__init__.py,,\n"
    )
    pip = Distribution("glpkg", "1.0", location=str(site), metadata_dir=str(site / "glpkg-1.0.dist-info"), installer="pip")
    dist_packages = "/usr/lib/python3/dist-packages"
    yaml = Distribution("pyyaml", "6.0", location=dist_packages, metadata_dir=f"{dist_packages}/PyYAML-6.0.dist-info")
    pygments = Distribution(
        "pygments", "2.14.0", location=dist_packages, metadata_dir=f"{dist_packages}/Pygments-2.14.0.egg-info"
    )
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", str(prefix / "bin" / "python"), str(prefix), "/usr", "venv"),
        platform=Platform("linux", "Linux", "x86_64", distro_id="debian", distro_codename="bookworm"),
        distributions=(pip, pygments, yaml),
    )
    return facts, pip


def fake_owners(answers: dict[str, HostPackage]) -> Callable[[Sequence[str]], str]:
    """dpkg-query as a fake: -S answers the paths it knows, -W the versions of their packages."""
    by_name = {p.name: p for p in answers.values()}

    def run(argv: Sequence[str]) -> str:
        if argv[1] == "-S":
            return "".join(f"{answers[p].name}:amd64: {p}\n" for p in argv[2:] if p in answers)
        lines = []
        for qualified in argv[3:]:
            package = by_name.get(qualified.split(":")[0])
            if package is not None:
                lines.append(f"{qualified}\t{package.name}\t{package.version}\t{package.architecture}\n")
        return "".join(lines)

    return run


YAML_DIR = "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info"
PYGMENTS_DIR = "/usr/lib/python3/dist-packages/Pygments-2.14.0.egg-info"


def capture(
    facts: EnvironmentFacts,
    locked: list[Distribution],
    reached: set[str],
    answers: dict[str, HostPackage] | None = None,
    *,
    manager: str | None = "dpkg",
    resolver: Resolver | None = None,
    python_mode: str = "system",
    loaded: tuple[str, ...] = (),
) -> SystemCapture:
    """What the host says (a fake dpkg), then what the capture keeps of it."""
    run = fake_owners(answers or {})
    host = host_system(facts, run=run, manager=manager, resolver=resolver or FixedResolver(), loaded=loaded)
    assert HostSystem.from_dict(host.to_dict()) == host  # what a facts file carries is what was asked
    return capture_system(facts, host, locked, reached, python_mode=python_mode)


def test_library_owners_and_reached_distribution_packages_go_in(tmp_path: Path) -> None:
    facts, pip = facts_with(tmp_path)
    gl = HostPackage("libglx0", "1.6.0-1", "amd64", "dpkg")
    answers = {
        "/usr/lib/libGLX.so.0": gl,
        "/usr/lib/libGLdispatch.so.0": HostPackage("libglvnd0", "1.6.0-1", "amd64", "dpkg"),
        YAML_DIR: YAML,
        PYGMENTS_DIR: PYGMENTS,
    }
    captured = capture(facts, [pip], {"glpkg", "pyyaml"}, answers)
    records = {p.name: p for p in captured.packages}
    assert records["libglx0"].provides == ("libGLX.so.0",)
    assert records["python3-yaml"].provides == ("python:pyyaml",) and records["python3-yaml"].version == "6.0-3+b2"
    assert "python3-pygments" not in records  # nothing reaches it
    assert captured.left_out == ("pygments",) and "pygments" in captured.notes[0]
    assert captured.site_dirs == ("/usr/lib/python3/dist-packages",)
    assert captured.apt_txt() == "libglvnd0\nlibglx0\npython3-yaml\n"
    section = captured.section()
    assert section is not None and section["python_packages"] == "system"


def test_pypi_mode_leaves_distribution_packages_to_the_lock_and_says_so(tmp_path: Path) -> None:
    facts, pip = facts_with(tmp_path)
    captured = capture(facts, [pip], {"pyyaml"}, {YAML_DIR: YAML}, python_mode="pypi")
    assert all(not p.name.startswith("python3-") for p in captured.packages) and captured.site_dirs == ()
    assert captured.python_distributions == ("pyyaml",)
    assert any("--system-python-packages=pypi" in w for w in captured.warnings)


def test_libraries_no_package_owns_or_the_host_lacks_are_named(tmp_path: Path) -> None:
    facts, pip = facts_with(tmp_path)
    captured = capture(facts, [pip], set(), resolver=FixedResolver(("libGLX.so.0",)))
    assert [lib.soname for lib in captured.missing] == ["libGLX.so.0"]
    assert any("needs libGLX.so.0, which this machine lacks too" in w for w in captured.warnings)
    assert "libGLdispatch.so.0" in {lib.soname for lib in captured.unowned}


def test_a_host_without_dpkg_or_rpm_warns_once(tmp_path: Path) -> None:
    facts, pip = facts_with(tmp_path)
    captured = capture(facts, [pip], set(), manager=None)
    assert captured.packages == () and captured.section() is None
    assert len(captured.warnings) == 1 and "no dpkg or rpm" in captured.warnings[0]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import numpy as np, cv2\nfrom yaml import safe_load", {"numpy", "cv2", "yaml"}),
        ("%matplotlib inline\n!pip list\nimport pandas.io", {"pandas"}),
        ("from . import local\nfrom .x import y\nimport os.path", {"os"}),
        ("def broken(:\nimport never", set()),
    ],
)
def test_the_notebooks_imports_are_read_from_its_code_cells(source: str, expected: set[str]) -> None:
    notebook = {"cells": [{"cell_type": "code", "source": source}, {"cell_type": "markdown", "source": "import markdown_only"}]}
    assert notebook_imports(notebook) == expected


@pytest.fixture
def opt_library() -> Iterator[Path]:
    """A library built from source under /opt (a copy of zlib), as `make install PREFIX=/opt/...` leaves one."""
    require(os.access("/opt", os.W_OK) and LIBZ.exists(), "writing under /opt (root) and Debian's zlib1g")
    folder = Path(tempfile.mkdtemp(prefix="envcapsule-test-", dir="/opt"))
    (folder / "lib").mkdir()
    shutil.copyfile(LIBZ, folder / "lib" / "libdemo.so.1")
    try:
        yield folder / "lib" / "libdemo.so.1"
    finally:
        shutil.rmtree(folder)


class MappedResolver(FixedResolver):
    def __init__(self, where: dict[str, str]) -> None:
        super().__init__()
        object.__setattr__(self, "_where", where)

    def resolve(self, name: str, elf: ElfInfo) -> str | None:
        return self._where.get(name) or super().resolve(name, elf)


def test_a_small_library_no_package_owns_under_opt_is_carried(tmp_path: Path, opt_library: Path) -> None:
    facts, pip = facts_with(tmp_path)
    resolver = MappedResolver({"libGLX.so.0": str(opt_library)})
    captured = capture(facts, [pip], set(), resolver=resolver)
    assert [lib.path for lib in captured.carried] == [str(opt_library)]
    assert not any(str(opt_library) in w for w in captured.warnings)
    section = captured.section()
    assert section is not None and section["libraries"] == [str(opt_library)]
    # one outside /usr/local and /opt is named, not carried
    assert any(
        "libGLdispatch.so.0 (/usr/lib/libGLdispatch.so.0)" in w and "outside /usr/local and /opt" in w for w in captured.warnings
    )


def test_libraries_a_live_kernel_loaded_at_run_time_are_added_unless_the_interpreter_needs_them(tmp_path: Path) -> None:
    require(Path("/usr/lib/python3.11/lib-dynload").is_dir() and LIBZ.exists(), "Debian's python3.11")
    facts, _ = facts_with(tmp_path)
    debian = dataclasses.replace(facts.interpreter, executable="/usr/bin/python3.11", base_prefix="/usr")
    facts = dataclasses.replace(facts, interpreter=debian)
    ffi = "/usr/lib/x86_64-linux-gnu/libffi.so.8"  # _ctypes in lib-dynload links it: the interpreter's own
    nss = "/lib/x86_64-linux-gnu/libnss_mdns4_minimal.so.2"  # libc loads it for a host name look-up, when one happens
    loaded = [str(LIBGL), ffi, nss, "/lib/x86_64-linux-gnu/libc.so.6", str(tmp_path / "env" / "lib" / "bundled.so")]
    captured = capture(facts, [], set(), resolver=host_resolver({}), loaded=tuple(loaded))
    assert [(lib.soname, lib.needed_by) for lib in captured.unowned] == [("libGL.so.1", "the running kernel")]


@pytest.mark.parametrize(
    "system",
    [
        {"manager": "apk"},
        {"manager": "dpkg", "owned": {"pyyaml": ["python3-yaml; rm -rf /", "6.0", "amd64"]}},
        {"manager": "dpkg", "libraries": [{"soname": "libGL.so.1", "owner": ["libgl1", "1.6.0-1 && x", "amd64"]}]},
    ],
)
def test_system_facts_from_another_machine_outside_their_grammar_are_refused(system: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HostSystem.from_dict(system)
